#!/bin/sh
# check_exports.sh: libbark.so and the installable libbark.a export exactly the BARK_API functions of bark.h.
cd "$(dirname "$0")/.." || exit 1
b=${BUILD:-build}
so=$b/libbark.so
ar=$b/dist/libbark.a
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0

# check NAME: passes when the check's complaints ($tmp/bad) are empty, else prints them.
check() {
    if [ -s "$tmp/bad" ]; then fail=$((fail + 1)); echo "FAILED: $1"; sed 's/^/    /' "$tmp/bad"
    else pass=$((pass + 1)); echo "ok: $1"; fi
}

sed -n 's/^BARK_API[^(]*[^a-z0-9_(]\(bark_[a-z0-9_]*\)(.*/\1/p' include/bark.h | sort > "$tmp/declared"
nm -D --defined-only "$so" | awk '{print $NF}' | sort > "$tmp/so"
nm --defined-only --extern-only "$ar" | awk 'NF == 3 {print $3}' | sort > "$tmp/ar"
major=$(sed -n 's/^.define BARK_VERSION_MAJOR \([0-9]*\).*/\1/p' include/bark.h)
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')

for f in declared so ar; do [ -s "$tmp/$f" ] || echo "no names in the $f list"; done > "$tmp/bad"
check "bark.h declares BARK_API functions; $so and $ar define symbols"
grep -v '^bark_' "$tmp/so" > "$tmp/bad"
check "$so exports only bark_* symbols"
{ comm -23 "$tmp/declared" "$tmp/so" | sed 's/^/declared, not exported: /'
  comm -13 "$tmp/declared" "$tmp/so" | sed 's/^/exported, not declared: /'; } > "$tmp/bad"
check "$so exports exactly the BARK_API functions of include/bark.h"
{ [ "$soname" = "libbark.so.$major" ] || echo "soname: '$soname'"; } > "$tmp/bad"
check "$so has the soname libbark.so.$major"
grep -v '^bark_' "$tmp/ar" > "$tmp/bad"
check "$ar exports only bark_* symbols"
comm -3 "$tmp/so" "$tmp/ar" > "$tmp/bad"
check "$ar exports what $so does"

echo "[  PASSED  ] $pass test(s)."
[ "$fail" -eq 0 ] || { echo "[  FAILED  ] $fail test(s)."; exit 1; }
