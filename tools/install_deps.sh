#!/bin/sh
# install_deps.sh: installs the Debian packages bark.c builds, tests and cross-builds with (idempotent).
set -eu
PKGS="build-essential clang pkg-config libopenblas-dev libsndfile1-dev libasound2-dev libcmocka-dev
libsamplerate0-dev zlib1g-dev libcjson-dev libmicrohttpd-dev libsqlite3-dev libmosquitto-dev mosquitto mosquitto-clients libavahi-client-dev python3-venv valgrind curl jq qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross alsa-utils"
missing=""
for p in $PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && { echo "deps: all installed"; exit 0; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
