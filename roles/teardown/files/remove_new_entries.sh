#!/bin/sh
# Remove what the deploy left that no purge removes, using the common role's record in $1 (taken
# before the first deploy): the entries of the recorded directories that are new since the record
# and that no installed package owns (a purged package's state or cache directory, a log), and
# the units that became active since and only the deploy's runtime kept so (machine.slice after
# systemd-machined is purged, network-online.target, ip netns' mount). Prints each removed entry
# and stopped unit; "no record" when the host has none.
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
[ -e "$record/units" ] || exit 0
# Units the deploy left active that no reboot has cleared yet: they are not the host's state, but
# they show (and a target keeps what it wanted active). Logins (Ansible's own session) stay.
stop() { if systemctl stop "$1"; then echo "$1"; else echo "could not stop $1" >&2; fi; }
systemctl list-units --state=active --plain --no-legend | awk '{print $1}' | grep -vxF -f "$record/units" |
while IFS= read -r unit; do
    case "$unit" in
    user@*|user-runtime-dir@*|user-*.slice|run-user-*.mount|session-*.scope) ;;
    *.target)
        # With the oneshot services it pulled in (systemd-networkd-wait-online for network-online).
        wanted=$(systemctl show -P Wants "$unit")
        stop "$unit"
        for service in $wanted; do
            # An if, not `&&`: a service that is not `exited` must not become the loop's (and so the
            # script's) exit status.
            if [ "$(systemctl show -P SubState "$service")" = exited ]; then stop "$service"; fi
        done
        ;;
    run-netns.mount)
        # Network namespaces of neutron's metadata agent are gone with it; an empty /run/netns is
        # only the mount point ip netns made.
        [ -n "$(ls -A /run/netns 2>/dev/null)" ] || stop "$unit"
        ;;
    *.slice)
        # Only a slice whose cgroup holds no process at all; one whose cgroup cannot be found is
        # left alone.
        cg=$(systemctl show -P ControlGroup "$unit")
        dir=
        for root in /sys/fs/cgroup /sys/fs/cgroup/systemd; do
            [ -n "$cg" ] && [ -d "$root$cg" ] && { dir=$root$cg; break; }
        done
        [ -n "$dir" ] || continue
        find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null | grep -q . || stop "$unit"
        ;;
    esac
done
