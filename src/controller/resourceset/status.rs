//! What the ResourceSet and provider reconcilers share about reporting: the status write,
//! events and interval annotations.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use kube::Resource;
use kube::runtime::events::EventType;
use serde::Serialize;
use serde::de::DeserializeOwned;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::controller::Action;

use crate::api::annotation::RECONCILE_EVERY;
use crate::api::reason::RECONCILIATION_DISABLED;
use crate::controller::Context;
use crate::controller::Error;
use crate::controller::config::parse_duration;
use crate::controller::events::publish;
use crate::controller::frame::patch_status;
use crate::controller::timing::MIN_EVERY;
use crate::notifier::FluxEvent;

/// A suspended object: a Warning event each pass, status untouched, except that one never
/// reconciled says Ready=True `ReconciliationDisabled` "Initialized with reconciliation
/// suspended". `conditions` picks the conditions out of `status`.
pub async fn suspended<K, S>(
    ctx: &Context,
    obj: &K,
    mut status: S,
    conditions: impl FnOnce(&mut S) -> &mut Vec<Condition>,
) -> Result<Action, Error>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Debug,
    S: Serialize,
{
    let note = Note {
        type_: EventType::Warning,
        reason: RECONCILIATION_DISABLED,
        message: "Reconciliation is disabled",
        revision: None,
        forward: true,
    };
    emit(ctx, obj, note).await;
    let generation = obj.meta().generation;
    let list = conditions(&mut status);
    if list.is_empty() {
        let message = "Initialized with reconciliation suspended";
        crate::api::conditions::succeeded(list, RECONCILIATION_DISABLED, message, generation);
        patch_status(ctx, obj, &status).await.map_err(Error::Kube)?;
    }
    Ok(Action::await_change())
}

/// One event of a reconcile, recorded in Kubernetes and, when `forward`, sent to Flux's
/// notification-controller too.
pub struct Note<'a> {
    pub type_: EventType,
    pub reason: &'a str,
    pub message: &'a str,
    pub revision: Option<&'a str>,
    pub forward: bool,
}

pub async fn emit<K: Resource<DynamicType = ()>>(ctx: &Context, obj: &K, note: Note<'_>) {
    let object = obj.object_ref(&());
    publish(&ctx.recorder, &object, note.type_, note.reason, note.message).await;
    if note.forward {
        ctx.notifier.send(&FluxEvent {
            object,
            warning: note.type_ == EventType::Warning,
            reason: note.reason.to_owned(),
            message: note.message.to_owned(),
            revision: note.revision.map(str::to_owned),
            token: Some(uuid::Uuid::new_v4().to_string()),
        });
    }
}

/// A periodic interval annotation ([`annotation_duration`]), never below
/// [`MIN_EVERY`]: an annotation must not turn the operator into a load generator.
pub fn every(annotations: &BTreeMap<String, String>, default: Duration) -> Duration {
    annotation_duration(annotations, RECONCILE_EVERY, default).max(MIN_EVERY)
}

/// A duration annotation; absent, unparseable or zero gives `default`, as upstream does.
pub fn annotation_duration(annotations: &BTreeMap<String, String>, key: &str, default: Duration) -> Duration {
    annotations
        .get(key)
        .and_then(|v| parse_duration(v).ok())
        .filter(|d| !d.is_zero())
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_intervals_fall_back_to_the_default() {
        let key = "fluxcd.controlplane.io/reconcileEvery";
        let default = Duration::from_secs(600);
        let with = |v: &str| BTreeMap::from([(key.to_owned(), v.to_owned())]);
        assert_eq!(annotation_duration(&with("5s"), key, default), Duration::from_secs(5));
        assert_eq!(annotation_duration(&with("soon"), key, default), default);
        assert_eq!(annotation_duration(&with("0s"), key, default), default);
        assert_eq!(annotation_duration(&BTreeMap::new(), key, default), default);
        assert_eq!(every(&with("10ms"), default), MIN_EVERY);
        assert_eq!(every(&with("5s"), default), Duration::from_secs(5));
    }
}
