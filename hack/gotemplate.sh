#!/usr/bin/env bash
# Builds hack/gotemplate, a small Go program that renders ResourceSet templates on the real
# libraries (Go's text/template with << >> and missingkey=error, slim-sprig v3's hermetic
# functions, gosimple/slug v1.15.0, sigs.k8s.io/yaml v1.6.0, hash/adler32), for
# tests/template_diff to compare the Rust engine against.
#
#   hack/gotemplate.sh        build once into the cache, print the binary's path
#
# hack/go-program.sh builds it: the modules come from the Go module proxy, the binary is
# cached outside the clone, keyed by a hash of the program's files, under
# ${FLUX_OPERATOR_RS_CACHE:-~/.cache/flux-operator-rs}/gotemplate/<hash>/gotemplate.
set -euo pipefail

exec "$(dirname "${BASH_SOURCE[0]}")/go-program.sh" gotemplate
