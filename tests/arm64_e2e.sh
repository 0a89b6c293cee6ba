#!/bin/sh
# arm64_e2e.sh: the arm64 build under qemu-aarch64 as a Pi 4 and a Pi 5, end to end against the x86 build.
# Usage: ARM64_BUILD=build-arm64 SUITES="test_quant ..." sh tests/arm64_e2e.sh X86_BUILD
# The tiny model is converted (q8_0) by both builds and must be byte-identical; `bark say -o` with a fixed seed on
# the int8 path (BARK_GEMM=int8) must give the same WAV on x86, on a Cortex-A72 (NEON kernels) and on a Cortex-A76
# (NEON dotprod kernels); then the cmocka suites in SUITES run under qemu on both CPUs. Ends with "N passed, N failed".
set -u
x86=${1:-build}
arm=${ARM64_BUILD:-build-arm64}
suites=${SUITES:-}
seed=${SEED:-7}
text="hello from the board"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { # check NAME CONDITION-EXIT-CODE
    if [ "$2" -eq 0 ]; then pass=$((pass + 1)); echo "ok   $1"; else fail=$((fail + 1)); echo "FAIL $1"; fi
}
# The dynamic loader and the arm64 libraries come from Debian's multiarch packages, so / is the sysroot.
export QEMU_LD_PREFIX=/
qemu_cpu() { cpu=$1; shift; qemu-aarch64 -cpu "$cpu" "$@"; }

"$x86/bark" convert tests/data/tiny/hf -o "$tmp/tiny.gguf" --type q8_0 >/dev/null 2>&1
check "x86 converts the tiny model" $?
qemu_cpu cortex-a72 "$arm/bark" convert tests/data/tiny/hf -o "$tmp/tiny-arm64.gguf" --type q8_0 >/dev/null 2>&1
check "arm64 converts the tiny model" $?
cmp -s "$tmp/tiny.gguf" "$tmp/tiny-arm64.gguf"
check "the two conversions are byte-identical" $?

say() { # say TAG [qemu -cpu CPU]: tiny-model WAV with the fixed seed, its sha256 printed with TAG and the kernels used
    tag=$1; shift
    start=$(date +%s)
    BARK_GEMM=int8 "$@" say -m "$tmp/tiny.gguf" -s "$seed" --max-seconds 2 -t 2 --verbose -o "$tmp/$tag.wav" "$text" \
        > "$tmp/$tag.log" 2>&1
    rc=$?
    kernels=$(sed -n 's/.* threads, \([a-z0-9 -]*\) kernels.*/\1/p' "$tmp/$tag.log")
    echo "$tag: $(sha256sum < "$tmp/$tag.wav" 2>/dev/null | cut -d' ' -f1) ($kernels kernels, $(($(date +%s) - start)) s)"
    [ "$rc" -eq 0 ] || cat "$tmp/$tag.log"
    return "$rc"
}
say x86 "$x86/bark"
check "x86 bark say" $?
say rpi4 qemu-aarch64 -cpu cortex-a72 "$arm/bark"
check "rpi4 (cortex-a72) bark say" $?
grep -q ' neon kernels' "$tmp/rpi4.log"
check "rpi4 runs the NEON kernels (no dotprod)" $?
say rpi5 qemu-aarch64 -cpu cortex-a76 "$arm/bark"
check "rpi5 (cortex-a76) bark say" $?
grep -q 'dotprod kernels' "$tmp/rpi5.log"
check "rpi5 runs the NEON dotprod kernels" $?
cmp -s "$tmp/x86.wav" "$tmp/rpi4.wav"
check "rpi4 WAV is bit-identical to x86's" $?
cmp -s "$tmp/x86.wav" "$tmp/rpi5.wav"
check "rpi5 WAV is bit-identical to x86's" $?

# The cmocka suites through tests/run.sh, each wrapped to run under qemu on one CPU.
wrappers=""
for cpu in cortex-a72 cortex-a76; do
    mkdir -p "$tmp/$cpu"
    for s in $suites; do
        printf '#!/bin/sh\nexec qemu-aarch64 -cpu %s %s/%s/tests/%s\n' "$cpu" "$PWD" "$arm" "$s" > "$tmp/$cpu/$s"
        chmod +x "$tmp/$cpu/$s"
        wrappers="$wrappers $tmp/$cpu/$s"
    done
done
if [ -n "$wrappers" ]; then
    out=$(BUILD="$arm" sh tests/run.sh $wrappers 2>&1)
    printf '%s\n' "$out" | grep -E '^\[==========\]|FAILED|crashed'
    line=$(printf '%s\n' "$out" | tail -1)
    pass=$((pass + ${line%% passed*}))
    f=${line#*passed, }; fail=$((fail + ${f%% failed*}))
fi
echo "arm64: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
