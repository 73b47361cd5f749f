//! What the ResourceSet scenarios share: the `Widget` test CRD (status subresource, a
//! Ready condition only the test writes), applying sets and providers, and waiting on them.

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use std::collections::BTreeMap;

use serde_json::{Value, json};
use tokio::sync::MutexGuard;

use flux_operator_rs::api::{ResourceSet, ResourceSetInputProvider};

use crate::common::{FIELD_MANAGER, client, install_crds, namespace, wait_established};
use crate::harness::{Operator, find_condition, resource, serial, start_operator, wait_for};

pub const WIDGET_GROUP: &str = "test.flux-operator-rs.io";

/// One scenario's test bed: the operator's CRDs and the Widget CRD, a fresh namespace and
/// the operator, held alone (the operator watches every namespace).
pub struct Bed {
    pub client: Client,
    pub ns: String,
    /// Where the operator serves its metrics.
    pub metrics_port: u16,
    /// The operator's flags besides its metrics address.
    flags: Vec<String>,
    _operator: Operator,
    _serial: MutexGuard<'static, ()>,
}

impl Bed {
    pub async fn start(prefix: &str) -> Bed {
        Self::start_with(prefix, &[]).await
    }

    /// [`Bed::start`] with an operator started with `flags` too.
    pub async fn start_with(prefix: &str, flags: &[&str]) -> Bed {
        let serial = serial().await;
        let client = client().await;
        install_crds(&client).await;
        install_widget_crd(&client).await;
        let ns = namespace(&client, prefix).await;
        let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        let (operator, metrics_port) = operator(&ns, &flags);
        Bed {
            _operator: operator,
            flags,
            metrics_port,
            client,
            ns,
            _serial: serial,
        }
    }

    /// Stops the operator and starts a new one, as a rollout would.
    pub fn restart(&mut self) {
        (self._operator, self.metrics_port) = operator(&self.ns, &self.flags);
    }

    /// The series of `metric` the operator serves now. The scrape blocks, so it runs off
    /// the test's runtime, which also runs the operator that must answer it.
    pub async fn series(&self, metric: &str) -> Vec<BTreeMap<String, String>> {
        let port = self.metrics_port;
        let text = tokio::task::spawn_blocking(move || crate::prometheus::scrape(port))
            .await
            .expect("scrape");
        crate::prometheus::series(&text, metric)
    }
}

impl Bed {
    /// Waits until the series of `metric` for the object `name` of the bed's namespace
    /// passes `check` (None: no series).
    pub async fn wait_series(
        &self,
        metric: &str,
        name: &str,
        what: &str,
        check: impl Fn(Option<&BTreeMap<String, String>>) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let all = self.series(metric).await;
            let found = all.iter().find(|s| {
                s.get("name").map(String::as_str) == Some(name) && s.get("exported_namespace") == Some(&self.ns)
            });
            if check(found) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{metric} of {name}: {what}; last: {found:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }
}

/// An operator for `ns` with its metrics on a port of its own.
fn operator(ns: &str, flags: &[String]) -> (Operator, u16) {
    let port = crate::prometheus::free_port();
    let metrics = format!("--metrics-addr=127.0.0.1:{port}");
    let mut all: Vec<&str> = vec![&metrics];
    all.extend(flags.iter().map(String::as_str));
    (start_operator(ns, &all), port)
}

/// `Widget`: free-form spec; its status defaults to an empty conditions list, so that a
/// new Widget is not ready (kstatus: conditions but no Ready) until the test says so.
async fn install_widget_crd(client: &Client) {
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("widgets.{WIDGET_GROUP}")},
        "spec": {"group": WIDGET_GROUP, "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "status": {"type": "object", "default": {"conditions": []},
                        "x-kubernetes-preserve-unknown-fields": true}}}}}]}
    }))
    .expect("Widget CRD");
    apply_crd(client, &crd).await;
}

/// Server-side applies a CRD and waits until it is Established.
pub async fn apply_crd(client: &Client, crd: &CustomResourceDefinition) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = crd.name_any();
    api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(crd))
        .await
        .unwrap_or_else(|e| panic!("apply CRD {name}: {e}"));
    wait_established(&api, &name).await;
}

pub fn widgets(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &resource(WIDGET_GROUP, "v1", "Widget"))
}

