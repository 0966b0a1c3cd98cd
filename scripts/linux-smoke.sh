#!/usr/bin/env bash
# Linux smoke test: boots Debian's stock kernel in SwiftVMM twice, as the bzImage
# (vmlinuz, through its setup header and 64-bit entry) and as the ELF vmlinux inside it
# (through its PT_LOAD segments and ELF entry), and checks what Linux printed about the
# boot protocol, through SwiftVMM's 8250 UART:
#   1. its banner ("Linux version ..."),
#   2. the exact command line it was given ("Command line: ..."),
#   3. the BIOS-e820 memory map, which must match the map SwiftVMM built. The expected
#      map comes from SwiftVMM's demo guest, which prints the e820 table it was handed
#      for the same --memory,
#   4. how the run ended: a clean reset (Linux panics without a root file system and
#      reboots through the i8042 with panic=-1 reboot=k), or, on a host without VT-x/AMD-V,
#      SwiftVMM's diagnosis of the instruction KVM's emulator could not run.
# On a host without VT-x/AMD-V, KVM emulates every guest instruction: Linux gets as far
# as its memory set-up in a minute or two, then stops at an instruction the emulator
# cannot run (Debian's kernel: cmpxchg16b). The checks above hold either way.
#
#   scripts/linux-smoke.sh [path/to/swiftvmm]
set -euo pipefail
cd "$(dirname "$0")/.."
swiftvmm=${1:-.build/debug/swiftvmm}
[ -x "$swiftvmm" ] || { swift build; swiftvmm=.build/debug/swiftvmm; }
bzimage=$(scripts/fetch-linux.sh)
memory=512M
# earlyprintk: print through the UART from the very start, before the console driver.
cmdline="console=ttyS0 earlyprintk=serial,ttyS0,115200 reboot=k panic=-1 swiftvmm.smoke=1"
timeout_seconds=${LINUX_SMOKE_TIMEOUT:-900}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
check() { # description, command...
    local what=$1; shift
    if "$@"; then echo "PASS: $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}

# The map SwiftVMM hands any guest of this size, as the demo guest prints it:
#   0x0000000000000000-0x000000000009fbff  RAM
"$swiftvmm" run --memory "$memory" --cmdline "console=ttyS0" </dev/null >"$work/demo" 2>&1 || true
expected_e820=$(tr -d '\r' <"$work/demo" | awk '$1 ~ /^0x[0-9a-f]+-0x[0-9a-f]+$/ {
    type = ($2 == "RAM") ? "usable" : $2; print "[mem " $1 "] " type }' | sort -u)
echo "expected e820 (from the demo guest):"; sed 's/^/  /' <<<"$expected_e820"
check "the demo guest reported an e820 map" test -n "$expected_e820"

boot() { # format, kernel
    local format=$1 kernel=$2 status start
    echo
    echo "linux-smoke: booting the $format $kernel with --memory $memory (timeout ${timeout_seconds}s)"
    start=$(date +%s)
    set +e
    timeout --signal=TERM "$timeout_seconds" "$swiftvmm" run --kernel "$kernel" --memory "$memory" \
        --cmdline "$cmdline" </dev/null >"$work/console" 2>"$work/stderr"
    status=$?
    set -e
    echo "linux-smoke: swiftvmm exited with status $status after $(( $(date +%s) - start ))s"
    echo "----- what Linux printed (first 40 lines) -----"
    tr -d '\r' <"$work/console" | sed -n 1,40p  # sed reads to the end: no SIGPIPE under pipefail
    echo "----- swiftvmm's diagnosis (stderr) -----"
    cat "$work/stderr"
    echo "-----------------------------------------------"

    # Linux prefixes each line with its timestamp, "[    0.000000] "; compare without it.
    local console actual_e820
    console=$(tr -d '\r' <"$work/console" | sed 's/^\[ *[0-9.]*\] //')
    check "$format: Linux printed its banner" grep -q "^Linux version " <<<"$console"
    check "$format: Linux echoed the exact command line" grep -qxF "Command line: $cmdline" <<<"$console"
    actual_e820=$(sed -n 's/^BIOS-e820: \(\[mem [^]]*\] [a-z]*\).*/\1/p' <<<"$console" | sort -u)
    echo "$format: Linux's BIOS-e820 lines:"; sed 's/^/  /' <<<"$actual_e820"
    check "$format: Linux's BIOS-e820 map matches the map SwiftVMM built" test "$expected_e820" = "$actual_e820"
    if [ "$status" -eq 6 ]; then
        check "$format: the stop was diagnosed with the instruction's RIP and bytes" \
            grep -q "KVM could not emulate the instruction at RIP 0x[0-9a-f]*.*: bytes " "$work/stderr"
    else
        check "$format: Linux reset the machine (status 0)" test "$status" -eq 0
    fi
}

boot bzImage "$bzimage"
python3 scripts/extract-vmlinux.py "$bzimage" "$work/vmlinux"
boot "ELF vmlinux" "$work/vmlinux"

echo
if [ "$failures" -ne 0 ]; then echo "linux-smoke: $failures check(s) failed"; exit 1; fi
echo "linux-smoke: all checks passed"
