#!/bin/sh
# Put /etc/apt/sources.list and sources.list.d back as recorded in $1 (the common role's copy of
# them before the first deploy). Prints "restored" when it changed anything, "no record" when
# the host has none (deployed before the record existed), and nothing otherwise.
set -eu
record=$1
[ -d "$record/sources.list.d" ] || { echo "no record"; exit 0; }
changed=
if ! diff -r "$record/sources.list.d" /etc/apt/sources.list.d >/dev/null 2>&1; then
    rm -rf /etc/apt/sources.list.d.aptstack-restore
    cp -a "$record/sources.list.d" /etc/apt/sources.list.d.aptstack-restore
    rm -rf /etc/apt/sources.list.d
    mv /etc/apt/sources.list.d.aptstack-restore /etc/apt/sources.list.d
    changed=1
fi
if [ -e "$record/sources.list" ]; then
    cmp -s "$record/sources.list" /etc/apt/sources.list || { cp -a "$record/sources.list" /etc/apt/sources.list; changed=1; }
elif [ -e /etc/apt/sources.list ]; then
    rm -f /etc/apt/sources.list
    changed=1
fi
[ -z "$changed" ] || echo restored
