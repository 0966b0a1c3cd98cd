#!/usr/bin/env bash
# Runs the whole test suite under AddressSanitizer (with LeakSanitizer) and under
# ThreadSanitizer, each in its own build folder. The KVM tests run too: the machine's
# vCPU, device and console threads, and the swiftvmm executable the end-to-end tests
# start, are all instrumented.
#
#   scripts/sanitize.sh [address|thread]...     (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
export LSAN_OPTIONS="suppressions=$PWD/scripts/sanitizers/lsan.supp:print_suppressions=0"
export TSAN_OPTIONS="halt_on_error=1"
for sanitizer in "${@:-address thread}"; do
    for name in $sanitizer; do
        echo "== swift test --sanitize=$name =="
        swift test --sanitize="$name" --scratch-path ".build-$name"
    done
done
