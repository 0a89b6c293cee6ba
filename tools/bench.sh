#!/bin/sh
# bench.sh BUILD: the speed and memory figures of bark.c at the real bark-small shapes (random weights),
# ending with one "name value" line per figure.
set -eu
build=${1:-build}
dir=$build/bench
mkdir -p "$dir"
model=$dir/bark-small-q8_0.gguf
if [ ! -f "$model" ]; then
    echo "bench: writing a random-weight bark-small q8_0 model (once) ..."
    t0=$(date +%s.%N)
    "$build/bark" random-model --shape bark-small -t q8_0 --vocab models/bert-base-multilingual-cased/vocab.txt \
        --voices models/voices -o "$model"
    echo "bench: random model written in $(awk "BEGIN {print $(date +%s.%N) - $t0}") s"
fi
# cold-ish page cache is not in our control; report first and best of 5 opens
echo "== load (mmap + validation) =="
"$build/tools/bench_load" "$model" 5 | tee "$dir/load.txt"
echo "== summary =="
cat "$dir/load.txt"
