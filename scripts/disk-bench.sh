#!/usr/bin/env bash
# Disk request benchmark: the test guest reads N 4 KiB blocks from a virtio-blk disk, one
# request at a time, polling for each completion, and the wall-clock time of that run
# minus a run with no reads gives the cost of one request. Each configuration is run
# REPEATS times; the script prints min/median/max microseconds per request for
#   io=thread  requests served on the disk's I/O thread (ioeventfd in, irqfd out)
#   io=vcpu    requests served on the vCPU thread that exits on the notification
# over both transports.
#
#   scripts/disk-bench.sh [READS] [REPEATS]      (defaults: 5000 reads, 5 repeats)
#
# Builds swiftvmm in release mode first. The test guest is the one built into swiftvmm.
set -euo pipefail
cd "$(dirname "$0")/.."
reads=${1:-5000}
repeats=${2:-5}
if [ -d /opt/swift/usr/bin ]; then export PATH=/opt/swift/usr/bin:$PATH; fi
swift build -c release --product swiftvmm >&2
swiftvmm=$(swift build -c release --show-bin-path)/swiftvmm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
image=$work/disk.img
truncate -s 8M "$image"

# Wall-clock seconds of one run with `count` reads.
run_seconds() { # io transport count
    local start end
    start=$(date +%s%N)
    "$swiftvmm" run --disk "$image,io=$1,transport=$2" --cmdline "testguest.quiet testguest.diskbench=$3" \
        </dev/null >"$work/out" 2>&1
    end=$(date +%s%N)
    if [ "$3" -gt 0 ]; then grep -q "diskbench: $3 reads of 4 KiB, 0 failed" "$work/out" || { cat "$work/out" >&2; exit 1; }; fi
    echo $(( end - start ))
}

echo "disk-bench: $reads reads of 4 KiB per run, $repeats runs per configuration ($(nproc) CPUs)"
printf '%-10s %-10s %12s %12s %12s\n' transport io "min us/req" "median" "max"
for transport in pci mmio; do
    for io in thread vcpu; do
        samples=()
        for _ in $(seq "$repeats"); do
            empty=$(run_seconds "$io" "$transport" 0)
            full=$(run_seconds "$io" "$transport" "$reads")
            samples+=("$(( (full - empty) / reads / 1000 ))")
        done
        sorted=($(printf '%s\n' "${samples[@]}" | sort -n))
        printf '%-10s %-10s %12s %12s %12s\n' "$transport" "$io" "${sorted[0]}" "${sorted[$(( repeats / 2 ))]}" "${sorted[$(( repeats - 1 ))]}"
    done
done
