//! flux-operator-rs: installs, configures and upgrades Flux from a `FluxInstance`.
//!
//! Data flows one way: api -> distribution -> build -> apply -> status/report/metrics.

pub mod api;
pub mod apply;
pub mod build;
pub mod controller;
pub mod distribution;
pub mod http;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod notifier;
pub mod report;
pub mod resourceset;
pub mod text;
pub mod tls;
pub mod wait;
pub mod yaml;
