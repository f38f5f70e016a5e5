#!/bin/sh
# Remove what the deploy left that no purge removes, using the common role's record in $1 (taken
# before the first deploy): the entries of the recorded directories that are new since the record
# and that no installed package owns (a purged package's state or cache directory, a log), and
# the slices that became active since (machine.slice stays after systemd-machined is purged).
# Prints each removed entry and stopped slice; "no record" when the host has none.
set -eu
record=$1
[ -s "$record/entry-dirs" ] && [ -e "$record/entries" ] || { echo "no record"; exit 0; }
while IFS= read -r dir; do
    [ -d "$dir" ] || continue
    find "$dir" -mindepth 1 -maxdepth 1 | while IFS= read -r entry; do
        grep -qxF -- "$entry" "$record/entries" && continue
        dpkg-query -S -- "$entry" >/dev/null 2>&1 && continue
        # The record itself lives under a new entry (/var/lib/aptstack): it goes with the record.
        case "$record/" in "$entry"/*) continue ;; esac
        rm -rf -- "$entry"
        echo "$entry"
    done
done < "$record/entry-dirs"
[ -e "$record/slices" ] || exit 0
systemctl list-units --type=slice --state=active --plain --no-legend | awk '{print $1}' | while IFS= read -r slice; do
    grep -qxF -- "$slice" "$record/slices" && continue
    # Only a slice whose cgroup holds no process at all (the Ansible connection's own session is
    # in one); one whose cgroup cannot be found is left alone.
    cg=$(systemctl show -P ControlGroup "$slice")
    dir=
    for root in /sys/fs/cgroup /sys/fs/cgroup/systemd; do
        [ -n "$cg" ] && [ -d "$root$cg" ] && { dir=$root$cg; break; }
    done
    [ -n "$dir" ] || continue
    find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null | grep -q . && continue
    systemctl stop "$slice"
    echo "$slice"
done