/// Sets a Widget's Ready condition, as its controller would.
pub async fn set_widget_ready(client: &Client, ns: &str, name: &str, ready: &str) {
    let patch = json!({"status": {"conditions": [{"type": "Ready", "status": ready, "reason": "Test",
        "message": "set by the test", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
    widgets(client, ns)
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("Widget status");
}

pub async fn apply_set(client: &Client, ns: &str, name: &str, spec: Value, annotations: Value) -> ResourceSet {
    let metadata = json!({"name": name, "namespace": ns, "annotations": annotations});
    apply_ours(client, ns, "ResourceSet", metadata, spec).await
}

pub async fn apply_provider(
    client: &Client,
    ns: &str,
    name: &str,
    labels: Value,
    spec: Value,
) -> ResourceSetInputProvider {
    let metadata = json!({"name": name, "namespace": ns, "labels": labels});
    apply_ours(client, ns, "ResourceSetInputProvider", metadata, spec).await
}

/// Server-side applies one of the operator's kinds.
async fn apply_ours<K>(client: &Client, ns: &str, kind: &str, metadata: Value, spec: Value) -> K
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let name = metadata["name"].as_str().unwrap_or_default().to_owned();
    let obj = json!({"apiVersion": "fluxcd.controlplane.io/v1", "kind": kind, "metadata": metadata, "spec": spec});
    Api::<K>::namespaced(client.clone(), ns)
        .patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&obj))
        .await
        .unwrap_or_else(|e| panic!("apply {kind}/{name}: {e}"))
}

pub async fn wait_set(
    client: &Client,
    ns: &str,
    name: &str,
    seconds: u64,
    what: &str,
    check: impl Fn(&ResourceSet) -> bool,
) -> ResourceSet {
    wait_for(&Api::namespaced(client.clone(), ns), name, seconds, what, check).await
}

/// Deletes a set and waits until it is gone (its finalizer done).
pub async fn delete_set(client: &Client, ns: &str, name: &str) {
    let sets: Api<ResourceSet> = Api::namespaced(client.clone(), ns);
    sets.delete(name, &kube::api::DeleteParams::default())
        .await
        .expect("delete ResourceSet");
    let what = format!("ResourceSet {name} gone");
    wait_until(30, &what, || async { sets.get_opt(name).await.unwrap().is_none() }).await;
}

/// (status, reason, message) of a set's condition.
pub fn cond(obj: &ResourceSet, type_: &str) -> Option<(String, String, String)> {
    find_condition(&obj.status.as_ref()?.conditions, type_)
}

/// Waits until the set's condition `type_` has `status` and `reason`; returns the set and
/// that condition's message.
pub async fn wait_reason(
    client: &Client,
    ns: &str,
    name: &str,
    type_: &str,
    status: &str,
    reason: &str,
) -> (ResourceSet, String) {
    let what = format!("{type_}={status} {reason}");
    let set = wait_set(client, ns, name, 60, &what, |s| has_reason(s, type_, status, reason)).await;
    let message = cond(&set, type_).map(|c| c.2).unwrap_or_default();
    (set, message)
}

/// Ready=True for the current generation and, when given, the requestedAt handled.
pub fn is_ready(obj: &ResourceSet) -> bool {
    obj.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True" && c.observed_generation == obj.metadata.generation)
    })
}

pub fn has_reason(obj: &ResourceSet, type_: &str, status: &str, reason: &str) -> bool {
    cond(obj, type_).is_some_and(|(s, r, _)| s == status && r == reason)
}

pub fn inventory_ids(obj: &ResourceSet) -> Vec<String> {
    let mut ids: Vec<String> = obj
        .status
        .as_ref()
        .and_then(|s| s.inventory.as_ref())
        .map(|i| i.entries.iter().map(|e| e.id.clone()).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

pub async fn config_map(client: &Client, ns: &str, name: &str) -> Option<ConfigMap> {
    Api::<ConfigMap>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .expect("get ConfigMap")
}

/// The names of the ConfigMaps of `ns` the operator made (the API server adds
/// `kube-root-ca.crt` to every namespace).
pub async fn config_map_names(client: &Client, ns: &str) -> Vec<String> {
    let list = Api::<ConfigMap>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .expect("list ConfigMaps");
    let mut names: Vec<String> = list
        .items
        .iter()
        .map(|c| c.name_any())
        .filter(|n| n != "kube-root-ca.crt")
        .collect();
    names.sort();
    names
}

/// A ConfigMap template named `name` in `ns`.
pub fn cm(ns: &str, name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data})
}

/// A Widget template named `name` in `ns`.
pub fn widget(ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": format!("{WIDGET_GROUP}/v1"), "kind": "Widget",
        "metadata": {"name": name, "namespace": ns}, "spec": spec})
}

/// Asserts that `message` starts with `start` and names every one of `parts`.
pub fn says(message: &str, start: &str, parts: &[&str]) {
    assert!(message.starts_with(start), "{message}");
    for part in parts {
        assert!(message.contains(part), "{part:?} not in {message}");
    }
}

/// The events of `ns` about objects of `kind` with `reason`.
pub async fn events(client: &Client, ns: &str, kind: &str, reason: &str) -> Vec<Event> {
    Api::<Event>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.kind.as_deref()) == Some(kind))
        .filter(|e| e.reason.as_deref() == Some(reason))
        .collect()
}

/// Waits until the operator's ConfigMaps of `ns` are exactly `names`.
pub async fn wait_config_maps(client: &Client, ns: &str, seconds: u64, what: &str, names: &[&str]) {
    wait_until(seconds, what, || async { config_map_names(client, ns).await == names }).await
}

pub async fn wait_until<F, Fut>(seconds: u64, what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    crate::reconciler::wait_until(seconds, what, check).await
}
