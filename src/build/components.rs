//! Step 1: which controllers, their release files, and the version gates of the spec.

use std::ops::Range;

use semver::Version;
use serde_json::Value;

use crate::api::{Component, ComponentImage, FluxInstanceSpec};
use crate::distribution::Release;

use super::Error;

const RBAC_FILE: &str = "rbac.yaml";

/// The components installed when `spec.components` is empty.
pub const DEFAULT: [Component; 4] = [
    Component::SourceController,
    Component::KustomizeController,
    Component::HelmController,
    Component::NotificationController,
];

pub fn name(component: Component) -> &'static str {
    match component {
        Component::SourceController => "source-controller",
        Component::KustomizeController => "kustomize-controller",
        Component::HelmController => "helm-controller",
        Component::NotificationController => "notification-controller",
        Component::ImageReflectorController => "image-reflector-controller",
        Component::ImageAutomationController => "image-automation-controller",
        Component::SourceWatcher => "source-watcher",
    }
}

/// The oldest Flux release that ships the component.
fn minimum_version(component: Component) -> Option<Version> {
    match component {
        Component::SourceWatcher => Some(Version::new(2, 7, 0)),
        _ => None,
    }
}

/// The requested components, deduplicated, in the canonical order (the enum's), so that
/// the output does not depend on how the user ordered the list.
pub fn selected(spec: &FluxInstanceSpec) -> Vec<Component> {
    let mut list = if spec.components.is_empty() {
        DEFAULT.to_vec()
    } else {
        spec.components.clone()
    };
    list.sort();
    list.dedup();
    list
}

/// The component images in the order the spec lists the components, as upstream's status
/// shows them; in the release's order when the spec lists none.
pub fn in_spec_order(mut images: Vec<ComponentImage>, spec: &FluxInstanceSpec) -> Vec<ComponentImage> {
    let position = |image: &ComponentImage| {
        spec.components
            .iter()
            .position(|&c| name(c) == image.name)
            .unwrap_or(usize::MAX)
    };
    images.sort_by_key(position);
    images
}

/// Refuses components and cluster settings that the chosen release cannot run.
pub fn check_gates(spec: &FluxInstanceSpec, components: &[Component], version: &Version) -> Result<(), Error> {
    for &component in components {
        if let Some(min) = minimum_version(component)
            && version < &min
        {
            return Err(Error::Spec(format!(
                "spec.components: {} requires Flux >= {min}, got v{version}",
                name(component)
            )));
        }
    }
    if let Some(cluster) = &spec.cluster
        && cluster.object_level_workload_identity
        && version < &Version::new(2, 6, 0)
    {
        return Err(Error::Spec(format!(
            "spec.cluster.objectLevelWorkloadIdentity: true requires Flux >= 2.6.0, got v{version}"
        )));
    }
    // The controllers of 2.6 lack the default workload identity flags.
    if let Some(cluster) = &spec.cluster
        && cluster.multitenant_workload_identity
        && version < &Version::new(2, 7, 0)
    {
        return Err(Error::Spec(format!(
            "spec.cluster.multitenantWorkloadIdentity: true requires Flux >= 2.7.0, got v{version}"
        )));
    }
    Ok(())
}

/// The objects of the release files, in file order.
pub struct Loaded {
    pub objects: Vec<Value>,
    /// Where the objects of `rbac.yaml` are in `objects`: they get per-instance names.
    pub rbac: Range<usize>,
}

/// Parses the release files of the components, `rbac.yaml` and, when wanted,
/// `policies.yaml`; each file once.
pub fn load(release: &Release, components: &[Component], network_policy: bool) -> Result<Loaded, Error> {
    let version = release.version();
    let mut files: Vec<(String, bool)> = components
        .iter()
        .map(|&c| (format!("{}.yaml", name(c)), true))
        .collect();
    files.push((RBAC_FILE.to_owned(), false));
    if network_policy {
        files.push(("policies.yaml".to_owned(), false));
    }
    let mut objects = Vec::with_capacity(80);
    let mut rbac = 0..0;
    for (file, is_component) in files {
        let start = objects.len();
        let Some(docs) = release.manifest(&file) else {
            let what = file.trim_end_matches(".yaml");
            return Err(if is_component {
                Error::Spec(format!("spec.components: {what} is not part of Flux v{version}"))
            } else {
                Error::Data(format!("Flux v{version} has no {file} in the distribution"))
            });
        };
        for doc in docs {
            if !doc.is_object() {
                return Err(Error::Data(format!(
                    "{file} of Flux v{version}: a document is not an object"
                )));
            }
            objects.push(doc.clone());
        }
        if file == RBAC_FILE {
            rbac = start..objects.len();
        }
    }
    Ok(Loaded { objects, rbac })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_component_order() {
        let spec: FluxInstanceSpec = serde_json::from_value(serde_json::json!({
            "distribution": {"version": "2.x", "registry": "ghcr.io/fluxcd"},
            "components": ["source-watcher", "helm-controller", "source-watcher", "source-controller"]
        }))
        .unwrap();
        assert_eq!(
            selected(&spec),
            [
                Component::SourceController,
                Component::HelmController,
                Component::SourceWatcher
            ]
        );
    }
}
