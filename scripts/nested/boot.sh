#!/usr/bin/env bash
# The nested Linux test bed: SwiftVMM boots Debian's stock kernel on hardware-assisted
# KVM inside a QEMU guest whose CPU (QEMU's TCG) emulates AMD-V, and each scenario's
# result is checked. See scripts/nested/testbed.py.
#
#   scripts/nested/boot.sh              # every scenario
#   scripts/nested/boot.sh cpus-4 disks # some of them
#   scripts/nested/boot.sh --list       # their names
#   scripts/nested/boot.sh --compare 5  # SwiftVMM beside QEMU, 5 runs each (docs/PERFORMANCE.md)
#   scripts/nested/boot.sh --compare-net 3 [--net-mib 256]  # net-tap's transfer, the same way
#
# TESTBED_L1_CPU=MODEL gives L1 another QEMU CPU model (default qemu64,+svm,+npt);
# TESTBED_TCG_THREAD=single runs L1's vCPUs on one host thread (default multi).
# A scenario whose L2 triple-faults, or whose L1 dies, runs again in a fresh L1, up to
# TESTBED_ATTEMPTS times (default 4): QEMU's emulated AMD-V crashes stock Linux guests at
# random points on some days, whatever the VMM. Each attempt is printed.
#
# Installs what it needs with apt-get (qemu-system-x86, e2fsprogs, passt, gcc, g++), fetches Debian's cloud
# kernel and busybox-static (downloads go to guest-images/linux/downloads/, never
# committed), and builds swiftvmm as a static release binary. SWIFTVMM=PATH uses that
# binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -d /opt/swift/usr/bin ]; then export PATH=/opt/swift/usr/bin:$PATH; fi

needed=()
command -v qemu-system-x86_64 >/dev/null || needed+=(qemu-system-x86)
command -v mkfs.ext4 >/dev/null || needed+=(e2fsprogs)
command -v passt >/dev/null || needed+=(passt)
command -v gcc >/dev/null || needed+=(gcc libc6-dev)
# g++ brings libstdc++'s static archive, which release builds link (Package.swift).
command -v g++ >/dev/null || needed+=(g++)
if [ ${#needed[@]} -gt 0 ]; then
    echo "boot.sh: installing ${needed[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}" >&2
fi

swiftvmm=${SWIFTVMM:-}
if [ -z "$swiftvmm" ]; then
    echo "boot.sh: building swiftvmm (release, static Swift runtime)" >&2
    swift build -c release --static-swift-stdlib --product swiftvmm >&2
    swiftvmm=$(swift build -c release --static-swift-stdlib --show-bin-path)/swiftvmm
fi
exec python3 scripts/nested/testbed.py --swiftvmm "$swiftvmm" "$@"
