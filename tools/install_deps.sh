#!/bin/sh
# install_deps.sh: installs the Debian packages bark.c builds, tests, cross-builds and packages with (idempotent).
set -eu
PKGS="build-essential clang pkg-config libopenblas-dev libsndfile1-dev libasound2-dev libcmocka-dev
libsamplerate0-dev zlib1g-dev libcjson-dev libmicrohttpd-dev libsqlite3-dev libmosquitto-dev mosquitto
mosquitto-clients libavahi-client-dev python3-venv valgrind curl jq qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross alsa-utils
debhelper help2man lintian fakeroot"
# The same -dev packages for arm64 (Debian multiarch), for `make arm64` / `make test-arm64`: one name per library the
# Makefile links (a new library is one more name here).
ARM64_PKGS="libsndfile1-dev libasound2-dev libopenblas-dev libsamplerate0-dev zlib1g-dev libcjson-dev libcmocka-dev
libmicrohttpd-dev libsqlite3-dev libmosquitto-dev libavahi-client-dev"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
native=$(dpkg --print-architecture)
missing=""; missing_arm64=""
for p in $PKGS; do   # a library installed for two architectures is named with its own
    dpkg -s "$p" >/dev/null 2>&1 || dpkg -s "$p:$native" >/dev/null 2>&1 || missing="$missing $p"
done
for p in $ARM64_PKGS; do
    dpkg -s "$p:arm64" >/dev/null 2>&1 || missing_arm64="$missing_arm64 $p:arm64"
done
[ -z "$missing$missing_arm64" ] && { echo "deps: all installed"; exit 0; }
echo "deps: installing$missing$missing_arm64"
$SUDO apt-get update -qq
[ -z "$missing" ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
[ -z "$missing_arm64" ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing_arm64
