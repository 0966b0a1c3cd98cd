#!/usr/bin/env bash
# Counts the instructions SwiftVMM itself executes per port-write exit, with callgrind:
# the test guest does exactly N `out` to port 0x80 (testguest.outs=N), and the count for
# N = 0 (the boot, the console, the stop) is subtracted, so what remains is N exits.
# Guest instructions run inside KVM and are not counted; the result repeats to within a
# few instructions per exit from run to run.
#
#   scripts/exit-instructions.sh [SWIFTVMM] [N] [-- EXTRA RUN FLAGS...]
#   scripts/exit-instructions.sh .build/release/swiftvmm 20000 -- --stats
#
# Valgrind 3.19 cannot read the DWARF 5 debug information Swift 6 emits, so the binary is
# measured from a copy without it (symbols stay).
set -euo pipefail
binary=${1:-.build/release/swiftvmm}
count=${2:-20000}
shift $(( $# >= 2 ? 2 : $# ))
[ "${1:-}" = "--" ] && shift
extra=("$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$binary" "$work/swiftvmm"
strip --strip-debug "$work/swiftvmm"
instructions() {
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.$1" \
        "$work/swiftvmm" run --cmdline "testguest.quiet testguest.outs=$1" "${extra[@]}" \
        >/dev/null 2>"$work/log.$1" || { cat "$work/log.$1" >&2; exit 1; }
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/log.$1"
}
base=$(instructions 0)
loaded=$(instructions "$count")
echo "N=0: $base instructions; N=$count: $loaded instructions"
echo "per exit: $(( (loaded - base) / count ))"
