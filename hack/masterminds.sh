#!/usr/bin/env bash
# Builds hack/masterminds, a small Go program that resolves version constraints with
# github.com/Masterminds/semver/v3 v3.5.0 (the library upstream resolves
# spec.distribution.version with), for tests/masterminds.rs to compare our resolver against.
#
#   hack/masterminds.sh        build once into the cache, print the binary's path
#
# The module comes from the Go module proxy; the binary is cached outside the clone, keyed
# by a hash of the program's files, under
# ${FLUX_OPERATOR_RS_CACHE:-~/.cache/flux-operator-rs}/masterminds/<hash>/masterminds.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module="$here/masterminds"
cache_root=${FLUX_OPERATOR_RS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flux-operator-rs}
module_hash=$(cat "$module/go.mod" "$module/go.sum" "$module"/*.go | sha256sum | cut -c1-12)
dest="$cache_root/masterminds/$module_hash/masterminds"

log() { echo "masterminds: $*" >&2; }

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
