//! Steps 3 and 16: the operator's own labels and annotations, then the user's, then the
//! owner labels. All three come after the user's patches, as upstream's do: a patch sees
//! the release's own labels only, and cannot take the operator's away.

use semver::Version;
use serde_json::Value;

use crate::api::CommonMetadata;

use super::object;

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const INSTANCE: &str = "app.kubernetes.io/instance";
pub const VERSION: &str = "app.kubernetes.io/version";
pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const SSA: &str = "kustomize.toolkit.fluxcd.io/ssa";
pub const KUSTOMIZE_PRUNE: &str = "kustomize.toolkit.fluxcd.io/prune";
/// Tie an object to its FluxInstance; prune deletes only what has them.
pub const OWNER_NAME: &str = "fluxcd.controlplane.io/name";
pub const OWNER_NAMESPACE: &str = "fluxcd.controlplane.io/namespace";

/// The labels and annotations of step 3, for one object.
pub struct Standard {
    namespace: String,
    version: String,
}

impl Standard {
    pub fn new(namespace: &str, version: &Version) -> Self {
        Self {
            namespace: namespace.to_owned(),
            version: format!("v{version}"),
        }
    }

    /// Marks the object as the operator's and keeps a `flux bootstrap` kustomize-controller
    /// from fighting over it.
    pub fn apply(&self, obj: &mut Value) {
        object::set_label(obj, MANAGED_BY, "flux-operator");
        object::set_label(obj, INSTANCE, &self.namespace);
        object::set_label(obj, VERSION, &self.version);
        object::set_label(obj, PART_OF, "flux");
        object::set_annotation(obj, SSA, "Ignore");
        object::set_annotation(obj, KUSTOMIZE_PRUNE, "Disabled");
    }
}

/// `spec.commonMetadata`, overriding keys that are already there.
pub fn apply_common(objects: &mut [Value], common: Option<&CommonMetadata>) {
    let Some(common) = common else { return };
    if common.labels.is_empty() && common.annotations.is_empty() {
        return;
    }
    for obj in objects {
        for (key, value) in &common.labels {
            object::set_label(obj, key, value);
        }
        for (key, value) in &common.annotations {
            object::set_annotation(obj, key, value);
        }
    }
}

/// About the bytes `commonMetadata` adds to one object's JSON: quotes, colon and comma
/// around each key and value.
pub fn common_size(common: Option<&CommonMetadata>) -> usize {
    common.map_or(0, |c| {
        c.labels
            .iter()
            .chain(&c.annotations)
            .map(|(k, v)| k.len() + v.len() + 6)
            .sum()
    })
}

/// The owner labels, last: they win over `commonMetadata`, since prune relies on them.
pub fn apply_owner(objects: &mut [Value], ns: &str) {
    for obj in objects {
        object::set_label(obj, OWNER_NAME, crate::api::SINGLETON_NAME);
        object::set_label(obj, OWNER_NAMESPACE, ns);
    }
}
