#!/usr/bin/env bash
# page_chromium.sh: the operator page (GET /) in headless Chromium against `build/bark serve` on the tiny model, with
# an API key: tests/page_browser.py asserts it as bark serve is, then with the queue and cache endpoints stood in
# for, then that it fails when / or /page/app.js answer 404. Installs Debian's chromium if missing; transcript in
# $BUILD/page_chromium.log, screenshots $BUILD/page.png (with queue and cache) and $BUILD/page-bark.png.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BARK=$BUILD/bark
LOG=$BUILD/page_chromium.log
KEY=page-test-key
DIR=$(mktemp -d /tmp/bark-page-chromium-XXXXXX)
PID=""
stop() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$DIR"; }
trap stop EXIT
: > "$LOG"
say() { printf '%s\n' "$*" | tee -a "$LOG"; }

if ! command -v chromium > /dev/null; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    say "== installing chromium (Debian's package, ~100 MB: not part of make deps)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium > /dev/null
fi
say "== $(chromium --version 2>/dev/null | head -1)"

"$BARK" convert tests/data/tiny/hf -o "$DIR/tiny.gguf" --type q8_0 > /dev/null
. tests/util/serve_start.sh
serve_start -m "$DIR/tiny.gguf" -t 2 --api-key "$KEY" --cache "$DIR/cache" --device null
say "== bark serve on $URL with an API key"
# one request with a seed puts an entry in the server's cache for the page to list and play
curl -s -o /dev/null --max-time 300 -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{"model":"bark","input":"Hello from the cache.","voice":"v2/en_speaker_0","seed":7}' "$URL/v1/audio/speech"
fail=0
page() { python3 tests/page_browser.py --url "$URL" --key "$KEY" "$@" 2>&1 | tee -a "$LOG"; }

page --screenshot "$BUILD/page-bark.png" || fail=1
say "== with POST /v1/announce, GET/DELETE /v1/queue, GET /v1/cache stood in for (tests/page_browser.py)"
page --stand-in --screenshot "$BUILD/page.png" || fail=1
for broken in / /page/app.js; do
    say "== $broken answering 404: the check must fail"
    if page --break "$broken" --screenshot "$DIR/broken.png"; then
        say "   FAILED: the page passed with $broken broken"; fail=1
    else
        say "   ok: it failed"
    fi
done
[ "$fail" -eq 0 ] && say "page_chromium: all passed" || { say "page_chromium: FAILED"; exit 1; }
