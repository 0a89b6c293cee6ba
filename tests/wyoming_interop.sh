#!/usr/bin/env bash
# wyoming_interop.sh: `build/bark serve --wyoming` on the tiny model at a free loopback port, spoken to by the `wyoming`
# package from PyPI (pinned in tools/requirements-interop.txt, in a venv made here): describe, synthesize, the streamed
# synthesize, an unknown event; raw bad frames (a 1 MB header line, a negative payload_length, invalid JSON, a client
# leaving mid-synthesis) answered while the server keeps serving. A transcript in $BUILD/wyoming_interop.log.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BARK=$BUILD/bark
LOG=$BUILD/wyoming_interop.log
VENV=$BUILD/interop-venv
DIR=$(mktemp -d /tmp/bark-wyoming-XXXXXX)
PID=""
stop() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$DIR"; }
trap stop EXIT
: > "$LOG"
say() { printf '%s\n' "$*" | tee -a "$LOG"; }

[ -x "$VENV/bin/python" ] || /usr/bin/python3 -m venv "$VENV"
"$VENV/bin/pip" install -q -r tools/requirements-interop.txt
"$BARK" convert tests/data/tiny/hf -o "$DIR/tiny.gguf" --type q8_0 > /dev/null
. tests/util/serve_start.sh
serve_start -m "$DIR/tiny.gguf" --wyoming 0 --no-speaker -t 2 --cache "$DIR/cache"
WPORT=""
for _ in $(seq 100); do  # the Wyoming port it took, printed once it listens
    WPORT=$(sed -n 's|^bark serve: Wyoming.* on tcp://127.0.0.1:\([0-9]*\).*|\1|p' "$DIR/server.log")
    [ -n "$WPORT" ] && break
    sleep 0.1
done
[ -n "$WPORT" ] || { cat "$DIR/server.log"; echo "wyoming_interop: no Wyoming port"; exit 1; }
say "== $(tail -1 "$DIR/server.log"), wyoming $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("wyoming"))')"
fail=0
"$VENV/bin/python" tests/wyoming_client.py "$WPORT" 2>&1 | tee -a "$LOG" || fail=1

# bad input with raw sockets: each answered with an error event (where the framing allows), the server still serving
"$VENV/bin/python" - "$WPORT" <<'PY' 2>&1 | tee -a "$LOG" || fail=1
import socket, sys
from wyoming.event import read_event
port = int(sys.argv[1])
def conn():
    s = socket.create_connection(("127.0.0.1", port), 10); s.settimeout(60)
    return s, s.makefile("rb")
def expect(f, kind, what):
    ev = read_event(f)
    ok = ev is not None and ev.type == kind
    print(f"{what}: {ev.type + ' ' + str(ev.data.get('code', '')) if ev else 'closed'} -> {'ok' if ok else 'FAILED'}")
    if not ok: sys.exit(1)
s, f = conn(); s.sendall(b"{not json\n"); expect(f, "error", "invalid JSON header line")
s.sendall(b'{"type":"describe"}\n'); expect(f, "info", "  then describe on the same connection")
s.sendall(b'{"type":"describe","payload_length":-5}\n'); expect(f, "error", "negative payload_length")
print("  then the connection is closed:", "ok" if read_event(f) is None else "FAILED")
s, f = conn(); s.sendall(b'{"type":"describe","payload_length":1e15}\n'); expect(f, "error", "huge payload_length")
s, f = conn()
try: s.sendall(b"x" * (1 << 20))
except OSError: pass
expect(f, "error", "a 1 MB header line")
s, f = conn()
s.sendall(b'{"type":"synthesize","data":{"text":"' + b"A long text to be cut short. " * 100 + b'"}}\n')
expect(f, "audio-start", "a long synthesize")
s.close(); print("  the client leaves mid-synthesis")
s, f = conn(); s.sendall(b'{"type":"describe"}\n'); expect(f, "info", "a new client is served")
PY
sleep 1
say "-- server log:"; sed 's/^/   /' "$DIR/server.log" | tee -a "$LOG"
grep -q "went away mid-synthesis" "$DIR/server.log" || { say "FAILED: the server did not see the client leave"; fail=1; }
kill "$PID"; wait "$PID" || { say "FAILED: the server did not stop cleanly"; fail=1; }; PID=""
[ "$fail" -eq 0 ] && say "wyoming_interop: ok" || { say "wyoming_interop: FAILED"; exit 1; }
