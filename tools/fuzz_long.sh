#!/bin/sh
# fuzz_long.sh: long libFuzzer runs (SECONDS each, JOBS at a time, at low priority), a line per target with its
# executions, coverage and whether it crashed. Seeds come from tests/fuzz/corpus/<name>; new inputs stay in OUT.
# Usage (repository root, after `make build/fuzz/fuzz_NAME ...`): tools/fuzz_long.sh SECONDS JOBS OUT build/fuzz/fuzz_*
secs=$1 jobs=$2 out=$3
shift 3
[ -n "$secs" ] && [ -n "$jobs" ] && [ -n "$out" ] && [ $# -gt 0 ] ||
    { echo "usage: tools/fuzz_long.sh SECONDS JOBS OUT build/fuzz/fuzz_NAME..." >&2; exit 2; }
mkdir -p "$out" || exit 1

one() { # $1: the fuzzer binary
    name=$(basename "$1") work="$out/${name#fuzz_}"
    mkdir -p "$work/corpus" "$work/crashes"
    [ -d "tests/fuzz/corpus/${name#fuzz_}" ] && cp -r "tests/fuzz/corpus/${name#fuzz_}"/. "$work/corpus"/
    nice -n 19 "$1" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$work/crashes/" "$work/corpus" > "$work/log" 2>&1
    rc=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$work/log" | tail -1)
    if [ $rc -eq 0 ]; then verdict=ok; else verdict="CRASHED (exit $rc, input in $work/crashes)"; fi
    echo "$name: $verdict, ${runs:-?} runs in ${secs}s, $cov, corpus $(ls "$work/corpus" | wc -l) inputs"
}

status=0
while [ $# -gt 0 ]; do
    n=0
    while [ $# -gt 0 ] && [ $n -lt "$jobs" ]; do
        one "$1" > "$out/$(basename "$1").line" &
        shift; n=$((n + 1))
    done
    wait
done
for l in "$out"/*.line; do cat "$l"; grep -q CRASHED "$l" && status=1; done
exit $status
