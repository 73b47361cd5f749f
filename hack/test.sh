#!/usr/bin/env bash
# The project's test command: formatting, lints, and every test, including those that run
# against a real kube-apiserver and etcd (hack/testbed.sh starts them on loopback).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
hack/testbed.sh build --full
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked
