#!/usr/bin/env bash
# serve_curl.sh: `build/bark serve` on the tiny model at a free loopback port driven by real curl: every endpoint,
# the status codes, the WAV parsed by Python's wave module, a cache hit timed; a transcript in $BUILD/serve_curl.log.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BARK=$BUILD/bark
LOG=$BUILD/serve_curl.log
DIR=$(mktemp -d /tmp/bark-serve-curl-XXXXXX)
PID=""
stop() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$DIR"; }
trap stop EXIT
: > "$LOG"
say() { printf '%s\n' "$*" | tee -a "$LOG"; }

"$BARK" convert tests/data/tiny/hf -o "$DIR/tiny.gguf" --type q8_0 > /dev/null
# the loudspeaker: ALSA's file plugin writing the raw samples to a file (no sound card)
sed "s|@FILE@|$DIR/speaker.raw|" tests/data/say/asoundrc.in > "$DIR/asoundrc"
export ALSA_CONFIG_PATH=$DIR/asoundrc
. tests/util/serve_start.sh
serve_start -m "$DIR/tiny.gguf" -t 2 --cache "$DIR/cache"
say "== bark serve on $URL ($(tail -1 "$DIR/server.log"))"
fail=0

# expect STATUS DESCRIPTION CURL-ARGS...: runs curl, logs the exchange, checks the status
expect() {
    local want=$1 what=$2; shift 2
    local got
    got=$(curl -sS --max-time 120 -o "$DIR/body" -D "$DIR/head" -w '%{http_code}' "$@" || echo "curl-failed")
    say "-- $what: curl $*"
    sed -n '1p;/^[Cc]ontent-[Tt]ype/p;/^[Tt]ransfer-[Ee]ncoding/p;/^[Rr]etry-[Aa]fter/p;/^[Aa]llow/p' "$DIR/head" \
        | tr -d '\r' | sed 's/^/   < /' | tee -a "$LOG"
    if grep -qi '^content-type: application/json\|^content-type: text/plain' "$DIR/head"; then
        head -c 400 "$DIR/body" | sed 's/^/   | /' | tee -a "$LOG"; echo | tee -a "$LOG"
    else
        say "   | ($(wc -c < "$DIR/body") bytes)"
    fi
    if [ "$got" = "$want" ]; then say "   ok: $got"; else say "   FAILED: status $got, wanted $want"; fail=1; fi
}
J=(-H 'Content-Type: application/json')

expect 200 "health" "$URL/health"
expect 200 "voices" "$URL/v1/voices"
expect 200 "speech as WAV (streamed)" "${J[@]}" \
    -d '{"model":"bark","input":"Hello","voice":"v2/en_speaker_0","seed":1}' "$URL/v1/audio/speech"
cp "$DIR/body" "$DIR/hi.wav"
python3 - "$DIR/hi.wav" <<'PY' | tee -a "$LOG"
import sys, wave
w = wave.open(sys.argv[1])
assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 24000), w.getparams()
n = len(w.readframes(1 << 30)) // 2
assert n > 24000, n
print("   wave: mono 16-bit 24000 Hz, %d samples (%.2f s)" % (n, n / 24000))
PY
expect 200 "speech as raw PCM" "${J[@]}" \
    -d '{"model":"bark","input":"Hello","voice":"v2/en_speaker_0","seed":1,"response_format":"pcm"}' \
    "$URL/v1/audio/speech"
cmp -s <(tail -c +45 "$DIR/hi.wav") "$DIR/body" && say "   pcm: the WAV's samples, byte for byte" \
    || { say "   FAILED: the PCM differs from the WAV's samples"; fail=1; }
cp "$DIR/body" "$DIR/hi.pcm"
grep -qi '^x-bark-cache: hit' "$DIR/head" && say "   cache: a hit (same seed as the WAV)" \
    || { say "   FAILED: no cache hit"; fail=1; }
T=$(curl -sS --max-time 120 -o "$DIR/body" -D "$DIR/head" -w '%{time_total}' "${J[@]}" \
    -d '{"model":"bark","input":"Hello","voice":"v2/en_speaker_0","seed":1,"response_format":"pcm"}' \
    "$URL/v1/audio/speech")
say "-- a cache hit again, timed: $(grep -i '^x-bark-cache' "$DIR/head" | tr -d '\r'), ${T} s (curl time_total)"
grep -qi '^x-bark-cache: hit' "$DIR/head" && cmp -s "$DIR/body" "$DIR/hi.pcm" && say "   ok: the same bytes" \
    || { say "   FAILED: not a hit of the same bytes"; fail=1; }
expect 200 "the cache's entries" "$URL/v1/cache"
grep -q '"count":1' "$DIR/body" || { say "   FAILED: not one entry"; fail=1; }
expect 200 "speech as FLAC" "${J[@]}" \
    -d '{"model":"bark","input":"Hello","voice":"v2/de_speaker_1","response_format":"flac"}' "$URL/v1/audio/speech"
