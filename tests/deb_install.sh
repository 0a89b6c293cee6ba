#!/bin/sh
# deb_install.sh: builds the Debian packages (bark, libbark0, libbark-dev) from a copy of the tree, runs lintian,
# installs them with apt, runs `bark --version` and a tiny end-to-end from the installed files, then removes them.
# Usage: sh tests/deb_install.sh [OUTDIR]   (.debs, lintian.txt and the transcript stay in OUTDIR, default build/deb)
set -eu
out=$(readlink -f "${1:-build/deb}")
rm -rf "$out"; mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src="$tmp/bark"
mkdir -p "$src"
# The tracked (and new, unignored) files only: no build directory goes into the package build.
git ls-files -z --cached --others --exclude-standard | (cd "$src" && xargs -0 -I{} sh -c 'test -e "$0/{}" && mkdir -p "$(dirname "{}")" && cp -p "$0/{}" "{}"' "$OLDPWD")
start=$(date +%s)
(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b) > "$out/build.log" 2>&1 \
    || { tail -30 "$out/build.log"; echo "deb: dpkg-buildpackage failed (log: $out/build.log)"; exit 1; }
echo "deb: built in $(($(date +%s) - start)) s"
mv "$tmp"/*.deb "$tmp"/*.changes "$tmp"/*.buildinfo "$out"/
for d in "$out"/*.deb; do echo "== $(basename "$d")"; dpkg -c "$d" | awk '{print $1, $6, $7, $8}'; done
lintian -I "$out"/*.changes > "$out/lintian.txt" 2>&1 || true
echo "== lintian"; cat "$out/lintian.txt"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$out"/bark_*.deb "$out"/libbark0_*.deb "$out"/libbark-dev_*.deb \
    > "$out/install.log" 2>&1 || { cat "$out/install.log"; echo "deb: apt install failed"; exit 1; }
fail=0
run() { echo "\$ $*"; "$@" || { echo "deb: FAILED: $*"; fail=1; }; }
run /usr/bin/bark --version
run /usr/bin/bark convert tests/data/tiny/hf -o "$tmp/tiny.gguf"
run /usr/bin/bark say -q -m "$tmp/tiny.gguf" -s 7 --max-seconds 1 -o "$tmp/x.wav" "hello from the package"
run test -s "$tmp/x.wav"
run pkg-config --exists libbark
run cc examples/speak.c $(pkg-config --cflags --libs libbark) -o "$tmp/speak"
run man -w bark-say
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq --purge bark libbark0 libbark-dev > "$out/remove.log" 2>&1 \
    || { cat "$out/remove.log"; fail=1; }
run test ! -e /usr/bin/bark
[ "$fail" -eq 0 ] && echo "deb: installed, ran and removed" || { echo "deb: FAILED"; exit 1; }
