//! Storage-version migration of the Flux custom resources after an upgrade: every object is
//! rewritten (so etcd holds it in the storage version), then the CRD's storedVersions is
//! trimmed to the storage version, so that a later Flux release can drop the old versions.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use super::context::Context;
use super::error::Error;

/// Migrates the Flux CRDs among `objects` whose storedVersions is more than the storage
/// version, or all of them when `forced`.
pub async fn migrate_storage_versions(ctx: &Context, objects: &[Value], forced: bool) -> Result<usize, Error> {
    let crds: Api<CustomResourceDefinition> = Api::all(ctx.client.clone());
    let mut migrated = 0;
    for obj in objects.iter().filter(|o| o["kind"] == "CustomResourceDefinition") {
        let group = obj["spec"]["group"].as_str().unwrap_or_default();
        if !group.ends_with(".toolkit.fluxcd.io") {
            continue;
        }
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let Some(live) = crds.get_opt(name).await.map_err(Error::Kube)? else {
            continue;
        };
        let Some(storage) = live.spec.versions.iter().find(|v| v.storage).map(|v| v.name.clone()) else {
            continue;
        };
        let stored = live
            .status
            .as_ref()
            .and_then(|s| s.stored_versions.clone())
            .unwrap_or_default();
        if !forced && stored == [storage.clone()] {
            continue;
        }
        let names = &live.spec.names;
        let resource =
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, &storage, &names.kind), &names.plural);
        migrated += rewrite_all(ctx, &resource).await?;
        let status = json!({"status": {"storedVersions": [storage]}});
        crds.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .map_err(Error::Kube)?;
        tracing::info!(crd = name, storage, "migrated to the storage version");
    }
    Ok(migrated)
}

/// Rewrites every object of a kind: an empty patch makes the API server re-encode the object
/// in the storage version.
async fn rewrite_all(ctx: &Context, resource: &ApiResource) -> Result<usize, Error> {
    super::bulk::patch_all(&ctx.client, resource, &json!({}), |_| true).await
}