[ "$(head -c 4 "$DIR/body")" = "fLaC" ] && say "   flac: starts with fLaC" || { say "   FAILED: not FLAC"; fail=1; }
expect 400 "unknown voice" "${J[@]}" -d '{"model":"bark","input":"Hi","voice":"alloy"}' "$URL/v1/audio/speech"
expect 400 "malformed JSON" "${J[@]}" -d '{"model":' "$URL/v1/audio/speech"
expect 400 "speed" "${J[@]}" -d '{"model":"bark","input":"Hi","voice":"v2/en_speaker_0","speed":2}' \
    "$URL/v1/audio/speech"
expect 200 "speech as MP3" "${J[@]}" \
    -d '{"model":"bark","input":"Hello","voice":"v2/en_speaker_0","response_format":"mp3"}' "$URL/v1/audio/speech"
python3 -c 'import sys; b = open(sys.argv[1], "rb").read(4); sys.exit(not (b[:3] == b"ID3" or (b[0] == 0xFF and b[1] & 0xE0 == 0xE0)))' \
    "$DIR/body" && say "   mp3: an ID3 tag or an MPEG frame first" || { say "   FAILED: not MP3"; fail=1; }
expect 200 "speech as Opus" "${J[@]}" \
    -d '{"model":"bark","input":"Hello","voice":"v2/en_speaker_0","response_format":"opus"}' "$URL/v1/audio/speech"
[ "$(head -c 4 "$DIR/body")" = "OggS" ] && grep -q OpusHead "$DIR/body" && say "   opus: Ogg with an OpusHead" \
    || { say "   FAILED: not Ogg Opus"; fail=1; }
expect 400 "aac" "${J[@]}" -d '{"model":"bark","input":"Hi","voice":"v2/en_speaker_0","response_format":"aac"}' \
    "$URL/v1/audio/speech"
head -c 70000 /dev/zero | tr '\0' ' ' > "$DIR/big.json"
expect 413 "a 70 KB body" "${J[@]}" --data-binary "@$DIR/big.json" "$URL/v1/audio/speech"
expect 405 "GET on speech" "$URL/v1/audio/speech"
expect 404 "unknown path" "$URL/v2/nothing"
expect 202 "an announcement" "${J[@]}" -d '{"text":"Hello","voice":"v2/en_speaker_0","priority":"high"}' \
    "$URL/v1/announce"
expect 400 "an unknown priority" "${J[@]}" -d '{"text":"Hi","priority":"urgent"}' "$URL/v1/announce"
for _ in $(seq 600); do
    curl -s --max-time 5 "$URL/v1/queue" | grep -q '"state":"played"' && break
    sleep 0.1
done
expect 200 "the queue" "$URL/v1/queue"
grep -q '"playing":null,"waiting":\[\],"recent":\[{"id":1,"text":"Hello".*"state":"played"' "$DIR/body" \
    && say "   queue: announcement 1 played" || { say "   FAILED: not played"; fail=1; }
SEED=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["recent"][0]["seed"])' "$DIR/body")
expect 200 "the same text, voice and seed as speech" "${J[@]}" \
    -d "{\"model\":\"bark\",\"input\":\"Hello\",\"voice\":\"v2/en_speaker_0\",\"seed\":$SEED,\"response_format\":\"pcm\"}" \
    "$URL/v1/audio/speech"
cmp -s <(head -c "$(wc -c < "$DIR/body")" "$DIR/speaker.raw") "$DIR/body" \
    && say "   speaker: the announcement's samples are the speech's (seed $SEED), byte for byte" \
    || { say "   FAILED: the speaker's samples differ"; fail=1; }
expect 404 "cancel an unknown one" -X DELETE "$URL/v1/queue/99"
expect 200 "metrics" "$URL/metrics"
grep -q '^bark_serve_requests_total{endpoint="speech",code="200"} 7$' "$DIR/body" \
    && grep -q '^bark_serve_announcements_total{event="played"} 1$' "$DIR/body" \
    && say "   metrics: 7 speech requests answered 200, 1 announcement played" || { say "   FAILED: metrics count"; fail=1; }
# misses: the first WAV and the announcement; hits: the PCM twice, and the speech of the announcement's seed
grep -q '^bark_serve_cache_hits_total 3$' "$DIR/body" && grep -q '^bark_serve_cache_misses_total 2$' "$DIR/body" \
    && say "   metrics: 3 cache hits (one the announcement's), 2 misses" || { say "   FAILED: cache metrics"; fail=1; }

kill -TERM "$PID"
rc=0; wait "$PID" || rc=$?
PID=""
say "-- SIGTERM: the server exited with $rc ($(tail -1 "$DIR/server.log"))"
[ "$rc" -eq 0 ] || fail=1
[ "$fail" -eq 0 ] && say "serve_curl: all passed" || { say "serve_curl: FAILED"; exit 1; }
