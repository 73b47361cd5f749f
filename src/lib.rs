//! flux-operator-rs: installs, configures and upgrades Flux from a `FluxInstance`.
//!
//! Data flows one way: api -> distribution -> build -> apply -> status/report/metrics.

pub mod api;
pub mod build;
pub mod distribution;
pub mod yaml;
