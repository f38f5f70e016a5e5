#!/bin/sh
# Assemble the aptstack test guest initramfs (part of the aptstack.openstack
# collection, role test_guest).
#
#   assemble-initramfs.sh UNPACKED STAGING OUTPUT KERNEL_VERSION [MODULE...]
#
# UNPACKED holds the unpacked kernel, busybox (and modules) packages; STAGING
# already holds /init and /etc/udhcpc.script.  Each MODULE (a module file name
# without .ko, e.g. virtio_net) is copied uncompressed into /lib/modules and
# listed in /etc/modules, which /init loads in that order.
set -eu

unpacked=$1
staging=$2
output=$3
kernel_version=$4
shift 4

busybox=
for candidate in "$unpacked/usr/bin/busybox" "$unpacked/bin/busybox"; do
    if [ -f "$candidate" ]; then
        busybox=$candidate
        break
    fi
done
if [ -z "$busybox" ]; then
    echo "assemble-initramfs: no busybox binary in $unpacked" >&2
    exit 1
fi

cd "$staging"
mkdir -p bin sbin usr/bin usr/sbin etc proc sys dev run tmp root var/www lib/modules
cp "$busybox" bin/busybox
chmod 0755 bin/busybox

# One symlink per applet, where busybox itself would install it.
for applet in $(./bin/busybox --list-full); do
    case "$applet" in
        */*) ;;
        *) applet=bin/$applet ;;
    esac
    mkdir -p "$(dirname "$applet")"
    if [ ! -e "$applet" ] && [ ! -L "$applet" ]; then
        ln -s /bin/busybox "$applet"
    fi
done
[ -e bin/sh ] || [ -L bin/sh ] || ln -s busybox bin/sh

# Kernel modules, uncompressed so that busybox insmod can load them.
: > etc/modules
for module in "$@"; do
    found=
    for tree in "$unpacked/usr/lib/modules/$kernel_version" "$unpacked/lib/modules/$kernel_version"; do
        [ -d "$tree" ] || continue
        found=$(find "$tree" -type f \( -name "$module.ko" -o -name "$module.ko.*" \) | head -n 1)
        [ -n "$found" ] && break
    done
    if [ -z "$found" ]; then
        echo "assemble-initramfs: module $module not found for kernel $kernel_version" >&2
        exit 1
    fi
    case "$found" in
        *.ko.zst) zstd -q -d -c "$found" > "lib/modules/$module.ko" ;;
        *.ko.xz) xz -d -c "$found" > "lib/modules/$module.ko" ;;
        *.ko.gz) gzip -d -c "$found" > "lib/modules/$module.ko" ;;
        *) cp "$found" "lib/modules/$module.ko" ;;
    esac
    echo "$module" >> etc/modules
done

# The kernel opens /dev/console before running /init; /init mounts devtmpfs
# and reopens it, so a missing node (no CAP_MKNOD here) only costs a warning.
[ -e dev/console ] || mknod -m 600 dev/console c 5 1 2>/dev/null || true

find . -print0 | LC_ALL=C sort -z \
    | cpio --null --create --format=newc --owner=0:0 --quiet --reproducible > "$output.cpio"
gzip -9 -n -c "$output.cpio" > "$output"
rm -f "$output.cpio"
