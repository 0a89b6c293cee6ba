#!/bin/sh
# check_install.sh: `make install` and `make uninstall` honour DESTDIR and PREFIX; examples/speak.c builds against the
# installed files with pkg-config alone, shared and static, and runs (usage and a missing model: exit codes 2 and 1); the
# installed systemd unit passes `systemd-analyze verify` where that exists.
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mk() { ${MAKE:-make} --no-print-directory -s "$@" >/dev/null; }
v=$(sed -n 's/^.define BARK_VERSION "\(.*\)"/\1/p' include/bark.h)
want="bin/bark include/bark.h lib/libbark.a lib/libbark.so lib/libbark.so.0 lib/libbark.so.$v lib/pkgconfig/libbark.pc
lib/systemd/system/bark-serve.service share/bark"
# installed DIR: the files and folders `make install` leaves under DIR, one a line.
installed() { (cd "$1" && find . ! -type d -o -type d -empty | sed 's|^\./||' | sort); }
fail() { echo "check_install: $*"; exit 1; }

mk install DESTDIR="$tmp/stage" PREFIX=/opt/bark || fail "make install DESTDIR=... failed"
[ "$(installed "$tmp/stage/opt/bark")" = "$(printf '%s\n' $want | sort)" ] ||
    fail "installed under DESTDIR: $(installed "$tmp/stage/opt/bark" | tr '\n' ' ')"
grep -qx 'prefix=/opt/bark' "$tmp/stage/opt/bark/lib/pkgconfig/libbark.pc" || fail "libbark.pc: prefix is not /opt/bark"
mk uninstall DESTDIR="$tmp/stage" PREFIX=/opt/bark || fail "make uninstall failed"
left=$(find "$tmp/stage" ! -type d -o -path '*/share/bark')
[ -z "$left" ] || fail "left after uninstall: $left"

p=$tmp/prefix
mk install PREFIX="$p" DESTDIR= || fail "make install PREFIX=... failed"
unit=$p/lib/systemd/system/bark-serve.service
grep -qx "ExecStart=$p/bin/bark serve -m $p/share/bark/bark-small.gguf --host 127.0.0.1 --port 5002" "$unit" ||
    fail "bark-serve.service: ExecStart is not $p/bin/bark serve -m $p/share/bark/..."
if command -v systemd-analyze >/dev/null; then
    out=$(systemd-analyze verify --man=no "$unit" 2>&1) && [ -z "$out" ] || fail "systemd-analyze verify: $out"
    unit_check="bark-serve.service verified"
else
    unit_check="no systemd-analyze: bark-serve.service not verified"
fi
export PKG_CONFIG_PATH="$p/lib/pkgconfig"
# run NAME: speak without arguments exits 2, with a missing model 1.
run() {
    "$tmp/$1" >/dev/null 2>&1; [ $? -eq 2 ] || fail "$1 without arguments: not exit code 2"
    "$tmp/$1" "$tmp/none.gguf" "$tmp/out.wav" "Hello." 2>/dev/null; [ $? -eq 1 ] || fail "$1, missing model: not exit code 1"
}
cc examples/speak.c $(pkg-config --cflags --libs libbark) -o "$tmp/speak_shared" || fail "shared build failed"
export LD_LIBRARY_PATH="$p/lib"
run speak_shared
unset LD_LIBRARY_PATH
# Static: libbark.a and the libraries libbark.pc names (`pkg-config --static` would add sndfile's and openblas's own
# private libraries too, which Debian's -dev packages do not all bring: -lmp3lame, -lgfortran).
rm "$p"/lib/libbark.so*
deps="$(pkg-config --libs $(pkg-config --print-requires-private libbark)) $(sed -n 's/^Libs.private: //p' "$PKG_CONFIG_PATH/libbark.pc")"
cc examples/speak.c $(pkg-config --cflags --libs libbark) $deps -o "$tmp/speak_static" || fail "static build failed"
run speak_static
echo "check_install: ok (install, uninstall, speak built shared and static against $p; $unit_check)"
