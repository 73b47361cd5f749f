#!/usr/bin/env bash
# Builds the upstream Flux Operator binary (controlplaneio-fluxcd/flux-operator, AGPL-3.0)
# from its Go module, to run it as a black-box oracle in the parity tests. Its source is
# only compiled here, never read or copied into this repository.
#
#   hack/upstream-operator.sh [VERSION] [operator|cli]
#                                          build once into the cache, print the binary's path
#
# `operator` (the default) is ./cmd/operator, the controller; `cli` is ./cmd/cli, upstream's
# `flux-operator` command line, whose `build instance` renders a FluxInstance offline.
#
# VERSION defaults to v0.58.1. The binary is cached outside the clone under
# ${FLUX_OPERATOR_RS_CACHE:-~/.cache/flux-operator-rs}/upstream/<version>-<hash of this script>/,
# so CI's fresh clones reuse it. Only stdout carries the path. The binary needs
# GODEBUG=fips140=on at run time (the parity harness sets it).
#
# Three obstacles of building from the module download, each worked around here:
# - one pinned pseudo-version of go-containerregistry's authn/kubernetes module is not
#   served by the module proxy: a replace points it at the newest one that is;
# - the web UI is embedded from web/dist, which the module does not contain: an empty
#   index.html satisfies the embed directive (this operator has no web UI to compare);
# - v0.59 needs a newer Go than the machine's: GOTOOLCHAIN fetches it through the go command.
set -euo pipefail

version=${1:-v0.58.1}
what=${2:-operator}
case "$what" in
operator | cli) ;;
*) echo "upstream-operator: unknown binary '$what' (operator or cli)" >&2; exit 2 ;;
esac
module=github.com/controlplaneio-fluxcd/flux-operator
cache_root=${FLUX_OPERATOR_RS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flux-operator-rs}
script_hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)
dest_dir="$cache_root/upstream/$version-$script_hash"
dest="$dest_dir/flux-operator-$what"

log() { echo "upstream-operator: $*" >&2; }

if [ -x "$dest" ]; then
    echo "$dest"
    exit 0
fi
command -v go >/dev/null || { log "go is not installed"; exit 1; }

toolchain=
case "$version" in
v0.59.*) toolchain=go1.27.3 ;;
esac

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod
src=$(cd "$work" && GOTOOLCHAIN=${toolchain:-auto} go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { log "go mod download $module@$version failed"; exit 1; }
cp -r "$src" "$work/src"
chmod -R u+w "$work/src"
cd "$work/src"
export GOTOOLCHAIN=${toolchain:-auto}

authn=github.com/google/go-containerregistry/pkg/authn/kubernetes
pinned=$(awk -v m="$authn" '$1 == m { print $2; exit }' go.mod)
if [ -n "$pinned" ] && ! go mod download "$authn@$pinned" >/dev/null 2>&1; then
    latest=$(go list -m -f '{{.Version}}' "$authn@latest")
    log "replacing $authn $pinned (not served) with $latest"
    go mod edit -replace "$authn=$authn@$latest"
fi
mkdir -p web/dist
[ -e web/dist/index.html ] || : >web/dist/index.html

log "building $module $version ./cmd/$what (cold: about 8 minutes on 2 cores)"
go build -trimpath -o "$work/out" "./cmd/$what"
mkdir -p "$dest_dir"
mv -f "$work/out" "$dest.$$"
mv -f "$dest.$$" "$dest"
log "built $dest"
echo "$dest"
