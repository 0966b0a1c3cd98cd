#!/usr/bin/env bash
# Fetches Debian's stock cloud kernel (linux-image-cloud-amd64) without installing it,
# and unpacks it under guest-images/linux/downloads/. Prints the kernel's path.
#
#   scripts/fetch-linux.sh            # -> guest-images/linux/downloads/boot/vmlinuz-...
#
# Needs apt-get (Debian or Ubuntu). Nothing fetched here is committed (.gitignore).
set -euo pipefail
cd "$(dirname "$0")/.."
out=guest-images/linux/downloads
mkdir -p "$out"

# Reuse an earlier download.
existing=$(ls "$out"/boot/vmlinuz-* 2>/dev/null | head -n 1 || true)
if [ -n "$existing" ]; then echo "$existing"; exit 0; fi

meta=linux-image-cloud-amd64
if ! apt-cache show "$meta" >/dev/null 2>&1; then
    echo "fetch-linux: updating the package lists" >&2
    apt-get update -qq >&2
fi
# The metapackage depends on the versioned kernel package that holds the image.
package=$(apt-cache depends "$meta" | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$package" ] || { echo "fetch-linux: cannot find the kernel package behind $meta" >&2; exit 1; }
echo "fetch-linux: downloading $package" >&2
( cd "$out" && apt-get download -qq "$package" >&2 )
dpkg-deb -x "$out/$package"_*.deb "$out"
ls "$out"/boot/vmlinuz-* | head -n 1
