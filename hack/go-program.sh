#!/usr/bin/env bash
# Builds one of the small Go programs under hack/ (a folder with its own go.mod, such as
# hack/masterminds or hack/gotemplate) that the differential tests run as oracles.
#
#   hack/go-program.sh NAME    build hack/NAME once into the cache, print the binary's path
#
# The modules come from the Go module proxy; the binary is cached outside the clone, keyed
# by a hash of the program's files, under
# ${FLUX_OPERATOR_RS_CACHE:-~/.cache/flux-operator-rs}/NAME/<hash>/NAME.
set -euo pipefail

name=${1:?usage: hack/go-program.sh NAME}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module="$here/$name"
[ -f "$module/go.mod" ] || { echo "$name: no Go module at $module" >&2; exit 1; }
cache_root=${FLUX_OPERATOR_RS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flux-operator-rs}
module_hash=$(cat "$module/go.mod" "$module/go.sum" "$module"/*.go | sha256sum | cut -c1-12)
dest="$cache_root/$name/$module_hash/$name"

log() { echo "$name: $*" >&2; }

if [ -x "$dest" ]; then
    echo "$dest"
    exit 0
fi
command -v go >/dev/null || { log "go is not installed (.ci/run installs it)"; exit 1; }
mkdir -p "$(dirname "$dest")"
log "building $module"
# A temporary name first, so that a concurrent caller never runs a half-written binary.
(cd "$module" && go build -trimpath -o "$dest.$$" .)
mv -f "$dest.$$" "$dest"
echo "$dest"
