#!/usr/bin/env bash
# What the FluxReport says about the installation, in the shapes platform teams query it.
set -euo pipefail
ns=${1:-flux-system}
kubectl get fluxreport flux -n "$ns"
echo "distribution: $(kubectl get fluxreport flux -n "$ns" -o jsonpath='{.spec.distribution.status} {.spec.distribution.version} (managed by {.spec.distribution.managedBy})')"
echo "components:"
kubectl get fluxreport flux -n "$ns" -o jsonpath='{range .spec.components[*]}  {.name}: ready={.ready} {.image}{"\n"}{end}'
echo "reconcilers (running/failing/suspended):"
kubectl get fluxreport flux -n "$ns" -o jsonpath='{range .spec.reconcilers[*]}  {.kind}: {.stats.running}/{.stats.failing}/{.stats.suspended} {.stats.totalSize}{"\n"}{end}'
