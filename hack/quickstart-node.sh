#!/usr/bin/env bash
# The quickstart's --node part (hack/quickstart.sh --node [EXAMPLE]): the test bed with a
# real kubelet node, the operator image built here and its chart, both pushed to the node's
# loopback registry, `helm install` from OCI, then EXAMPLE applied and the result.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=$1 example=$2
tag=0.1.0
# containerd, runc and the rest of the node's packages come from hack/install-deps.sh;
# kubectl from the test bed's build when the machine has none.
command -v kubectl >/dev/null || PATH="$(dirname "$(hack/testbed.sh kubectl)"):$PATH"
hack/testbed.sh down "$dir" >/dev/null 2>&1 || true
hack/testbed.sh up "$dir" --node
export KUBECONFIG=$PWD/$dir/kubeconfig
registry=$(cat "$dir/registry")
helm=$(hack/install-helm.sh)
export HELM_CACHE_HOME=$PWD/$dir/helm/cache HELM_CONFIG_HOME=$PWD/$dir/helm/config HELM_DATA_HOME=$PWD/$dir/helm/data

hack/image.sh --out "$dir/image" --push "$registry/flux-operator-rs:$tag" --plain-http >/dev/null
chart_version=$(sed -n 's/^version: *//p' charts/flux-operator-rs/Chart.yaml)
"$helm" package charts/flux-operator-rs --destination "$dir" >/dev/null
"$helm" push "$dir/flux-operator-rs-$chart_version.tgz" "oci://$registry/charts" --plain-http
chart=oci://$registry/charts/flux-operator-rs

start=$(date +%s)
# node-values.yaml: what `up --node` says the operator needs on its node (host network,
# the taint tolerated, the API server and probes on loopback).
"$helm" install flux-operator "$chart" --version "$chart_version" --plain-http \
    --namespace flux-system --create-namespace --values "$dir/node-values.yaml" --set "image.tag=$tag"
kubectl -n flux-system rollout status deployment/flux-operator --timeout=240s
echo "operator Ready after $(($(date +%s) - start)) s"
kubectl -n flux-system get pods -o wide

kubectl apply --server-side -f "$example"
kubectl -n flux-system wait fluxinstance/flux --for=condition=Ready --timeout=300s
echo "FluxInstance Ready $(($(date +%s) - start)) s after helm install"
kubectl get fluxinstance,fluxreport -n flux-system
kubectl get deployments -n flux-system -o wide
for _ in $(seq 1 30); do
    # The pod's metrics port is the node's (host network), on loopback.
    line=$(curl -fsS http://127.0.0.1:8080/metrics | grep '^flux_instance_info{.*ready="True"' || true)
    [ -n "$line" ] && break
    sleep 1
done
echo "$line"
echo "packets sent to the node IP: $(hack/testbed.sh node-traffic "$dir")"
echo
echo "export KUBECONFIG=$KUBECONFIG   # to use the test bed; hack/testbed.sh down $dir to stop (as root)"
