#!/bin/sh
# Pack a directory as a gzip'd newc cpio for the aptstack test guest to unpack at run time
# (part of the aptstack.openstack collection, role test_guest).
#
#   pack-late-archive.sh DIRECTORY OUTPUT
#
# The SSH server and its libraries (4.5 MB, libc most of it) travel inside the initramfs as
# this archive, compressed on its own: the kernel then only copies it while it unpacks the
# initramfs, and the guest's /init unpacks it after `ready`, so the boot up to `ready` does not
# pay for decompressing them.
set -eu

directory=$1
output=$2

cd "$directory"
find . -print0 | LC_ALL=C sort -z \
    | cpio --null --create --format=newc --owner=0:0 --quiet --reproducible > "$output.cpio"
gzip -9 -n -c "$output.cpio" > "$output"
rm -f "$output.cpio"
