//! The chart's monitoring: the Grafana dashboard ConfigMap and the PrometheusRule as
//! rendered, the rule file under `promtool`, and both dashboard and alerts queried in a
//! real Prometheus that scrapes the operator running on this binary's own test bed.

#[path = "../testbed/common.rs"]
pub mod common;
#[path = "../operator/harness.rs"]
pub mod harness;
#[path = "../helm/mod.rs"]
pub mod helm;
#[path = "../prometheus/mod.rs"]
pub mod prometheus;

mod assets;
mod chart;
mod live;
