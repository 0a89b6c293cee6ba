#!/usr/bin/env bash
# run.sh: fails the Nth allocation / I/O call of real `bark` runs for every N (tests/fault/fault_shim.c) and checks each end.
# usage: tests/fault/run.sh [-b BUILD] [-s STRIDE] [-k alloc,io] [PATH...]   (paths: info convert say decode clone serve)
# Every run must end with the unfaulted run's output, or exit 1 with ONE line on stderr and no output file (nor a
# temporary one) left; never a signal, another exit code, or a sanitizer report. STRIDE > 1 samples every STRIDE-th
# N (with an offset that changes from run to run, printed, so a CI run covers other points than the last).
# The summary line per path and kind: "faults PATH KIND: N points (of C calls), ok" or the failures with their repro.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
STRIDE=1
KINDS="alloc io"
while getopts b:s:k: o; do
    case $o in
    b) BUILD=$OPTARG ;;
    s) STRIDE=$OPTARG ;;
    k) KINDS=${OPTARG//,/ } ;;
    *) echo "usage: $0 [-b BUILD] [-s STRIDE] [-k alloc,io] [PATH...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
PATHS=${*:-info convert say decode clone serve}
BARK=$PWD/$BUILD/bark
SHIM=$PWD/$BUILD/tests/fault_shim.so
[ -x "$BARK" ] && [ -f "$SHIM" ] || { echo "run.sh: build $BARK and $SHIM first (make test-faults)" >&2; exit 2; }
command -v curl >/dev/null || { echo "run.sh: needs curl" >&2; exit 2; }
W=$(mktemp -d /tmp/bark-faults.XXXXXX)
trap 'rm -rf "$W"' EXIT
IN=$W/in OUT=$W/out
mkdir -p "$IN" "$OUT"
# An ASan build (gcc: the runtime is a shared library the shim can sit in front of) reports leaks at exit.
export ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=halt_on_error=1:exitcode=98

# ---- inputs, made once without faults ----
"$BARK" convert -q tests/data/tiny/hf -o "$IN/tiny.gguf" ||
    { echo "run.sh: cannot convert the tiny model" >&2; exit 1; }
"$BARK" convert tests/data/hubert/tiny_hf tests/data/hubert/quant_v1.pth -o "$IN/hub.gguf" >/dev/null 2>&1 ||
    { echo "run.sh: cannot convert the tiny HuBERT" >&2; exit 1; }
"$BARK" say -q -s 3 -t 1 -m "$IN/tiny.gguf" -o "$IN/ref.wav" "A short reference." &&
    "$BARK" tokens -q -s 3 -t 1 -m "$IN/tiny.gguf" -d "$IN/codes" "Codes." >/dev/null ||
    { echo "run.sh: cannot make the inputs" >&2; exit 1; }

