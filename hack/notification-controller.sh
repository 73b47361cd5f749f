#!/usr/bin/env bash
# Builds Flux's notification-controller (github.com/fluxcd/notification-controller, Apache-2.0)
# from its Go module, for the tests that forward the operator's events to a real one.
#
#   hack/notification-controller.sh [VERSION]    build once into the cache, print the binary's path
#
# VERSION defaults to v1.9.3, the version of the newest carried Flux release (v2.9.4). The
# binary is cached outside the clone under
# ${FLUX_OPERATOR_RS_CACHE:-~/.cache/flux-operator-rs}/notification-controller/<version>-<hash>/.
# The module's go.mod replaces its `api` submodule with a path the module download does not
# contain; the replace is pointed at the api module of the same version instead.
set -euo pipefail

version=${1:-v1.9.3}
module=github.com/fluxcd/notification-controller
cache_root=${FLUX_OPERATOR_RS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flux-operator-rs}
script_hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)
dest="$cache_root/notification-controller/$version-$script_hash/notification-controller"

log() { echo "notification-controller: $*" >&2; }

if [ -x "$dest" ]; then
    echo "$dest"
    exit 0
fi
command -v go >/dev/null || { log "go is not installed"; exit 1; }

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod GOTOOLCHAIN=auto
src=$(cd "$work" && go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { log "go mod download $module@$version failed"; exit 1; }
cp -r "$src" "$work/src"
chmod -R u+w "$work/src"
cd "$work/src"
go mod edit -replace "$module/api=$module/api@$version"
log "building $module $version (cold: a few minutes on 2 cores)"
go build -trimpath -o "$work/out" .
mkdir -p "$(dirname "$dest")"
mv -f "$work/out" "$dest.$$"
mv -f "$dest.$$" "$dest"
log "built $dest"
echo "$dest"
