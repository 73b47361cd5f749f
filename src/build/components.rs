//! Step 1: which controllers, their release files, and the version gates of the spec.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use semver::Version;
use serde_json::Value;

use crate::api::{Component, FluxInstanceSpec};
use crate::distribution::Distribution;

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
pub fn load(
    distribution: &Distribution,
    version: &Version,
    components: &[Component],
    network_policy: bool,
) -> Result<Loaded, Error> {
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
        let Some(text) = distribution.manifest(version, &file)? else {
            let what = file.trim_end_matches(".yaml");
            return Err(if is_component {
                Error::Spec(format!("spec.components: {what} is not part of Flux v{version}"))
            } else {
                Error::Data(format!("Flux v{version} has no {file} in the distribution"))
            });
        };
        let docs = parse_cached(&text).map_err(|e| Error::Data(format!("{file} of Flux v{version}: {e}")))?;
        for doc in docs.iter() {
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

/// Parsed release files by content. YAML parsing is most of a build's time and the
/// operator rebuilds the same release on every reconcile; keying by content (not path)
/// keeps the cache right when a distribution folder is updated in place.
type Cache = HashMap<u64, Vec<(String, Arc<Vec<Value>>)>>;

/// Distinct files kept; a few releases' worth. Past it the cache starts over.
const CACHE_FILES: usize = 64;

fn parse_cached(text: &str) -> Result<Arc<Vec<Value>>, crate::yaml::Error> {
    static CACHE: Mutex<Option<Cache>> = Mutex::new(None);
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    let key = hasher.finish();
    {
        let guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(hit) = guard
            .as_ref()
            .and_then(|cache| cache.get(&key))
            .and_then(|entries| entries.iter().find(|(t, _)| t == text))
        {
            return Ok(Arc::clone(&hit.1));
        }
    }
    let docs = Arc::new(crate::yaml::from_multi_str::<Value>(text)?);
    let mut guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    let cache = guard.get_or_insert_with(HashMap::new);
    if cache.values().map(Vec::len).sum::<usize>() >= CACHE_FILES {
        cache.clear();
    }
    cache.entry(key).or_default().push((text.to_owned(), Arc::clone(&docs)));
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_files_are_cached_by_content() {
        let a = parse_cached("kind: A\n---\nkind: B\n").unwrap();
        let again = parse_cached("kind: A\n---\nkind: B\n").unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        assert_eq!(a.len(), 2);
        let other = parse_cached("kind: C\n").unwrap();
        assert_eq!(other[0]["kind"], "C");
        assert!(parse_cached("a: [").is_err());
    }

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
