//! The operator in-process against a real kube-apiserver and etcd (its own test bed, apart
//! from tests/testbed: these tests install and delete the cluster-scoped Flux CRDs, so they
//! run one at a time).

#[path = "../testbed/common.rs"]
pub mod common;
pub mod harness;
#[path = "../prometheus/mod.rs"]
pub mod prometheus;

mod artifact;
mod faults;
mod flux_objects;
mod forge_fake;
mod notify;
mod process;
mod provider_forge;
mod provider_oci;
mod provider_schedule;
mod provider_services;
mod reconciler;
mod report;
mod report_metrics;
mod resourceset;
mod resourceset_drift;
mod resourceset_figures;
mod resourceset_inputs;
mod resourceset_sources;
mod resourceset_steps;
mod resourceset_tenancy;
mod rset_bed;
