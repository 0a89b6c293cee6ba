#!/bin/sh
# download.sh: fetches suno/bark-small (default) or suno/bark from the Hugging Face hub, or with `hubert` the weights
# voice cloning needs (facebook/hubert-base-ls960 and gitmylo's semantic quantizer); checks every file against the
# hash the hub records for it (and a pinned sha256 where models/hubert.sha256 has one), and converts the files to
# one model file for bark.
set -eu

usage() {
    cat <<USAGE
usage: models/download.sh [bark-small|bark|hubert] [--type q8_0|q4_0|f16|f32|q8_0_attn_f16] [--revision REV] [--dest DIR]

Downloads into DIR/hub/<repo>/ (resumable; files already there are checked, not fetched again),
verifies each file (sha256 for large files, the git blob hash for small ones), then writes
DIR/<model>.gguf with \`bark convert\`. DIR defaults to this script's folder (models/).
bark-small: about 1.7 GB to download, about 0.6 GB after conversion (q8_0).
bark:       about 5 GB to download, about 1.5 GB after conversion (q8_0).
hubert:     for \`bark clone\` and \`bark voices add\`: facebook/hubert-base-ls960 (Apache-2.0; config.json and
            the weights, about 380 MB) and quantifier_hubert_base_ls960_14.pth of
            GitMylo/bark-voice-cloning-HuBERT-quantizer (MIT), converted (f16 unless --type) to DIR/hubert.gguf,
            which bark finds beside the model file. Files listed in models/hubert.sha256 must match it too.
Environment: BARK_HUB (default https://huggingface.co), BARK_BIN (default build/bark),
BARK_PINS (default models/hubert.sha256: "<sha256>  <repo>/<file>" lines).
USAGE
}

here=$(cd "$(dirname "$0")" && pwd)
model=bark-small type= rev=main dest=$here
while [ $# -gt 0 ]; do
    case "$1" in
    bark-small|bark|hubert) model=$1 ;;
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
pins=${BARK_PINS:-$here/hubert.sha256}
for tool in curl jq sha256sum sha1sum; do
    command -v $tool >/dev/null 2>&1 || { echo "download.sh: needs $tool (sudo apt-get install $tool)" >&2; exit 1; }
done
[ -x "$bark" ] || { echo "download.sh: $bark not found; run make first (or set BARK_BIN)" >&2; exit 1; }

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

# pinned REPO/PATH: the sha256 models/hubert.sha256 (BARK_PINS) pins for that file, or nothing.
pinned() {
    [ -f "$pins" ] || return 0
    awk -v f="$1" '$1 !~ /^#/ && $2 == f {print $1; exit}' "$pins"
}

# fetch REPO JQ_SELECT: the files of REPO at $rev that JQ_SELECT (a jq condition on a file entry, $st true when the
# repo has safetensors weights) keeps, downloaded into $dest/hub/REPO and checked; their CHECKSUMS written there.
fetch() {
    repo=$1
    folder=$dest/hub/$repo
    mkdir -p "$folder"
    tree=$(curl -fsSL "$hub/api/models/$repo/tree/$rev?recursive=1") || {
        echo "download.sh: cannot list $repo at $hub (offline?)" >&2; exit 1; }
    list=$(printf '%s' "$tree" | jq -r "
        [.[] | select(.type == \"file\")] as \$f
        | (\$f | map(.path) | any(. == \"model.safetensors\" or . == \"model.safetensors.index.json\")) as \$st
        | \$f[] | select($2)
        | [.path, (.size | tostring), (if .lfs then \"sha256:\" + .lfs.oid else \"git:\" + .oid end)] | @tsv")
    [ -n "$list" ] || { echo "download.sh: $repo lists no model files at revision $rev" >&2; exit 1; }
    total=$(printf '%s\n' "$list" | awk -F '\t' '{s += $2} END {printf "%.2f", s / 1e9}')
    echo "download.sh: $repo@$rev: $(printf '%s\n' "$list" | wc -l) files, $total GB, into $folder"
    printf '%s\n' "$list" | while IFS="$(printf '\t')" read -r path size hash; do
        case "$path" in /*|*..*) echo "download.sh: refusing unsafe path '$path'" >&2; exit 1 ;; esac
        out=$folder/$path
        pin=$(pinned "$repo/$path")
        if ok "$out" "$size" "$hash" && { [ -z "$pin" ] || [ "$(sha256sum "$out" | cut -d' ' -f1)" = "$pin" ]; }; then
            continue
        fi
        mkdir -p "$(dirname "$out")"
        echo "  $path ($size bytes)"
        curl -fL --retry 3 -C - -o "$out.part" "$hub/$repo/resolve/$rev/$path" || {
            echo "download.sh: download of $path failed; run again to resume" >&2; exit 1; }
        if ! ok "$out.part" "$size" "$hash"; then
            rm -f "$out.part"
            echo "download.sh: $path does not match the hub's checksum ($hash); removed, run again" >&2
            exit 1
        fi
        if [ -n "$pin" ] && [ "$(sha256sum "$out.part" | cut -d' ' -f1)" != "$pin" ]; then
            rm -f "$out.part"
            echo "download.sh: $repo/$path does not match the pinned sha256 $pin ($pins); removed" >&2
            exit 1
        fi
        [ -n "$pin" ] || [ "$model" != hubert ] || echo "  note: $repo/$path has no pin in $pins: checked against the hub's record only"
        mv "$out.part" "$out"
    done
    printf '%s\n' "$list" | awk -F '\t' '{print $3 "  " $1}' > "$folder/CHECKSUMS"
}

if [ "$model" = hubert ]; then
    hubert=facebook/hubert-base-ls960 quant=GitMylo/bark-voice-cloning-HuBERT-quantizer
    qfile=quantifier_hubert_base_ls960_14.pth
    fetch $hubert '(.path == "config.json")
        or ($st and (.path | test("^model(-[0-9]+-of-[0-9]+)?\\.safetensors(\\.index\\.json)?$")))
        or (($st | not) and .path == "pytorch_model.bin")'
    fetch $quant ".path == \"$qfile\""
    gguf=$dest/hubert.gguf
    "$bark" convert "$dest/hub/$hubert" "$dest/hub/$quant/$qfile" -o "$gguf" --type "${type:-f16}"
    echo "download.sh: wrote $gguf ($(du -h "$gguf" | cut -f1)); \`bark clone\` and \`bark voices add\` use it when it is beside the model file, or give --hubert $gguf"
    exit 0
fi

# The files a conversion needs: configs, weights (safetensors preferred), vocab, speaker embeddings.
fetch suno/$model '(.path | test("^(config|generation_config|speaker_embeddings_path)\\.json$|^vocab\\.txt$"))
        or (.path | test("^speaker_embeddings/.*\\.npy$"))
        or ($st and (.path | test("^model(-[0-9]+-of-[0-9]+)?\\.safetensors(\\.index\\.json)?$")))
        or (($st | not) and (.path | test("^pytorch_model(-[0-9]+-of-[0-9]+)?\\.bin(\\.index\\.json)?$")))'
gguf=$dest/$model.gguf
"$bark" convert "$dest/hub/suno/$model" -o "$gguf" --type "${type:-q8_0}"
echo "download.sh: wrote $gguf ($(du -h "$gguf" | cut -f1)); bark uses it by default for bark-small, or set BARK_MODEL=$gguf"
