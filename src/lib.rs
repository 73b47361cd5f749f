//! flux-operator-rs: installs, configures and upgrades Flux from a `FluxInstance`.

pub mod api;
pub mod yaml;
