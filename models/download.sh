#!/bin/sh
# download.sh: fetches suno/bark-small (default) or suno/bark from the Hugging Face hub, checks every file
# against the hash the hub records for it, and converts the folder to one q8_0 model file for bark.
set -eu

usage() {
    cat <<USAGE
usage: models/download.sh [bark-small|bark] [--type q8_0|q4_0|f16|f32] [--revision REV] [--dest DIR]

Downloads into DIR/hub/suno/<model>/ (resumable; files already there are checked, not fetched again),
verifies each file (sha256 for large files, the git blob hash for small ones), then writes
DIR/<model>.gguf with \`bark convert\`. DIR defaults to this script's folder (models/).
bark-small: about 1.7 GB to download, about 0.5 GB after conversion (q8_0).
bark:       about 5 GB to download, about 1.5 GB after conversion (q8_0).
Environment: BARK_HUB (default https://huggingface.co), BARK_BIN (default build/bark).
USAGE
}

here=$(cd "$(dirname "$0")" && pwd)
model=bark-small type=q8_0 rev=main dest=$here
while [ $# -gt 0 ]; do
    case "$1" in
    bark-small|bark) model=$1 ;;
    --type) type=${2:?--type needs a value}; shift ;;
    --revision) rev=${2:?--revision needs a value}; shift ;;
    --dest) dest=${2:?--dest needs a value}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "download.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
hub=${BARK_HUB:-https://huggingface.co}
bark=${BARK_BIN:-$here/../build/bark}
repo=suno/$model
for tool in curl jq sha256sum sha1sum; do
    command -v $tool >/dev/null 2>&1 || { echo "download.sh: needs $tool (sudo apt-get install $tool)" >&2; exit 1; }
done
[ -x "$bark" ] || { echo "download.sh: $bark not found; run make first (or set BARK_BIN)" >&2; exit 1; }

folder=$dest/hub/$repo
mkdir -p "$folder"
tree=$(curl -fsSL "$hub/api/models/$repo/tree/$rev?recursive=1") || {
    echo "download.sh: cannot list $repo at $hub (offline?)" >&2; exit 1; }

# The files a conversion needs: configs, weights (safetensors preferred), vocab, speaker embeddings.
list=$(printf '%s' "$tree" | jq -r '
    [.[] | select(.type == "file")] as $f
    | ($f | map(.path) | any(. == "model.safetensors" or . == "model.safetensors.index.json")) as $st
    | $f[] | select(
        (.path | test("^(config|generation_config|speaker_embeddings_path)\\.json$|^vocab\\.txt$"))
        or (.path | test("^speaker_embeddings/.*\\.npy$"))
        or ($st and (.path | test("^model(-[0-9]+-of-[0-9]+)?\\.safetensors(\\.index\\.json)?$")))
        or (($st | not) and (.path | test("^pytorch_model(-[0-9]+-of-[0-9]+)?\\.bin(\\.index\\.json)?$"))))
    | [.path, (.size | tostring), (if .lfs then "sha256:" + .lfs.oid else "git:" + .oid end)] | @tsv')
[ -n "$list" ] || { echo "download.sh: $repo lists no model files at revision $rev" >&2; exit 1; }
total=$(printf '%s\n' "$list" | awk -F '\t' '{s += $2} END {printf "%.2f", s / 1e9}')
echo "download.sh: $repo@$rev: $(printf '%s\n' "$list" | wc -l) files, $total GB, into $folder"

# ok PATH SIZE HASH: the file matches the hub's record (sha256 of LFS files, git blob sha1 otherwise).
ok() {
    [ -f "$1" ] || return 1
    [ "$(wc -c < "$1" | tr -d ' ')" = "$2" ] || return 1
    case "$3" in
    sha256:*) [ "$(sha256sum "$1" | cut -d' ' -f1)" = "${3#sha256:}" ] ;;
    git:*) [ "$( (printf 'blob %s\0' "$2"; cat "$1") | sha1sum | cut -d' ' -f1)" = "${3#git:}" ] ;;
    *) return 1 ;;
    esac
}

printf '%s\n' "$list" | while IFS="$(printf '\t')" read -r path size hash; do
    case "$path" in /*|*..*) echo "download.sh: refusing unsafe path '$path'" >&2; exit 1 ;; esac
    out=$folder/$path
    if ok "$out" "$size" "$hash"; then continue; fi
    mkdir -p "$(dirname "$out")"
    echo "  $path ($size bytes)"
    curl -fL --retry 3 -C - -o "$out.part" "$hub/$repo/resolve/$rev/$path" || {
        echo "download.sh: download of $path failed; run again to resume" >&2; exit 1; }
    if ! ok "$out.part" "$size" "$hash"; then
        rm -f "$out.part"
        echo "download.sh: $path does not match the hub's checksum ($hash); removed, run again" >&2
        exit 1
    fi
    mv "$out.part" "$out"
done
printf '%s\n' "$list" | awk -F '\t' '{print $3 "  " $1}' > "$folder/CHECKSUMS"

gguf=$dest/$model.gguf
"$bark" convert "$folder" -o "$gguf" --type "$type"
echo "download.sh: wrote $gguf ($(du -h "$gguf" | cut -f1)); bark uses it by default for bark-small, or set BARK_MODEL=$gguf"
