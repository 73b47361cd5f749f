#!/usr/bin/env bash
# The project's test command: installs what the tests need (hack/install-deps.sh: Debian
# packages, helm, the test bed's and the upstream oracles' Go builds, all cached), then
# formatting, lints, and every test, including those that run against a real kube-apiserver
# and etcd (hack/testbed.sh starts them on loopback).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
hack/install-deps.sh
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked
