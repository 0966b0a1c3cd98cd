#!/usr/bin/env bash
# SwiftVMM's benchmarks, in one run: builds swiftvmm (release) and the C reference VMM
# (benchmarks/refvmm.c), installs QEMU, valgrind and perf if they are missing, and runs
# benchmarks/bench.py, which prints every figure with its references side by side.
#
#   scripts/bench.sh [--quick] [--no-install] [bench.py options]
#
#   --quick         fewer repeats, exits and configurations: under a minute (for CI)
#   --no-install    do not apt-get anything; figures needing a missing tool say so
#   --only LIST     some figures: exits,instructions,startup,memory,disk,ram,cpus,flush,api,net
#   --variant NAME=ARGS         also measure `swiftvmm run ARGS ...` (e.g. tracing flags)
#   --variant-binary NAME=PATH  also measure another swiftvmm binary
#
# docs/PERFORMANCE.md explains the figures and records a run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
say() { echo "bench.sh: $*" >&2; }

install=yes
passthrough=()
for argument in "$@"; do
    case "$argument" in
        --no-install) install=no ;;
        *) passthrough+=("$argument") ;;
    esac
done

# The Swift toolchain: on PATH, or where these machines keep it.
if ! command -v swift >/dev/null && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH=/opt/swift/usr/bin:$PATH
fi
command -v swift >/dev/null || { say "swift not found: a Swift 6 toolchain is needed"; exit 1; }

# Tools from Debian's packages, installed when missing (as root, or through sudo).
apt_updated=no
apt_install() {  # apt_install PACKAGE: returns non-zero when it cannot
    [ "$install" = yes ] || return 1
    local runner=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || return 1
        runner=(sudo -n)
    fi
    if [ "$apt_updated" = no ]; then
        say "running: apt-get update"
        "${runner[@]}" apt-get update -qq >&2 || return 1
        apt_updated=yes
    fi
    say "running: apt-get install -y --no-install-recommends $1"
    DEBIAN_FRONTEND=noninteractive "${runner[@]}" apt-get install -y -qq --no-install-recommends "$1" >&2
}
need() {  # need COMMAND PACKAGE: 0 when COMMAND is (now) there
    command -v "$1" >/dev/null && return 0
    say "$1 is missing; installing Debian's $2"
    apt_install "$2" && command -v "$1" >/dev/null
}

need python3 python3 || { say "python3 is needed to run the benchmarks"; exit 1; }
need cc gcc || { say "a C compiler (cc) is needed for the reference VMM"; exit 1; }
# Release builds link libstdc++'s static archive (Package.swift), which comes with g++.
need g++ g++ || { say "g++ (libstdc++'s static archive) is needed for a release build"; exit 1; }
bench_args=()
if need qemu-system-x86_64 qemu-system-x86; then
    bench_args+=(--qemu "$(command -v qemu-system-x86_64)")
else
    bench_args+=(--qemu-skipped "skipped: qemu-system-x86_64 is not installed and could not be (--no-install, or no root)")
fi
if need valgrind valgrind; then
    bench_args+=(--valgrind "$(command -v valgrind)")
fi
if need perf linux-perf; then
    bench_args+=(--perf "$(command -v perf)")
fi

# Builds.
out=$root/.build/bench
mkdir -p "$out"
say "building swiftvmm: swift build -c release --product swiftvmm"
swift build -c release --product swiftvmm >&2
swiftvmm=$(swift build -c release --show-bin-path)/swiftvmm
say "building the reference VMM: cc -O2 -o $out/refvmm benchmarks/refvmm.c"
cc -O2 -Wall -Wextra -o "$out/refvmm" benchmarks/refvmm.c
say "building the host's flush reference: cc -O2 -pthread -o $out/flushref benchmarks/flushref.c"
cc -O2 -Wall -Wextra -pthread -o "$out/flushref" benchmarks/flushref.c
bench_args+=(--flushref "$out/flushref")
# valgrind 3.19 cannot read the DWARF 5 debug information Swift's clang writes; bench.py
# profiles copies stripped of it (the symbol table, all the counts need, stays).
strip_tool=$(command -v llvm-strip || command -v strip || true)
[ -n "$strip_tool" ] && bench_args+=(--strip "$strip_tool")

echo "scripts/bench.sh $*"
exec python3 benchmarks/bench.py --swiftvmm "$swiftvmm" --refvmm "$out/refvmm" \
    --guest-dir "$root/guest-images/testguest" "${bench_args[@]}" "${passthrough[@]}"
