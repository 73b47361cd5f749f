//! Deleting a FluxInstance: uninstall Flux, unless the instance was suspended or never
//! installed anything, in which case everything stays where it is.
//!
//! The uninstall has one deadline, the instance's reconcile timeout: a Deployment or CRD
//! that does not go (a finalizer nobody removes) fails the attempt with a status that
//! names what is left and the deadline, and frees the worker until the retry.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PropagationPolicy};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use super::context::Context;
use super::error::Error;
use super::events::publish;
use super::timing::Timing;
use crate::api::{FluxInstance, conditions};
use crate::apply::{Applier, ApplyOptions, ObjectId};

const POLL: Duration = Duration::from_secs(1);

/// The Ready reason of an uninstall that did not finish by its deadline.
pub const UNINSTALL_FAILED: &str = "UninstallFailed";

pub async fn cleanup(obj: &FluxInstance, ctx: &Context) -> Result<Action, Error> {
    // An unreadable annotation does not stop an uninstall: the default deadline applies.
    let timeout = Timing::from_annotations(obj.annotations()).unwrap_or_default().timeout;
    let deadline = tokio::time::Instant::now() + timeout;
    match uninstall(obj, ctx, Deadline { at: deadline, timeout }).await {
        Err(error @ Error::UninstallTimeout { .. }) => {
            report_failure(obj, ctx, &error).await;
            Err(error)
        }
        other => other,
    }
}

/// When the whole uninstall must be done, and the timeout it came from (for the message).
#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: tokio::time::Instant,
    timeout: Duration,
}

async fn uninstall(obj: &FluxInstance, ctx: &Context, deadline: Deadline) -> Result<Action, Error> {
    let entries = crate::apply::entries(obj.status.as_ref().and_then(|s| s.inventory.as_ref()));
    let reference = obj.object_ref(&());
    if obj.is_disabled() || entries.is_empty() {
        let note = "FluxInstance deleted while suspended or empty: Flux is left in place";
        publish(&ctx.recorder, &reference, EventType::Normal, "UninstallSkipped", note).await;
        return Ok(Action::await_change());
    }
    let options = ApplyOptions {
        owner: super::instance::owner(obj),
        extra_takeover_managers: Vec::new(),
        // The instance is going away: its watches' triggers find nothing to reconcile.
        deletions: None,
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
    wait_gone(&applier, &deployments, deadline).await?;

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
    wait_gone(&applier, &crds, deadline).await?;
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
    if crate::apply::keep_reason(&live, &applier.options.owner).is_some() {
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

async fn wait_gone(applier: &Applier<'_>, objects: &[&ObjectId], deadline: Deadline) -> Result<(), Error> {
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
        if tokio::time::Instant::now() >= deadline.at {
            return Err(Error::UninstallTimeout {
                timeout: super::instance::format_duration(deadline.timeout),
                objects: left.join(", "),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Says on the instance why it is still there: Ready=False naming the objects left and the
/// deadline, and a Warning event. The instance is being deleted, so only its conditions
/// change (a merge patch keeps the inventory the retry needs).
async fn report_failure(obj: &FluxInstance, ctx: &Context, error: &Error) {
    let message = error.to_string();
    let mut status_conditions = obj.status.as_ref().map(|s| s.conditions.clone()).unwrap_or_default();
    conditions::failed(
        &mut status_conditions,
        UNINSTALL_FAILED,
        &message,
        obj.metadata.generation,
        false,
    );
    let api: Api<FluxInstance> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let patch = json!({"status": {"conditions": status_conditions}});
    if let Err(error) = api
        .patch_status(&obj.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        tracing::warn!(%error, "cannot write the uninstall status");
    }
    publish(
        &ctx.recorder,
        &obj.object_ref(&()),
        EventType::Warning,
        UNINSTALL_FAILED,
        &message,
    )
    .await;
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
