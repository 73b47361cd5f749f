#!/usr/bin/env bash
# Quickstart on a local test bed: a real kube-apiserver with kube-controller-manager,
# kube-scheduler and a kwok fake node (so Deployments become Available), the CRDs, the
# operator running against it with the shared Flux distribution, examples/minimal.yaml,
# and the result. Stop everything with: hack/testbed.sh down target/quickstart
#
#   hack/quickstart.sh [EXAMPLE]          the operator as a process
#   hack/quickstart.sh --node [EXAMPLE]   as users run it: a real kubelet node too (root only),
#                                         the image (hack/image.sh) and the chart pushed to a
#                                         loopback registry, `helm install` from OCI, the operator
#                                         a pod there; Flux's Deployments on the kwok node
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=target/quickstart
node=0
if [ "${1:-}" = --node ]; then
    node=1
    shift
fi
example=${1:-examples/minimal.yaml}

if [ "$node" = 1 ]; then
    exec hack/quickstart-node.sh "$dir" "$example"
fi
cargo build --quiet --bin flux-operator-rs
# On a machine with only the toolchains: the test bed's binaries, and its kubectl when
# there is none (both built from the Kubernetes Go modules, cached outside the clone).
hack/testbed.sh build --full
command -v kubectl >/dev/null || PATH="$(dirname "$(hack/testbed.sh kubectl)"):$PATH"
hack/testbed.sh down "$dir" >/dev/null 2>&1 || true
hack/testbed.sh up "$dir" --full
export KUBECONFIG=$PWD/$dir/kubeconfig

target/debug/flux-operator-rs crds | kubectl apply --server-side -f - >/dev/null
kubectl wait --for condition=Established crd/fluxinstances.fluxcd.controlplane.io crd/fluxreports.fluxcd.controlplane.io --timeout=60s >/dev/null
kubectl create namespace flux-system --dry-run=client -o yaml | kubectl apply -f - >/dev/null

metrics_port=$((20000 + RANDOM % 20000))
RUNTIME_NAMESPACE=flux-system nohup target/debug/flux-operator-rs run \
    --storage-path ../shared/flux-distribution --enable-leader-election=false \
    --metrics-addr "127.0.0.1:$metrics_port" --health-addr 127.0.0.1:0 \
    >"$dir/operator.log" 2>&1 &
echo "$! operator" >>"$dir/pids" # `hack/testbed.sh down` stops it with the rest
echo "operator running (log: $dir/operator.log, metrics: http://127.0.0.1:$metrics_port/metrics)"

kubectl apply --server-side -f "$example"
start=$(date +%s)
kubectl wait fluxinstance/flux -n flux-system --for=condition=Ready --timeout=300s
echo "Ready after $(($(date +%s) - start)) s"
kubectl get fluxinstance,fluxreport -n flux-system
kubectl get deployments -n flux-system
for _ in $(seq 1 30); do
    # The series follows the report, refreshed right after each reconcile.
    line=$(curl -fsS "http://127.0.0.1:$metrics_port/metrics" | grep '^flux_instance_info{.*ready="True"' || true)
    [ -n "$line" ] && break
    sleep 1
done
echo "$line"
echo
echo "export KUBECONFIG=$KUBECONFIG   # to use the test bed; hack/testbed.sh down $dir to stop"
