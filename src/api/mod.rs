//! The `fluxcd.controlplane.io/v1` API: field names, casing, defaults, enums and CEL
//! rules match the upstream Flux Operator so that existing YAML applies unchanged.

pub mod conditions;
mod disabled;
mod flux_instance;
mod flux_report;
pub mod history;
mod input_provider;
mod resource_set;
mod schema;
mod shared;

pub use flux_instance::*;
pub use flux_report::*;
pub use input_provider::*;
pub use resource_set::*;
pub use shared::*;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// API group of the custom resources.
pub const GROUP: &str = "fluxcd.controlplane.io";

/// `apiVersion` of the custom resources.
pub const API_VERSION: &str = "fluxcd.controlplane.io/v1";

/// The only accepted name of a FluxInstance and of the FluxReport.
pub const SINGLETON_NAME: &str = "flux";

/// Every CRD this operator defines, in the order `crds` prints them.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        FluxInstance::crd(),
        FluxReport::crd(),
        ResourceSet::crd(),
        ResourceSetInputProvider::crd(),
    ]
}
