//! Step 14: the source and Kustomization that make the cluster sync itself.

use semver::Version;
use serde_json::{Map, Value, json};

use crate::api::{Component, SyncKind, SyncProvider, SyncSpec};

use super::Error;
use super::duration::go_duration;

/// How often the sync Kustomization reconciles.
const KUSTOMIZATION_INTERVAL: &str = "10m";

pub fn kind_name(kind: SyncKind) -> &'static str {
    match kind {
        SyncKind::GitRepository => "GitRepository",
        SyncKind::OCIRepository => "OCIRepository",
        SyncKind::Bucket => "Bucket",
    }
}

fn provider_name(provider: SyncProvider) -> &'static str {
    match provider {
        SyncProvider::Generic => "generic",
        SyncProvider::Aws => "aws",
        SyncProvider::Azure => "azure",
        SyncProvider::Gcp => "gcp",
        SyncProvider::Github => "github",
    }
}

/// The API version of the source kind in a Flux release.
pub fn source_api_version(kind: SyncKind, version: &Version) -> &'static str {
    match kind {
        SyncKind::GitRepository => "source.toolkit.fluxcd.io/v1",
        SyncKind::OCIRepository | SyncKind::Bucket if version >= &Version::new(2, 6, 0) => {
            "source.toolkit.fluxcd.io/v1"
        }
        SyncKind::OCIRepository | SyncKind::Bucket => "source.toolkit.fluxcd.io/v1beta2",
    }
}

fn check_provider(sync: &SyncSpec) -> Result<(), Error> {
    let Some(provider) = sync.provider else { return Ok(()) };
    let allowed: &[SyncProvider] = match sync.kind {
        SyncKind::GitRepository => &[SyncProvider::Generic, SyncProvider::Azure, SyncProvider::Github],
        SyncKind::OCIRepository | SyncKind::Bucket => &[
            SyncProvider::Generic,
            SyncProvider::Aws,
            SyncProvider::Azure,
            SyncProvider::Gcp,
        ],
    };
    if allowed.contains(&provider) {
        Ok(())
    } else {
        Err(Error::Spec(format!(
            "spec.sync.provider {:?} is not supported for kind {}",
            provider_name(provider),
            kind_name(sync.kind)
        )))
    }
}

/// The source and Kustomization, or nothing without `spec.sync`.
pub fn objects(
    sync: Option<&SyncSpec>,
    components: &[Component],
    ns: &str,
    version: &Version,
    multitenant: bool,
) -> Result<Vec<Value>, Error> {
    let Some(sync) = sync else { return Ok(Vec::new()) };
    for needed in [Component::SourceController, Component::KustomizeController] {
        if !components.contains(&needed) {
            return Err(Error::Spec(format!(
                "spec.sync: kind {} needs {} in spec.components",
                kind_name(sync.kind),
                super::components::name(needed)
            )));
        }
    }
    check_provider(sync)?;
    let name = sync.name.as_deref().unwrap_or(ns);
    let kind = kind_name(sync.kind);

    let mut spec = Map::new();
    spec.insert("interval".into(), json!(go_duration(&sync.interval)));
    match sync.kind {
        SyncKind::GitRepository => {
            spec.insert("url".into(), json!(sync.url));
            spec.insert("ref".into(), json!({ "name": sync.ref_ }));
        }
        SyncKind::OCIRepository => {
            spec.insert("url".into(), json!(sync.url));
            spec.insert("ref".into(), json!({ "tag": sync.ref_ }));
        }
        SyncKind::Bucket => {
            spec.insert("endpoint".into(), json!(sync.url));
            spec.insert("bucketName".into(), json!(sync.ref_));
        }
    }
    if let Some(secret) = &sync.pull_secret {
        spec.insert("secretRef".into(), json!({ "name": secret }));
    }
    if let Some(provider) = sync.provider {
        spec.insert("provider".into(), json!(provider_name(provider)));
    }
    let source = json!({
        "apiVersion": source_api_version(sync.kind, version),
        "kind": kind,
        "metadata": { "name": name, "namespace": ns },
        "spec": spec,
    });

    let mut kustomization = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": { "name": name, "namespace": ns },
        "spec": {
            "interval": go_duration(KUSTOMIZATION_INTERVAL),
            "path": sync.path,
            "prune": true,
            "sourceRef": { "kind": kind, "name": name },
        },
    });
    if multitenant && let Some(spec) = kustomization.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("serviceAccountName".into(), json!("kustomize-controller"));
    }
    Ok(vec![source, kustomization])
}
