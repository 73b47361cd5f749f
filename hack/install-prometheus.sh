#!/usr/bin/env bash
# Builds a Prometheus with Kubernetes service discovery and prints its path.
#
# Debian's prometheus package (the other tests' Prometheus and promtool) is built without
# kubernetes_sd_configs (its client-go is not packaged), which tests/node_e2e needs to find
# the operator's pod through the API server as a cluster's Prometheus does. This one comes
# from Prometheus's own Go module (Apache-2.0) through the Go module proxy, checked against
# the Go checksum database, and is cached outside the clone under
# ${FLUX_OPERATOR_RS_CACHE:-$HOME/.cache/flux-operator-rs}/tools/prometheus-<version>/.
# Only stdout carries the path.
set -euo pipefail

# Go module versions v0.3XX.Y are Prometheus 3.XX.Y.
version=v0.316.0
cache=${FLUX_OPERATOR_RS_CACHE:-$HOME/.cache/flux-operator-rs}
# Only the Kubernetes service discovery is compiled in (Prometheus's own build tags): the
# cloud SDKs of the other mechanisms are most of a full build's time.
tags=remove_all_sd,enable_kubernetes_sd
dest_dir=$cache/tools/prometheus-$version-kubernetes-sd

if [ ! -x "$dest_dir/prometheus" ]; then
    command -v go >/dev/null || { echo "install-prometheus: go is required" >&2; exit 1; }
    echo "install-prometheus: building prometheus $version from its Go module (cold: several minutes)" >&2
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    GOBIN=$tmp GOFLAGS=-trimpath go install -tags "$tags" "github.com/prometheus/prometheus/cmd/prometheus@$version"
    # Renamed into place, so that concurrent runs never see a half-written binary.
    mkdir -p "$dest_dir"
    mv -f "$tmp/prometheus" "$dest_dir/prometheus"
fi
echo "$dest_dir/prometheus"