# ---- the paths: each writes its result (stdout or a file) into $OUT ----
# bark under the shim (only bark: not curl nor the shell's tools), failing call $FN of kind $FK counted from the first
# open of a path containing $FA; a run still going after $LIMIT s (a hang) is stopped and fails as one
LIMIT=${BARK_FAULT_RUN_LIMIT:-300}
shim_exec() {
    exec timeout "$LIMIT" env LD_PRELOAD="$SHIM" BARK_FAULT_KIND="$FK" BARK_FAULT_N="$FN" BARK_FAULT_AFTER="$FA" \
        BARK_FAULT_LOG="$W/log" "$BARK" "$@"
}
bark_f() { (shim_exec "$@"); }
path_info() { bark_f info "$IN/tiny.gguf" > "$W/stdout"; }
path_convert() { bark_f convert -q tests/data/tiny/hf -o "$OUT/m.gguf" > "$W/stdout"; }
path_say() { bark_f say -q -s 1 -t 1 -m "$IN/tiny.gguf" -o "$OUT/o.wav" "Hello there." > "$W/stdout"; }
path_decode() { bark_f decode -q -m "$IN/tiny.gguf" "$IN/codes/fine.npy" -o "$OUT/d.wav" > "$W/stdout"; }
path_clone() {
    bark_f clone -q -t 1 --max-seconds 2 -m "$IN/tiny.gguf" --hubert "$IN/hub.gguf" "$IN/ref.wav" -o "$OUT/v.npz" \
        > "$W/stdout"
}
# The server under the shim, curl as its client: the reply (status and body) is the output. The server's own
# messages are many lines; the check is that it answered or stopped cleanly.
path_serve() {
    local port=$((20000 + RANDOM % 20000)) i code
    (shim_exec serve -t 1 --no-speaker --no-cache -m "$IN/tiny.gguf" --port $port) > "$W/stdout" 2> "$W/serve.err" &
    local pid=$!
    for i in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/health" && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 $pid 2>/dev/null; then
        code=$(curl -s -m 60 -o "$OUT/reply" -w '%{http_code}' -H 'Content-Type: application/json' \
            -d '{"model":"bark","input":"Hello there.","voice":"v2/en_speaker_0","seed":1,"response_format":"wav"}' \
            "http://127.0.0.1:$port/v1/audio/speech")
        local crc=$?
        echo "$code" > "$OUT/status"
        [ $crc -eq 0 ] || echo "curl-error-$crc" >> "$OUT/status" # a stream cut short: the client sees the error
        # the server lives on: /health answers (twice at most: the fault may hit the first)
        curl -s -m 5 -o /dev/null "http://127.0.0.1:$port/health" || curl -s -m 5 -o /dev/null \
            "http://127.0.0.1:$port/health" || echo "health-failed-after" >> "$OUT/status"
        kill -TERM $pid
    fi
    wait $pid
    local rc=$?
    # a request that failed is fine (5xx with a JSON error, the connection dropped by libmicrohttpd when it could not
    # allocate one, or a stream cut short, which curl reports: error 18) if the server answers the next: the reply
    # is then not compared
    if [ -f "$OUT/status" ] && { { [ "$(head -c1 "$OUT/status")" = 5 ] && grep -q '"error"' "$OUT/reply"; } ||
        [ "$(head -1 "$OUT/status")" = 000 ] || { grep -q '^curl-error-18$' "$OUT/status" && [ "$(head -c1 "$OUT/status")" = 2 ]; }; }; then
        rm -f "$OUT/reply" "$OUT/status"
        : > "$OUT/failed-cleanly"
    fi
    cat "$W/serve.err" >&2
    [ $rc -eq 0 ] && [ ! -f "$OUT/status" ] && return 1 # it stopped by itself before answering: an error
    return $rc
}

# ---- one run under the shim ----
run_one() { # path kind n -> rc; stderr in $W/stderr
    rm -rf "$OUT" "$W/log" "$W/stdout"
    mkdir -p "$OUT"
    FK=$2 FN=$3 FA=$IN/ # counting starts at the first input opened
    [ "$1" = convert ] && FA=tests/data/tiny/hf
    "path_$1" 2> "$W/stderr"
}

snapshot() { (cd "$OUT" && find . -type f | sort | xargs -r md5sum); md5sum < "$W/stdout"; }

