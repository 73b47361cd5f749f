//! Deleting a FluxInstance: uninstall Flux, unless the instance was suspended or never
//! installed anything, in which case everything stays where it is.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, PropagationPolicy};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use super::context::Context;
use super::error::Error;
use super::events::publish;
use crate::api::FluxInstance;
use crate::apply::{Applier, ApplyOptions, ObjectId};

const DEPLOYMENTS_GONE_TIMEOUT: Duration = Duration::from_secs(300);
const CRDS_GONE_TIMEOUT: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_secs(1);

pub async fn cleanup(obj: &FluxInstance, ctx: &Context) -> Result<Action, Error> {
    let entries: Vec<ObjectId> = obj
        .status
        .as_ref()
        .and_then(|s| s.inventory.as_ref())
        .map(|inv| {
            inv.entries
                .iter()
                .filter_map(|e| ObjectId::from_inventory(&e.id, &e.v))
                .collect()
        })
        .unwrap_or_default();
    let reference = obj.object_ref(&());
    if obj.is_disabled() || entries.is_empty() {
        let note = "FluxInstance deleted while suspended or empty: Flux is left in place";
        publish(&ctx.recorder, &reference, EventType::Normal, "UninstallSkipped", note).await;
        return Ok(Action::await_change());
    }
    let options = ApplyOptions {
        owner_name: obj.name_any(),
        owner_namespace: obj.namespace().unwrap_or_default(),
        extra_takeover_managers: Vec::new(),
    };
    let applier = Applier {
        client: &ctx.client,
        discovery: &ctx.discovery,
        options: &options,
    };

    // Controllers first, so that none of them re-adds a finalizer we are about to remove.
    let deployments: Vec<&ObjectId> = entries.iter().filter(|e| e.kind == "Deployment").collect();
    for d in &deployments {
        delete(&applier, d).await?;
    }
    wait_gone(&applier, &deployments, DEPLOYMENTS_GONE_TIMEOUT).await?;

    let flux_crds: Vec<&ObjectId> = entries
        .iter()
        .filter(|e| e.kind == "CustomResourceDefinition" && e.name.contains(".toolkit.fluxcd.io"))
        .collect();
    for crd in &flux_crds {
        remove_finalizers(ctx, &crd.name).await?;
    }

    for entry in entries.iter().filter(|e| e.kind != "Deployment") {
        delete(&applier, entry).await?;
    }
    let crds: Vec<&ObjectId> = entries
        .iter()
        .filter(|e| e.kind == "CustomResourceDefinition")
        .collect();
    wait_gone(&applier, &crds, CRDS_GONE_TIMEOUT).await?;
    publish(
        &ctx.recorder,
        &reference,
        EventType::Normal,
        "UninstallSucceeded",
        "Flux uninstalled",
    )
    .await;
    Ok(Action::await_change())
}

/// Deletes an inventory object unless it is marked `prune: disabled` or not ours.
async fn delete(applier: &Applier<'_>, object: &ObjectId) -> Result<(), Error> {
    let api = match applier.api_for(object).await {
        Ok(api) => api,
        Err(_) => return Ok(()), // the kind is gone, and the object with it
    };
    let Some(live) = api.get_opt(&object.name).await.map_err(Error::Kube)? else {
        return Ok(());
    };
    let live = serde_json::to_value(&live).unwrap_or(Value::Null);
    if crate::apply::keep_reason(&live, &applier.options.owner_name, &applier.options.owner_namespace).is_some() {
        return Ok(());
    }
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..DeleteParams::default()
    };
    match api.delete(&object.name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(source) => Err(Error::UninstallDelete {
            object: object.to_string(),
            source,
        }),
    }
}

async fn wait_gone(applier: &Applier<'_>, objects: &[&ObjectId], timeout: Duration) -> Result<(), Error> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut left = Vec::new();
        for object in objects {
            let Ok(api) = applier.api_for(object).await else {
                continue;
            };
            if api.get_opt(&object.name).await.map_err(Error::Kube)?.is_some() {
                left.push(object.to_string());
            }
        }
        if left.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::UninstallTimeout {
                seconds: timeout.as_secs(),
                objects: left.join(", "),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Removes the finalizers of every object of a Flux CRD, cluster-wide: with the
/// controllers gone nobody else would, and the CRD could never be deleted.
async fn remove_finalizers(ctx: &Context, crd_name: &str) -> Result<(), Error> {
    let crds: Api<CustomResourceDefinition> = Api::all(ctx.client.clone());
    let Some(crd) = crds.get_opt(crd_name).await.map_err(Error::Kube)? else {
        return Ok(());
    };
    let Some(version) = crd.spec.versions.iter().find(|v| v.storage).map(|v| v.name.clone()) else {
        return Ok(());
    };
    let names = &crd.spec.names;
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(&crd.spec.group, &version, &names.kind),
        &names.plural,
    );
    let patch = json!({"metadata": {"finalizers": null}});
    super::bulk::patch_all(&ctx.client, &resource, &patch, |item| !item.finalizers().is_empty()).await?;
    Ok(())
}
