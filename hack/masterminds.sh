#!/usr/bin/env bash
# Builds hack/masterminds, a small Go program that resolves version constraints with
# github.com/Masterminds/semver/v3 v3.5.0 (the library upstream resolves
# spec.distribution.version with), for tests/masterminds.rs to compare our resolver against.
#
#   hack/masterminds.sh        build once into the cache, print the binary's path
#
# hack/go-program.sh builds it: the module comes from the Go module proxy, the binary is
# cached outside the clone, keyed by a hash of the program's files, under
# ${FLUX_OPERATOR_RS_CACHE:-~/.cache/flux-operator-rs}/masterminds/<hash>/masterminds.
set -euo pipefail

exec "$(dirname "${BASH_SOURCE[0]}")/go-program.sh" masterminds
