//! Deleting a ResourceSet (SPEC-resourceset §11.8): its inventory goes with it, unless it
//! is suspended or the objects are marked `prune: disabled`; errors are logged, never
//! block the deletion.

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;

use super::status::{Note, emit};
use super::{Error, Run, Shared, gc, key};
use crate::api::ResourceSet;
use crate::apply;

pub async fn cleanup(obj: &ResourceSet, shared: &Shared) -> Result<Action, Error> {
    shared.ctx.reset_failures(&key(obj));
    shared.triggers.clear(&key(obj));
    shared.sources.record(obj, Default::default());
    shared.settled.forget(&key(obj));
    shared
        .watches
        .forget(&kube::runtime::reflector::ObjectRef::from_obj(obj));
    let entries = apply::entries(obj.status.as_ref().and_then(|s| s.inventory.as_ref()));
    if obj.is_disabled() || entries.is_empty() {
        return Ok(Action::await_change());
    }
    if let Some(sa) = &super::service_account(obj, &shared.settings) {
        let api: Api<ServiceAccount> = Api::namespaced(shared.ctx.client.clone(), &obj.namespace().unwrap_or_default());
        if matches!(api.get_opt(sa).await, Ok(None)) {
            // Upstream orphans silently (§15): say so.
            let message = format!("ServiceAccount {sa} not found: the objects of the ResourceSet are left in place");
            let note = Note {
                type_: EventType::Warning,
                reason: "PruneSkipped",
                message: &message,
                revision: None,
                forward: true,
            };
            emit(&shared.ctx, obj, note).await;
            return Ok(Action::await_change());
        }
    }
    let run = Run::new(obj, shared);
    let options = run.apply_options();
    let applier = super::applier(&run.client, run.shared, &options);
    match gc::delete_in_stages(
        &applier,
        &entries,
        shared.settings.appliers_gone_timeout,
        gc::OnError::Continue,
    )
    .await
    {
        Ok(result) => tracing::info!(
            deleted = result.deleted.len(),
            kept = result.kept.len(),
            "ResourceSet deleted"
        ),
        Err(error) => tracing::warn!(%error, "ResourceSet deleted, some of its objects could not be"),
    }
    Ok(Action::await_change())
}
