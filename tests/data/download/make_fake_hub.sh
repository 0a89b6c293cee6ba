#!/bin/sh
# make_fake_hub.sh SRC_FOLDER HUB_DIR [REPO]: lays SRC_FOLDER out as the hub would serve REPO (suno/bark-small) over
# file:// (api/models/<repo>/tree/main listing with git blob hashes and LFS sha256, files under <repo>/resolve/main/).
set -eu
src=$1 hub=$2 repo=${3:-suno/bark-small}
mkdir -p "$hub/api/models/$repo/tree" "$hub/$repo/resolve/main"
cp -r "$src"/. "$hub/$repo/resolve/main/"
cd "$src"
first=1
{
    printf '['
    find . -type f | sed 's|^\./||' | sort | while read -r f; do
        size=$(wc -c < "$f" | tr -d ' ')
        oid=$( (printf 'blob %s\0' "$size"; cat "$f") | sha1sum | cut -d' ' -f1)
        [ "$first" = 1 ] || printf ','
        first=0
        case "$f" in
        *.safetensors|*.bin|*.pth) printf '{"type":"file","oid":"%s","size":%s,"path":"%s","lfs":{"oid":"%s","size":%s}}' \
            "$oid" "$size" "$f" "$(sha256sum "$f" | cut -d' ' -f1)" "$size" ;;
        *) printf '{"type":"file","oid":"%s","size":%s,"path":"%s"}' "$oid" "$size" "$f" ;;
        esac
    done
    printf ',{"type":"directory","oid":"0","size":0,"path":"speaker_embeddings"}]'
} > "$hub/api/models/$repo/tree/main"
