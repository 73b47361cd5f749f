//! Tests against a real kube-apiserver and etcd (see `hack/testbed.sh`). One test bed serves
//! every test of this binary; each test works in a namespace of its own.

mod api_validation;
mod build_dry_run;
pub mod common;
mod resourceset_validation;
mod wait_cli;
