#!/usr/bin/env bash
# soak_serve.sh BUILD SECONDS OUT: `bark serve` on the tiny model under a loopback client mix (short, long, cached,
# cancelled, malformed, announcements, reads) for SECONDS; the server's RSS and open file descriptors sampled every
# 10 s into OUT.csv; fails when a request gets an answer it should not, or when the idle server holds more memory
# or descriptors at the end than after the first minute allows (see the limits below). Run from the repository root.
set -uo pipefail
build=${1:?usage: tools/soak_serve.sh BUILD SECONDS OUT} secs=${2:?seconds} out=${3:?output prefix}
BARK=$build/bark
DIR=$(mktemp -d /tmp/bark-soak-XXXXXX)
PID=""
stop() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"; }
trap stop EXIT

"$BARK" convert tests/data/tiny/hf -o "$DIR/tiny.gguf" --type q8_0 > /dev/null || exit 1
sed "s|@FILE@|/dev/null|" tests/data/say/asoundrc.in > "$DIR/asoundrc"
export ALSA_CONFIG_PATH=$DIR/asoundrc
. tests/util/serve_start.sh
# a small cache, so that it fills and evicts during the run
serve_start -m "$DIR/tiny.gguf" -t 2 --cache "$DIR/cache" --cache-size 2 --max-seconds 1 || exit 1
echo "server: $(tail -1 "$DIR/server.log")"

rss() { awk '/^VmRSS/ {print $2}' "/proc/$PID/status"; }
fds() { ls "/proc/$PID/fd" | wc -l; }
end=$(($(date +%s) + secs))
J=(-H 'Content-Type: application/json')
speech() { echo "{\"model\":\"bark\",\"input\":\"$1\",\"voice\":\"v2/en_speaker_0\",\"seed\":$2,\"response_format\":\"$3\"}"; }
long="The north entrance is closed today. Please use the south doors. The cafe opens at ten. The shop closes at six."

# req KIND WANT CURL-ARGS...: one request; logs "KIND status bytes verdict" (verdict ok or BAD)
req() {
    local kind=$1 want=$2 got bytes; shift 2
    got=$(curl -sS --max-time 60 -o "$DIR/$kind.body" -w '%{http_code}' "$@" 2> /dev/null) || got="curl-$?:$got"
    bytes=$(stat -c %s "$DIR/$kind.body" 2> /dev/null || echo 0)
    case " $want " in *" $got "*) echo "$kind $got $bytes ok" ;; *) echo "$kind $got $bytes BAD" ;; esac
}
# client KIND: requests of that kind until the end time, a line each into $DIR/KIND.log
client() {
    local kind=$1 n=0 fmts=(wav pcm flac mp3 opus)
    while [ "$(date +%s)" -lt "$end" ]; do
        n=$((n + 1))
        case $kind in
        short) req short 200 "${J[@]}" -d "$(speech "Number $n, please." $((n + 100)) "${fmts[$((n % 5))]}")" \
            "$URL/v1/audio/speech" ;;
        long) req long 200 "${J[@]}" -d "$(speech "$long" $((n + 5000)) pcm)" "$URL/v1/audio/speech" ;;
        cached)
            req cached 200 "${J[@]}" -d "$(speech "Welcome to the museum." 7 wav)" "$URL/v1/audio/speech"
            if [ $n -eq 1 ]; then cp "$DIR/cached.body" "$DIR/cached.first"
            elif ! cmp -s "$DIR/cached.body" "$DIR/cached.first"; then echo "cached differs 0 BAD"; fi ;;
        cancelled) # the client goes away mid-stream: curl's exit 28 (timeout) is the expected end
            req cancelled "200 curl-28:200 curl-28:000" --max-time 0.3 "${J[@]}" \
                -d "$(speech "$long" $((n + 9000)) wav)" "$URL/v1/audio/speech" ;;
        malformed)
            case $((n % 6)) in
            0) req malformed 400 "${J[@]}" -d '{"model":' "$URL/v1/audio/speech" ;;
            1) req malformed 400 "${J[@]}" -d '{"model":"bark","input":"","voice":"v2/en_speaker_0"}' \
                "$URL/v1/audio/speech" ;;
            2) req malformed 400 "${J[@]}" -d '{"model":"bark","input":"Hi","voice":"alloy"}' "$URL/v1/audio/speech" ;;
            3) req malformed 413 "${J[@]}" --data-binary "@$DIR/big.json" "$URL/v1/audio/speech" ;;
            4) req malformed 405 "$URL/v1/audio/speech" ;;
            5) req malformed 400 "${J[@]}" -d '{"text":"Hi","priority":"urgent"}' "$URL/v1/announce" ;;
            esac ;;
        announce) req announce "202 429" "${J[@]}" -d "{\"text\":\"Announcement $n.\",\"voice\":\"v2/en_speaker_0\"}" \
            "$URL/v1/announce"; sleep 2 ;;
        reads)
            case $((n % 4)) in
            0) req reads 200 "$URL/health" ;; 1) req reads 200 "$URL/v1/voices" ;;
            2) req reads 200 "$URL/metrics" ;; 3) req reads 200 "$URL/v1/queue" ;;
            esac; sleep 0.2 ;;
        esac
    done > "$DIR/$kind.log"
}
python3 -c 'print("{\"model\":\"bark\",\"input\":\"" + "a" * 2000000 + "\"}")' > "$DIR/big.json"

sleep 1
idle_rss0=$(rss) idle_fds0=$(fds)
echo "t_s,rss_kb,fds" > "$out.csv"
echo "0,$idle_rss0,$idle_fds0" >> "$out.csv"
kinds="short long cached cancelled malformed announce reads"
pids=""
for k in $kinds; do client "$k" & pids="$pids $!"; done
t0=$(date +%s)
while [ "$(date +%s)" -lt "$end" ]; do
    sleep 10
    kill -0 "$PID" 2> /dev/null || { echo "soak: the server died (see below)"; cat "$DIR/server.log"; exit 1; }
    echo "$(($(date +%s) - t0)),$(rss),$(fds)" >> "$out.csv"
done
wait $pids
sleep 3 # in-flight streams and announcements end
idle_rss1=$(rss) idle_fds1=$(fds)
echo "$(($(date +%s) - t0)),$idle_rss1,$idle_fds1" >> "$out.csv"
served=$(curl -s "$URL/metrics" | awk '$1 ~ /^bark_serve_requests_total/ {s += $2} END {print s}')

status=0
echo "requests by kind (sent, answered as expected, not):"
for k in $kinds; do
    awk -v k="$k" '{n++} $4 == "ok" {ok++} $4 == "BAD" {bad++; if (bad <= 3) print "  BAD:", $0 > "/dev/stderr"}
        END {printf "  %-10s %6d %6d %6d\n", k, n, ok, bad}' "$DIR/$k.log"
done
total=$(cat "$DIR"/*.log | wc -l)
bad=$(cat "$DIR"/*.log | grep -c ' BAD$')
gone=$(grep -c '^cancelled curl-28' "$DIR/cancelled.log")
echo "total $total requests, $bad answered wrongly; the server counted $served answered ($gone clients went away" \
    "before the end of their answer)"
# limits: the idle server at the end holds the descriptors it held at the start (+2), and at most 25% (or 8 MB) more
# memory than its largest sample in the first two minutes (allocator arenas and the cache's pages settle by then)
early=$(awk -F, 'NR > 1 && $1 <= 120 && $2 > m {m = $2} END {print m}' "$out.csv")
awk -F, 'NR > 1 {if ($2 > mr) mr = $2; if ($3 > mf) mf = $3} END {print mr, mf}' "$out.csv" | {
    read -r max_rss max_fds
    echo "rss_kb: first $idle_rss0, max $max_rss, last $idle_rss1 (largest in the first 2 min: $early)"
    echo "fds: first $idle_fds0, max $max_fds, last $idle_fds1"
}
[ "$bad" -eq 0 ] || { echo "soak: $bad requests answered wrongly"; status=1; }
[ "$idle_fds1" -le $((idle_fds0 + 2)) ] || { echo "soak: descriptors grew ($idle_fds0 -> $idle_fds1)"; status=1; }
lim=$(awk -v e="$early" 'BEGIN {a = e * 1.25; b = e + 8192; print int(a > b ? a : b)}')
[ "$idle_rss1" -le "$lim" ] || { echo "soak: memory grew ($early -> $idle_rss1 kB, limit $lim)"; status=1; }
[ $status -eq 0 ] && echo "soak: ok"
exit $status
