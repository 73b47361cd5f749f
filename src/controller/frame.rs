//! What every reconciler wraps its work in: the span with the keys users query, the
//! finalizer that routes a pass to the work or to the cleanup of a deleted object, and
//! the status write.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event, finalizer};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tracing::Instrument;

use super::Context;
use super::error::Error;
use crate::api::annotation::FINALIZER;
use crate::apply::FIELD_MANAGER;
use crate::metrics::{ControllerMetrics, ReconcileResult};

/// The span of one reconcile, with the keys controller-runtime puts on every reconcile
/// log line, which users query.
pub fn reconcile_span(controller: &str, kind: &str, name: &str, namespace: &str) -> tracing::Span {
    tracing::info_span!(
        "reconcile",
        controller,
        controllerGroup = "fluxcd.controlplane.io",
        controllerKind = kind,
        name,
        namespace,
        reconcileID = %uuid::Uuid::new_v4(),
    )
}

/// [`with_finalizer`] for an object of any namespace, counted in `queue` under `key`.
pub async fn counted_pass<K, F, Fut>(
    client: &kube::Client,
    queue: &ControllerMetrics,
    key: &str,
    controller: &str,
    obj: Arc<K>,
    pass: F,
) -> Result<Action, Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
    K: Clone + DeserializeOwned + Serialize + Debug,
    F: FnOnce(Event<K>) -> Fut,
    Fut: Future<Output = Result<Action, Error>>,
{
    let work = queue.start(key);
    let api: Api<K> = Api::namespaced(client.clone(), &obj.namespace().unwrap_or_default());
    let result = with_finalizer(&api, controller, obj, pass).await;
    work.finish(ReconcileResult::of(&result));
    result
}

/// The retry of a failed pass: logged, and after the key's next backoff delay.
pub fn retry_later(ctx: &Context, controller: &str, key: &str, error: &Error) -> Action {
    let delay = ctx.next_retry_delay(key);
    tracing::warn!(controller, key, retry_in_ms = delay.as_millis() as u64, %error, "reconciliation failed");
    Action::requeue(delay)
}

/// One pass of `controller` over `obj` under the operator's finalizer: `pass` gets an
/// apply or (for a deleted object) a cleanup event.
pub async fn with_finalizer<K, F, Fut>(api: &Api<K>, controller: &str, obj: Arc<K>, pass: F) -> Result<Action, Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
    F: FnOnce(Event<K>) -> Fut,
    Fut: Future<Output = Result<Action, Error>>,
{
    let namespace = obj.namespace().unwrap_or_default();
    let span = reconcile_span(controller, &K::kind(&()), &obj.name_any(), &namespace);
    finalizer(api, FINALIZER, obj, pass)
        .instrument(span)
        .await
        .map_err(|e| Error::Finalizer(Box::new(e)))
}

/// Writes `status` by server-side apply, as the only writer of the status fields.
pub async fn patch_status<K>(ctx: &Context, obj: &K, status: &impl Serialize) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope> + Clone + DeserializeOwned + Debug,
{
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let patch = json!({"apiVersion": K::api_version(&()), "kind": K::kind(&()), "status": status});
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}
