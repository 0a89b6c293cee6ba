#!/bin/sh
# bench_serve.sh BUILD MODEL THREADS OUT: `bark serve` under load, driven by curl over loopback: a streamed
# response's first byte against its end, then 8 clients x 10 short texts at once against the same 80 requests one by
# one (same server, same run); p50/p95 latency, every request answered; "name value" figures into OUT.
set -eu
build=$1 model=$2 threads=$3 out=$4
clients=${BENCH_SERVE_CLIENTS:-8}
voice=${BENCH_SERVE_VOICE:-v2/en_speaker_6}
texts=${BENCH_SERVE_TEXTS:-10}
# random weights never say the end-of-speech token: each piece is cut at this many seconds of speech
cap=${BENCH_SERVE_MAX_SECONDS:-1}
dir=$(mktemp -d /tmp/bark-bench-serve-XXXXXX)
pid=""
stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap stop EXIT

BARK=$build/bark DIR=$dir
. tests/util/serve_start.sh
serve_start -m "$model" -t "$threads" --no-speaker --no-cache --max-seconds "$cap" --max-batch "$clients" \
    --max-queue $((2 * clients))
pid=$PID url=$URL

# speak TEXT SEED: one streamed request (raw PCM); "status first_byte_s total_s bytes" on stdout
speak() {
    curl -sS --max-time 1800 -o /dev/null -H 'Content-Type: application/json' \
        -w '%{http_code} %{time_starttransfer} %{time_total} %{size_download}\n' \
        -d "{\"model\":\"bark\",\"input\":\"$1\",\"voice\":\"$voice\",\"seed\":$2,\"response_format\":\"pcm\"}" \
        "$url/v1/audio/speech" || echo "000 0 0 0"
}
text() {
    case $1 in
    1) echo "The shop closes in ten minutes." ;;        2) echo "Train four leaves from platform two." ;;
    3) echo "Please mind the gap." ;;                    4) echo "The lift is out of order today." ;;
    5) echo "Lunch is served in the main hall." ;;       6) echo "Doors are closing." ;;
    7) echo "The meeting starts at nine." ;;             8) echo "Welcome to the museum." ;;
    9) echo "Please keep your ticket." ;;                *) echo "Thank you for waiting." ;;
    esac
}
# client C: its texts one after another into $dir/C.txt
client() {
    k=0
    while [ $k -lt "$texts" ]; do k=$((k + 1)); speak "$(text $k)" $((1000 * $1 + k)); done > "$dir/$2-$1.txt"
}
now() { date +%s.%N; }
# stats FILES...: answered count, p50 and p95 of the total times
stats() {
    cat "$@" | awk '$1 == 200 && $4 > 0 {print $3}' | sort -g | awk '{t[NR] = $1}
        END {if (NR == 0) {print 0, 0, 0; exit}
             p50 = t[int((NR - 1) * 0.50) + 1]; p95 = t[int((NR - 1) * 0.95 + 0.999999) + 1]
             if (p95 == "") p95 = t[NR]; print NR, p50, p95}'
}

echo "server: $(tail -1 "$dir/server.log"); each piece at most $cap s of speech"
long="Good morning. The north entrance is closed today for cleaning, so please use the south doors. The cafe on the first floor opens at ten, and the shop on the ground floor closes at six. Lockers are next to the ticket desk. Guided tours leave every hour from the main hall. Thank you for visiting, and enjoy your day."
speak "$long" 7 > "$dir/stream.txt"
read -r st fb tot bytes < "$dir/stream.txt"
echo "streamed: a text of several pieces, status $st: first byte after $fb s, end after $tot s, $((bytes / 48000)) s of audio"

total=$((clients * texts))
echo "one by one: $total requests ..."
t0=$(now)
c=0
while [ $c -lt "$clients" ]; do c=$((c + 1)); client $c seq; done
t1=$(now)
echo "$clients clients at once, $texts texts each ..."
c=0 pids=""
while [ $c -lt "$clients" ]; do c=$((c + 1)); client $c conc & pids="$pids $!"; done
wait $pids
t2=$(now)
set -- $(stats "$dir"/seq-*.txt)
seq_n=$1 seq_p50=$2 seq_p95=$3
set -- $(stats "$dir"/conc-*.txt)
conc_n=$1 conc_p50=$2 conc_p95=$3
batch=$(curl -s "$url/metrics" | awk '$1 == "bark_engine_largest_batch" {print $2}')
awk -v st="$st" -v fb="$fb" -v tot="$tot" -v total="$total" -v sn="$seq_n" -v sp50="$seq_p50" -v sp95="$seq_p95" \
    -v cn="$conc_n" -v cp50="$conc_p50" -v cp95="$conc_p95" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v b="$batch" 'BEGIN {
    printf "serve_stream_first_byte_s %.2f\nserve_stream_total_s %.2f\n", fb, tot
    printf "serve_requests %d\nserve_one_by_one_answered %d\nserve_concurrent_answered %d\n", total, sn, cn
    printf "serve_one_by_one_s %.1f\nserve_concurrent_s %.1f\nserve_concurrent_speedup %.2f\n", t1 - t0, t2 - t1, (t1 - t0) / (t2 - t1)
    printf "serve_one_by_one_p50_s %.2f\nserve_one_by_one_p95_s %.2f\n", sp50, sp95
    printf "serve_concurrent_p50_s %.2f\nserve_concurrent_p95_s %.2f\nserve_largest_batch %s\n", cp50, cp95, b
}' | tee "$out"
[ "$seq_n" -eq "$total" ] && [ "$conc_n" -eq "$total" ] && [ "$st" = 200 ] ||
    { echo "bench_serve: requests lost (see above)" >&2; exit 1; }
