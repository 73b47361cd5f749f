#!/usr/bin/env bash
# Quickstart on a local test bed: a real kube-apiserver with kube-controller-manager,
# kube-scheduler and a kwok fake node; the CRDs; examples/minimal.yaml; the result.
# Stop it with: hack/testbed.sh down target/quickstart
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=target/quickstart
cargo build --quiet
hack/testbed.sh down "$dir" >/dev/null 2>&1 || true
hack/testbed.sh up "$dir" --full
export KUBECONFIG=$PWD/$dir/kubeconfig
target/debug/flux-operator-rs crds | kubectl apply --server-side -f -
kubectl wait --for condition=Established crd/fluxinstances.fluxcd.controlplane.io crd/fluxreports.fluxcd.controlplane.io --timeout=60s
kubectl create namespace flux-system --dry-run=client -o yaml | kubectl apply -f -
kubectl apply --server-side -f examples/minimal.yaml
kubectl get fluxinstance -n flux-system
echo
echo "export KUBECONFIG=$KUBECONFIG   # to use the test bed"
