#!/usr/bin/env bash
# mqtt_interop.sh: `build/bark serve --mqtt` against a real Mosquitto broker on a free loopback port (its configuration
# written here), the loudspeaker ALSA's file plugin: hermes/tts/say spoken and hermes/tts/sayFinished received,
# bark/<site>/announce, the retained bark/<site>/status, a payload that is not JSON, another site's message ignored,
# the broker stopped and restarted mid-run and a message sent after the restart still spoken. A transcript in
# $BUILD/mqtt_interop.log.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BARK=$BUILD/bark
LOG=$BUILD/mqtt_interop.log
DIR=$(mktemp -d /tmp/bark-mqtt-XXXXXX)
PID="" BPID=""
stop() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; [ -n "$BPID" ] && kill "$BPID" 2>/dev/null; rm -rf "$DIR"; }
trap stop EXIT
: > "$LOG"
say() { printf '%s\n' "$*" | tee -a "$LOG"; }
fail=0
check() { if eval "$2"; then say "   ok: $1"; else say "   FAILED: $1"; fail=1; fi; }
command -v mosquitto > /dev/null || PATH=$PATH:/usr/sbin
. tests/util/serve_start.sh
port_open() { python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" 2> /dev/null; }

"$BARK" convert tests/data/tiny/hf -o "$DIR/tiny.gguf" --type q8_0 > /dev/null
sed "s|@FILE@|$DIR/speaker.raw|" tests/data/say/asoundrc.in > "$DIR/asoundrc"
export ALSA_CONFIG_PATH=$DIR/asoundrc
MPORT=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$MPORT" > "$DIR/mosquitto.conf"
broker() {
    mosquitto -c "$DIR/mosquitto.conf" >> "$DIR/broker.log" 2>&1 &
    BPID=$!
    for _ in $(seq 100); do port_open "$MPORT" && return 0; sleep 0.1; done
    say "FAILED: mosquitto did not start"; cat "$DIR/broker.log"; exit 1
}
M=(-h 127.0.0.1 -p "$MPORT")
broker
say "== $(mosquitto -h 2>&1 | head -1 || true) on 127.0.0.1:$MPORT"
serve_start -m "$DIR/tiny.gguf" -t 2 --cache "$DIR/cache" --mqtt "127.0.0.1:$MPORT" --mqtt-site kitchen
HPORT=$PORT
say "-- the retained status once connected"
mosquitto_sub "${M[@]}" -t bark/kitchen/status -C 1 -W 30 > "$DIR/status" || true
say "   $(cat "$DIR/status")"
check "status online" 'grep -q "\"state\":\"online\"" "$DIR/status"'

# say TEXT ID: publishes a hermes/tts/say and waits (bounded) for the sayFinished of that id
say_and_wait() {
    local text=$1 id=$2
    mosquitto_sub "${M[@]}" -t hermes/tts/sayFinished -C 1 -W 120 > "$DIR/finished.$id" &
    local sub=$!
    sleep 0.5
    local t0=$(date +%s.%N)
    mosquitto_pub "${M[@]}" -q 1 -t hermes/tts/say \
        -m "{\"text\":\"$text\",\"lang\":\"en-US\",\"id\":\"$id\",\"siteId\":\"kitchen\",\"sessionId\":\"session-$id\"}"
    wait "$sub" || true
    say "   sayFinished after $(python3 -c "import time; print(f'{time.time() - $t0:.1f}')") s: $(cat "$DIR/finished.$id")"
    check "sayFinished for $id" "grep -q '\"id\":\"$id\",\"sessionId\":\"session-$id\"' '$DIR/finished.$id'"
}
say "-- hermes/tts/say"
say_and_wait "Hello kitchen." first
check "the speaker got samples" '[ -s "$DIR/speaker.raw" ]'

say "-- a payload that is not JSON, another site's message, then bark/kitchen/announce"
mosquitto_pub "${M[@]}" -q 1 -t hermes/tts/say -m 'this is not json'
mosquitto_pub "${M[@]}" -q 1 -t hermes/tts/say -m '{"text":"For the garage.","siteId":"garage","id":"g"}'
mosquitto_pub "${M[@]}" -q 1 -t bark/kitchen/announce -m '{"text":"Dinner is ready.","priority":"high"}'
for _ in $(seq 600); do
    curl -s --max-time 5 "http://127.0.0.1:$HPORT/v1/queue" | grep -q '"text":"Dinner is ready.".*"state":"played"' && break
    sleep 0.1
done
check "the announcement played" \
    'curl -s --max-time 5 "http://127.0.0.1:$HPORT/v1/queue" | grep -q "\"text\":\"Dinner is ready.\".*\"state\":\"played\""'
check "the garage's message was not queued" \
    '! curl -s --max-time 5 "http://127.0.0.1:$HPORT/v1/queue" | grep -q "For the garage"'
check "one log line for the bad payload" '[ "$(grep -c "not a JSON object" "$DIR/server.log")" -eq 1 ]'

say "-- the broker stopped and started again"
kill "$BPID"; wait "$BPID" || true; BPID=""
for _ in $(seq 100); do grep -q "lost the broker" "$DIR/server.log" && break; sleep 0.1; done
check "the server saw the broker go" 'grep -q "lost the broker" "$DIR/server.log"'
sleep 2
broker
mosquitto_sub "${M[@]}" -t bark/kitchen/status -C 1 -W 60 > "$DIR/status2" || true
say "   status after the restart: $(cat "$DIR/status2")"
check "online again" 'grep -q "\"state\":\"online\"" "$DIR/status2"'
before=$(md5sum < "$DIR/speaker.raw")
say_and_wait "After the restart." after
# the file plugin writes each announcement's samples afresh: another text, other samples
check "the speaker played it" '[ -s "$DIR/speaker.raw" ] && [ "$(md5sum < "$DIR/speaker.raw")" != "$before" ]'
check "the queue shows it played" \
    'curl -s --max-time 5 "http://127.0.0.1:$HPORT/v1/queue" | grep -q "\"text\":\"After the restart.\".*\"state\":\"played\""'

say "-- the server stops: its status is offline"
kill "$PID"; wait "$PID" || { say "   FAILED: the server did not stop cleanly"; fail=1; }; PID=""
mosquitto_sub "${M[@]}" -t bark/kitchen/status -C 1 -W 10 > "$DIR/status3" || true
say "   $(cat "$DIR/status3")"
check "status offline (retained)" 'grep -q "\"state\":\"offline\"" "$DIR/status3"'
say "-- server log:"; sed 's/^/   /' "$DIR/server.log" | tee -a "$LOG"
[ "$fail" -eq 0 ] && say "mqtt_interop: ok" || { say "mqtt_interop: FAILED"; exit 1; }
