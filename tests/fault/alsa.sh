#!/usr/bin/env bash
# alsa.sh: `bark say` playing through a sound card that underruns, suspends, vanishes or stalls (tests/fault/alsa_shim.c).
# The card is ALSA's file plugin (tests/data/say/asoundrc.in: what is played lands in a raw file), the faults come
# from the shim at the 2nd write. Prints the table: fault, what the user gets, exit code, what was played; fails
# when a row differs from what it must be (a recovery plays every sample; a lost device ends in one line, exit 1).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BARK=$PWD/$BUILD/bark SHIM=$PWD/$BUILD/tests/alsa_shim.so
[ -x "$BARK" ] && [ -f "$SHIM" ] || { echo "alsa.sh: build $BARK and $SHIM first (make test-faults)" >&2; exit 2; }
D=$(mktemp -d /tmp/bark-alsa.XXXXXX)
trap 'rm -rf "$D"' EXIT
sed "s|@FILE@|$D/played.raw|" tests/data/say/asoundrc.in > "$D/asoundrc"
export ALSA_CONFIG_PATH=$D/asoundrc
# on a gcc ASan build the shim is preloaded ahead of the sanitizer's runtime, which ASan must be told to accept
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
"$BARK" convert -q tests/data/tiny/hf -o "$D/tiny.gguf" || exit 1
say() { timeout 60 "$BARK" say -q -s 1 -t 1 -m "$D/tiny.gguf" "Hello there." > "$D/out" 2>&1; }
say || { echo "alsa.sh: playing without a fault failed:"; cat "$D/out"; exit 1; }
mv "$D/played.raw" "$D/ref.raw"
bad=0
printf '%-15s | %-8s | %-4s | %-22s | %s\n' fault time exit played "what the user sees"
# fault, the exit it must end with, the played audio it must leave (all: every sample; part: the start only)
for row in "epipe 0 all" "estrpipe 0 all" "estrpipe-stuck 0 all" "enodev 1 part" "stall 1 part"; do
    set -- $row
    rm -f "$D/played.raw"
    t0=$(date +%s.%N)
    BARK_ALSA_FAULT=$1 LD_PRELOAD=$SHIM say
    rc=$?
    t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    if cmp -s "$D/played.raw" "$D/ref.raw"; then played="all $(stat -c %s "$D/ref.raw") bytes"
    else played="$(stat -c %s "$D/played.raw" 2>/dev/null || echo 0) of $(stat -c %s "$D/ref.raw") bytes"; fi
    msg=$(head -c 150 "$D/out" | tr '\n' '|')
    printf '%-15s | %6.1f s | %-4s | %-22s | %s\n' "$1" "$t" "$rc" "$played" "${msg:-(nothing: it played on)}"
    lines=$(grep -c . "$D/out")
    if [ "$rc" != "$2" ] || { [ "$3" = all ] && [ "${played%% *}" != all ]; } ||
        { [ "$2" = 0 ] && [ "$lines" -ne 0 ]; } || { [ "$2" = 1 ] && [ "$lines" -ne 1 ]; }; then
        echo "FAIL alsa $1: exit $rc (want $2), played $played, $lines line(s) of output"
        bad=$((bad + 1))
    fi
done
echo "alsa faults: $bad failed"
[ $bad -eq 0 ]
