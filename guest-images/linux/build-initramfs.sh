#!/usr/bin/env bash
# Builds guest-images/linux/out/initramfs-disk.img: an initramfs for Debian's cloud kernel
# (the one scripts/fetch-linux.sh fetches) holding busybox, the kernel's virtio modules
# (virtio, virtio_ring, virtio_pci and its helpers, virtio_blk, virtio_mmio) and /init,
# which loads them, prints the SHA-256 of /dev/vda and reboots. Then checks it: the
# archive lists what it should, /init parses, and /init's checksum of a test image
# matches the host's.
#
#   guest-images/linux/build-initramfs.sh      # prints the initramfs's path
#
# Boot it (on a host where Linux boots fully: see README.md):
#   swiftvmm run --kernel guest-images/linux/downloads/boot/vmlinuz-* \
#       --initrd guest-images/linux/out/initramfs-disk.img --disk disk.img \
#       --cmdline "console=ttyS0"
#
# Needs apt-get (Debian or Ubuntu) and python3. Downloads go to downloads/ and the result
# to out/, neither committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
downloads=$here/downloads
out=$here/out
mkdir -p "$downloads" "$out"

kernel=$("$root/scripts/fetch-linux.sh")
version=${kernel##*/vmlinuz-}
modules=$downloads/lib/modules/$version
[ -d "$modules" ] || { echo "build-initramfs: no modules at $modules" >&2; exit 1; }

busybox=$downloads/busybox-static/bin/busybox
if [ ! -x "$busybox" ]; then
    echo "build-initramfs: downloading busybox-static" >&2
    ( cd "$downloads" && apt-get download -qq busybox-static >&2 )
    dpkg-deb -x "$downloads"/busybox-static_*.deb "$downloads/busybox-static"
fi

image=$out/initramfs-disk.img
python3 "$here/initramfs.py" "$modules" "$busybox" "$here/init" "$image" >&2

# Check what can be checked without booting it.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
( cd "$work" && gzip -dc "$image" | "$busybox" cpio -i -d 2>/dev/null )
for file in init bin/busybox modules/order modules/virtio_blk.ko modules/virtio_pci.ko; do
    [ -e "$work/$file" ] || { echo "build-initramfs: $file is missing from the archive" >&2; exit 1; }
done
"$busybox" sh -n "$work/init" || { echo "build-initramfs: /init does not parse" >&2; exit 1; }
head -c 1048576 /dev/urandom >"$work/test.img"
expected="sha256 $(sha256sum "$work/test.img" | cut -d' ' -f1) bytes 1048576"
actual=$(PATH="$work/bin:$PATH" INIT_CHECKSUM_ONLY="$work/test.img" "$busybox" sh "$work/init")
[ "$actual" = "$expected" ] || { echo "build-initramfs: /init says '$actual', expected '$expected'" >&2; exit 1; }
echo "build-initramfs: checked: the archive holds /init, busybox and $(wc -l <"$work/modules/order") modules;" \
     "/init parses and checksums a test image as sha256sum does" >&2
echo "$image"
