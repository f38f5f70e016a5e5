#!/bin/sh
# Purge the packages installed since the common role's record ($1, one name per line) that apt can
# remove without taking a package the host had before or one to keep ($2 ...): what autoremove
# does not reach because a virtual package counts it as needed (gawk beside mawk for "awk", and
# what it depends on). Prints each purged package.
set -eu
record=$1
shift
keep=" $* "
installed=$(dpkg-query -W -f '${db:Status-Status} ${Package}\n' | awk '$1 == "installed" {print $2}')
new=$(printf '%s\n' "$installed" | grep -vxF -f "$record" || true)
[ -n "$new" ] || exit 0
safe=
for package in $new; do
    case "$keep" in *" $package "*) continue ;; esac
    removed=$(apt-get --simulate purge "$package" 2>/dev/null | awk '/^(Purg|Remv) / {print $2}') || continue
    [ -n "$removed" ] || continue
    ok=1
    for other in $removed; do
        case "$keep" in *" $other "*) ok= ;; esac
        printf '%s\n' "$new" | grep -qxF -- "$other" || ok=
    done
    [ -z "$ok" ] || safe="$safe $removed"
done
[ -n "$safe" ] || exit 0
safe=$(printf '%s\n' $safe | sort -u)
# shellcheck disable=SC2086 # one argument per package
DEBIAN_FRONTEND=noninteractive apt-get --yes --quiet purge $safe >/dev/null
printf '%s\n' "$safe"