total_fail=0
for p in $PATHS; do
    for k in $KINDS; do
        run_one "$p" "$k" 0
        rc=$?
        if [ $rc -ne 0 ]; then
            echo "faults $p $k: the run without a fault failed (exit $rc$([ $rc -eq 124 ] && echo ": still running after $LIMIT s")):"
            cat "$W/stderr"; total_fail=$((total_fail + 1)); continue
        fi
        ref=$(snapshot)
        calls=$(sed -n 's/^count //p' "$W/log" | tail -1)
        off=$(( STRIDE > 1 ? RANDOM % STRIDE : 0 ))
        n=$((1 + off)) points=0 bad=0 rt=0 dep=0 sf=0 unreached=0
        while :; do
            run_one "$p" "$k" "$n"
            rc=$?
            fired=$(grep -m1 '^fired' "$W/log" 2>/dev/null)
            if [ -z "$fired" ]; then # the run completed without reaching N
                [ "$n" -gt "${calls:-0}" ] && break
                # a server's count varies from run to run (its threads, the client's polls): go on to the unfaulted
                # run's count
                unreached=$((unreached + 1)) n=$((n + STRIDE))
                continue
            fi
            points=$((points + 1))
            why=""
            if grep -q 'CHECK failed: sanitizer_linux_libcdep.*pthread_getattr_np' "$W/stderr"; then
                # the sanitizer's own thread start-up, given libc's failed allocation: not bark's code (the plain
                # build runs these points; see the summary)
                rt=$((rt + 1))
            elif [ $rc -eq 134 ] && grep -q 'write libmicrohttpd.* MHD_stop_daemon' "$W/log"; then
                # libmicrohttpd aborts (MHD_PANIC) when the write to wake its own threads at stop fails: a limit of
                # the dependency (its eventfd cannot run out of room), counted apart
                dep=$((dep + 1))
            elif grep -q '^fired [0-9]* calloc libsndfile' "$W/log" && { [ $rc -eq 139 ] || { grep -q \
                'AddressSanitizer: SEGV on unknown address 0x0' "$W/stderr" &&
                grep -m1 '^ *#0 ' "$W/stderr" | grep -q 'libsndfile\.so'; }; }; then
                # libsndfile (1.2.0, chunk.c psf_store_read_chunk_u32) sets its chunk log's count before its calloc,
                # and when that calloc fails the next chunk of the header is stored through the NULL: a segmentation
                # fault inside sf_open_virtual on any file of two chunks or more, which no caller can prevent. Counted
                # apart (test_sndfile_read_alloc_fails_cleanly in tests/test_faults.c shows the points)
                sf=$((sf + 1))
            elif grep -qE 'Sanitizer|runtime error:' "$W/stderr"; then why="sanitizer report"
            elif [ $rc -eq 124 ]; then why="still running after $LIMIT s (a hang): stopped"
            elif [ $rc -ge 128 ]; then why="signal $((rc - 128))"
            elif [ $rc -eq 0 ]; then
                [ "$(snapshot)" = "$ref" ] || [ -f "$OUT/failed-cleanly" ] || why="exit 0 with a different output"
            elif [ $rc -ne 1 ]; then why="exit $rc"
            elif [ "$p" != serve ] && [ "$(grep -c . "$W/stderr")" -ne 1 ]; then why="$(grep -c . "$W/stderr") lines on stderr"
            elif [ "$p" != serve ] && [ -n "$(ls -A "$OUT")" ]; then why="left $(ls -A "$OUT" | tr '\n' ' ')"
            fi
            if [ -n "$why" ]; then
                bad=$((bad + 1))
                echo "FAIL faults $p $k N=$n: $why; ${fired:-not fired}"
                echo "  repro: BARK_FAULT_KIND=$k BARK_FAULT_N=$n tests/fault/run.sh (path $p)"
                sed 's/^/  | /' "$W/stderr" | head -15
                [ -f "$OUT/status" ] && echo "  reply: $(tr '\n' ' ' < "$OUT/status") $(head -c 200 "$OUT/reply" | tr -c '[:print:]' .)"
            fi
            n=$((n + STRIDE))
            [ $n -gt 200000 ] && break
        done
        echo "faults $p $k: $points points (of ${calls:-?} calls counted unfaulted, stride $STRIDE, offset $off), $bad failed$([ $rt -gt 0 ] && echo ", $rt in the sanitizer runtime's thread start")$([ $dep -gt 0 ] &&
            echo ", $dep libmicrohttpd panics at stop")$([ $sf -gt 0 ] && echo ", $sf libsndfile crashes on its own failed calloc")$([ $unreached -gt 0 ] && echo ", $unreached not reached by that run")"
        total_fail=$((total_fail + bad))
    done
done
echo "faults: $total_fail failed"
[ $total_fail -eq 0 ]
