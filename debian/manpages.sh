#!/bin/sh
# manpages.sh: bark.1 and bark-COMMAND.1 for each subcommand `bark --help` lists, made by help2man from --help.
# Usage: sh debian/manpages.sh BUILD/bark OUTDIR
set -eu
bark=$(readlink -f "$1"); out=$2
mkdir -p "$out/wrap"
version=$("$bark" --version | sed -n 's/^bark //p')
help2man -N --no-discard-stderr --version-string="$version" -n "Bark text-to-speech on the CPU" \
    -o "$out/bark.1" "$bark"
# Each command's line in `bark --help`: two spaces, the name, the description.
"$bark" --help | sed -n 's/^  \([a-z][a-z-]*\)  *\(.*\)$/\1 \2/p' | while read -r cmd what; do
    printf '#!/bin/sh\nexec %s %s "$@"\n' "$bark" "$cmd" > "$out/wrap/bark-$cmd"
    chmod +x "$out/wrap/bark-$cmd"
    help2man -N --no-discard-stderr --version-string="$version" -n "$what" -o "$out/bark-$cmd.1" "$out/wrap/bark-$cmd"
done
