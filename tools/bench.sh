#!/bin/sh
# bench.sh BUILD: the speed and memory figures of bark.c at the real bark-small shapes (random weights),
# ending with one "name value" line per figure.
set -eu
build=${1:-build}
dir=$build/bench
threads=${BENCH_THREADS:-2}
long=${BENCH_LONG:-768}   # semantic tokens of the fixed workload (early stop off: 1,154 frames)
short=${BENCH_SHORT:-256}
mkdir -p "$dir"
model=$dir/bark-small-q8_0.gguf
model4=$dir/bark-small-q4_0.gguf # the same random weights with 4-bit transformer blocks
modela=$dir/bark-small-q8_0_attn_f16.gguf # the same random weights with each block's c_attn f16
for m in "$model" "$model4" "$modela"; do
    [ "$m" -nt "$build/bark" ] && continue # rewritten by a newer build: the converter may store tensors otherwise
    type=${m##*-}; type=${type%.gguf}
    echo "bench: writing a random-weight bark-small $type model ..."
    t0=$(date +%s.%N)
    "$build/bark" random-model --shape bark-small --type "$type" --vocab models/bert-base-multilingual-cased/vocab.txt \
        --voices models/voices -o "$m"
    echo "bench: random model written in $(awk "BEGIN {print $(date +%s.%N) - $t0}") s"
done
# OpenBLAS 0.3.21 takes CPUs it does not know (Zen 4/5) for Haswell; AVX-512 ones run its SkylakeX sgemm
# about 1.8x faster. Set OPENBLAS_CORETYPE yourself to override.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -q ' avx512f ' /proc/cpuinfo 2>/dev/null &&
   grep -q ' avx512bw ' /proc/cpuinfo && grep -q ' avx512vl ' /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=SkylakeX
    echo "bench: OPENBLAS_CORETYPE=SkylakeX (AVX-512 CPU)"
fi
# cold-ish page cache is not in our control; report first and best of 5 opens
echo "== load (mmap + validation) =="
"$build/tools/bench_load" "$model" 5 | tee "$dir/load.txt"
echo "== bark-small q8_0, $threads threads: $long-token and $short-token workloads =="
"$build/tools/bench_gpt" "$model" "$threads" "$long" "$short" "$dir/gpt.txt"
echo "== bark-small q4_0 (same weights, 4-bit blocks), $threads threads: the same workloads =="
"$build/tools/bench_gpt" "$model4" "$threads" "$long" "$short" "$dir/gpt_q4_0.raw"
{ sed 's/^/q4_0_/' "$dir/gpt_q4_0.raw"
  printf 'file_mb %.1f\nq4_0_file_mb %.1f\n' "$(($(stat -c %s "$model") / 100000))e-1" \
      "$(($(stat -c %s "$model4") / 100000))e-1"; } > "$dir/gpt_q4_0.txt"
echo "== bark-small q8_0_attn_f16 (same weights, c_attn f16), $threads threads: the same workloads =="
"$build/tools/bench_gpt" "$modela" "$threads" "$long" "$short" "$dir/gpt_attn_f16.raw"
# its cost against q8_0 in this run: whole 768-token runs, decode steps, the coarse prefills, the fine stage
awk -v mb="$(($(stat -c %s "$modela") / 100000))e-1" 'NR == FNR { q[$1] = $2; next } { a[$1] = $2 } END {
    printf "attn_f16_file_mb %.1f\nattn_f16_rtf_768_ratio %.3f\nattn_f16_decode_ratio %.3f\n", mb,
        a["rtf_768"] / q["rtf_768"], a["coarse_ms_per_token"] / q["coarse_ms_per_token"]
    printf "attn_f16_coarse_prefill_ratio %.3f\nattn_f16_fine_ratio %.3f\n",
        a["coarse_prefill_s"] / q["coarse_prefill_s"], a["fine_s"] / q["fine_s"]
}' "$dir/gpt.txt" "$dir/gpt_attn_f16.raw" > "$dir/gpt_attn_f16.txt"
echo "== many sequences at once: decode steps per batch size, a long text of 10 pieces x 640 tokens =="
"$build/tools/bench_batch" "$model" "$threads" "$dir/batch.txt"
echo "== bark render: 20 short announcements in batches, against 20 single bark say runs (same run) =="
rdir=$dir/render
rm -rf "$rdir" && mkdir -p "$rdir"
i=0
while [ $i -lt 20 ]; do i=$((i + 1)); echo "Announcement $i: the shop on the second floor closes in ten minutes."; done > "$rdir/lines.txt"
opts="-q -m $model -t $threads -v v2/en_speaker_6 -s 7 --max-seconds 1.5"
t0=$(date +%s.%N)
"$build/bark" render $opts -o "$rdir/r.wav" "$rdir/lines.txt"
t1=$(date +%s.%N)
i=0 same=0
while read -r line; do
    i=$((i + 1)); n=$(printf %04d $i)
    "$build/bark" say $opts -o "$rdir/s-$n.wav" "$line"
    cmp -s "$rdir/r-$n.wav" "$rdir/s-$n.wav" && same=$((same + 1))
done < "$rdir/lines.txt"
t2=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v same="$same" 'BEGIN {
    printf "render_20_s %.1f\nsay_20_s %.1f\nrender_speedup %.2f\nrender_files_equal_say %d\n", b - a, c - b, (c - b) / (b - a), same
}' | tee "$dir/render.txt"
echo "== bark serve: a streamed response's first byte, then 8 clients x 10 short texts at once against the same 80 one by one (curl) =="
sh tools/bench_serve.sh "$build" "$model" "$threads" "$dir/serve.txt"
echo "== EnCodec 24 kHz (real architecture, random weights, 10 s of audio), 1 and 2 threads =="
"$build/tools/bench_encodec" | tee "$dir/encodec.txt"
echo "== clone (10 s reference, HuBERT base + quantizer v1 + EnCodec 24 kHz, random weights) =="
"$build/tools/bench_clone" 10 q8_0 "$dir" | tee "$dir/clone.txt"
echo "== summary =="
cat "$dir/load.txt" "$dir/gpt.txt" "$dir/gpt_q4_0.txt" "$dir/gpt_attn_f16.txt" "$dir/batch.txt" "$dir/render.txt" "$dir/serve.txt" "$dir/encodec.txt" \
    "$dir/clone.txt"
