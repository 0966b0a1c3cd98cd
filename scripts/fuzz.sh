#!/usr/bin/env bash
# Fuzzes SwiftVMM's fuzz targets (Sources/FuzzTargets) with libFuzzer, each for a bounded
# time, starting from the committed seed corpus (fuzz/corpus/TARGET) and every past
# finding (fuzz/regressions/TARGET). Prints the executions and coverage of each target.
#
#   scripts/fuzz.sh [--seconds N] [TARGET...]     fuzz (default: 60 s each, every target)
#   scripts/fuzz.sh --write-seeds                 rewrite fuzz/corpus from the targets' code
#
# A failure (a crash, a broken invariant, an AddressSanitizer report) stops the run with
# status 1 and leaves the input in fuzz/findings/TARGET/. To keep it fixed: fix the code,
# then copy the input to fuzz/regressions/TARGET/, where `swift test` replays it.
#
# The fuzz build is swiftvmm-fuzz compiled with -sanitize=fuzzer,address and -DFUZZING,
# linked with lld (the toolchain's default linker, gold, fails on libFuzzer's objects),
# in its own build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -d /opt/swift/usr/bin ]; then export PATH=/opt/swift/usr/bin:$PATH; fi

seconds=60
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        --write-seeds)
            swift build --product swiftvmm-fuzz
            rm -f fuzz/corpus/*/seed-*
            .build/debug/swiftvmm-fuzz seeds fuzz/corpus
            exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done

echo "== building swiftvmm-fuzz with libFuzzer and AddressSanitizer =="
swift build -c release --product swiftvmm-fuzz --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld
fuzzer=.build-fuzz/release/swiftvmm-fuzz
if [ ${#targets[@]} -eq 0 ]; then
    # The replay build lists the targets; the fuzz build only fuzzes.
    swift build --product swiftvmm-fuzz >/dev/null
    read -r -a targets <<<"$(.build/debug/swiftvmm-fuzz list)"
fi

work=.build-fuzz/work
summary=()
total=0
for target in "${targets[@]}"; do
    corpus=$work/corpus/$target findings=fuzz/findings/$target
    mkdir -p "$corpus" "$findings"
    cp fuzz/corpus/"$target"/* "$corpus"/ 2>/dev/null || true
    cp fuzz/regressions/"$target"/* "$corpus"/ 2>/dev/null || true
    echo "== $target: ${seconds}s =="
    log=$work/$target.log
    set +e
    SWIFTVMM_FUZZ_TARGET=$target ASAN_OPTIONS=detect_leaks=0 "$fuzzer" "$corpus" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$findings/" >"$log" 2>&1
    status=$?
    set -e
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$log"
        echo "fuzz.sh: $target FAILED (status $status); the input is in $findings/" >&2
        exit 1
    fi
    rmdir "$findings" 2>/dev/null || true
    summary+=("$(printf '%-14s %12s executions  %6s edges covered  %5s corpus inputs' \
        "$target" "${executions:-0}" "${coverage:-?}" "$(ls "$corpus" | wc -l)")")
    total=$((total + ${executions:-0}))
done
echo "== summary =="
printf '%s\n' "${summary[@]}"
echo "fuzz.sh: ${#targets[@]} targets, $total executions in all, no failures"
