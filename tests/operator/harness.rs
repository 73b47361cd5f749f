//! Starting the operator in-process, playing kubelet for its Deployments, and reading the
//! API server's request counters.

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Parser;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use tokio::sync::{Mutex, MutexGuard};
use tokio::task::JoinHandle;

use flux_operator_rs::api::{FluxInstance, FluxReport};
use flux_operator_rs::controller::{RunArgs, run_with};

use crate::common::{self, FIELD_MANAGER};

/// The Flux CRDs are cluster-wide: one scenario at a time.
static SERIAL: Mutex<()> = Mutex::const_new(());

pub async fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().await
}

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    run: RunArgs,
}

pub fn distribution() -> String {
    common::project_root()
        .join("../shared/flux-distribution")
        .to_string_lossy()
        .into_owned()
}

/// A running operator; stopped when dropped.
pub struct Operator {
    handle: JoinHandle<Result<(), String>>,
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Starts the operator for `namespace`, with the shared Flux distribution as its data.
/// The operator builds its own client from the test bed's kubeconfig, as `run` does, so
/// that its request counters see its requests only.
pub fn start_operator(namespace: &str, extra: &[&str]) -> Operator {
    start_operator_until(namespace, extra, std::future::pending())
}

/// Like [`start_operator`]; `shutdown` resolving stops it gracefully, as SIGTERM does.
pub fn start_operator_until(
    namespace: &str,
    extra: &[&str],
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> Operator {
    let defaults = [
        format!("--runtime-namespace={namespace}"),
        format!("--storage-path={}", distribution()),
        "--enable-leader-election=false".to_owned(),
        "--min-retry-delay=500ms".to_owned(),
        "--max-retry-delay=5s".to_owned(),
        "--metrics-addr=127.0.0.1:0".to_owned(),
        "--health-addr=127.0.0.1:0".to_owned(),
    ];
    let flag = |arg: &str| arg.split('=').next().unwrap_or_default().to_owned();
    let overridden: Vec<String> = extra.iter().map(|a| flag(a)).collect();
    let mut argv = vec!["test".to_owned()];
    argv.extend(defaults.into_iter().filter(|d| !overridden.contains(&flag(d))));
    argv.extend(extra.iter().map(|s| s.to_string()));
    let args = Args::try_parse_from(&argv)
        .unwrap_or_else(|e| panic!("operator flags {argv:?}: {e}"))
        .run;
    Operator {
        handle: tokio::spawn(async move { run_with(common::config().await, args, shutdown).await }),
    }
}

/// A loopback port free at the time of asking.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Marks every Deployment of the namespace ready, as a kubelet and the deployment
/// controller would, until dropped.
pub struct Kubelet {
    handle: JoinHandle<()>,
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

pub fn start_kubelet(client: &Client, namespace: &str) -> Kubelet {
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    Kubelet {
        handle: tokio::spawn(async move {
            loop {
                if let Ok(list) = api.list(&ListParams::default()).await {
                    for d in list.items {
                        mark_ready(&api, &d).await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }),
    }
}

async fn mark_ready(api: &Api<Deployment>, d: &Deployment) {
    let generation = d.metadata.generation.unwrap_or(1);
    let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let status = d.status.clone().unwrap_or_default();
    if status.observed_generation == Some(generation) && status.available_replicas == Some(replicas) {
        return;
    }
    let patch = json!({"status": {
        "observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
        "readyReplicas": replicas, "availableReplicas": replicas,
        "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                        "lastUpdateTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"}]
    }});
    let _ = api
        .patch_status(&d.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await;
}

/// Applies a FluxInstance `flux` with the given spec.
pub async fn apply_instance(client: &Client, namespace: &str, spec: Value, annotations: Value) -> FluxInstance {
    let api: Api<FluxInstance> = Api::namespaced(client.clone(), namespace);
    let obj = json!({
        "apiVersion": "fluxcd.controlplane.io/v1", "kind": "FluxInstance",
        "metadata": {"name": "flux", "namespace": namespace, "annotations": annotations},
        "spec": spec,
    });
    api.patch("flux", &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&obj))
        .await
        .expect("apply FluxInstance")
}

/// Waits until `check` holds for the instance, or panics with its last state.
pub async fn wait_instance(
    client: &Client,
    namespace: &str,
    seconds: u64,
    what: &str,
    check: impl Fn(&FluxInstance) -> bool,
) -> FluxInstance {
    let api: Api<FluxInstance> = Api::namespaced(client.clone(), namespace);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let last = api.get_opt("flux").await.expect("get FluxInstance");
        if let Some(obj) = &last
            && check(obj)
        {
            return obj.clone();
        }
        if tokio::time::Instant::now() > deadline {
            let status = last.map(|o| serde_json::to_string_pretty(&o.status).unwrap_or_default());
            panic!("timed out after {seconds}s waiting for: {what}\nlast status: {status:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub fn condition(obj: &FluxInstance, type_: &str) -> Option<(String, String, String)> {
    obj.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

pub fn is_ready_at(obj: &FluxInstance, revision_prefix: &str) -> bool {
    let ready = condition(obj, "Ready").is_some_and(|(s, r, _)| s == "True" && r == "ReconciliationSucceeded");
    let status = obj.status.as_ref();
    ready
        && status
            .and_then(|s| s.last_applied_revision.as_deref())
            .is_some_and(|r| r.starts_with(revision_prefix))
        && status.and_then(|s| s.observed_generation) == obj.metadata.generation
}

pub fn resource(group: &str, version: &str, kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

/// Creates a Flux object and, unless `status` is null (objects no controller writes a
/// status to), sets its status through the status subresource, as its controller would.
pub async fn flux_object(client: &Client, ns: &str, ar: &ApiResource, name: &str, spec: Value, status: Value) {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, ar);
    let obj = json!({"apiVersion": ar.api_version, "kind": ar.kind, "metadata": {"name": name, "namespace": ns}, "spec": spec});
    api.patch(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&obj))
        .await
        .expect("create Flux object");
    if status.is_null() {
        return;
    }
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&json!({"status": status})))
        .await
        .expect("status");
}

/// A `conditions` list with one Ready condition.
pub fn ready(status: &str, reason: &str) -> Value {
    json!([{"type": "Ready", "status": status, "reason": reason, "message": format!("{reason} message"),
            "lastTransitionTime": "2026-01-01T00:00:00Z"}])
}

/// Asks the operator to recompute the FluxReport (and with it the metrics) through the
/// requestedAt annotation; returns the report once it has handled `token`.
pub async fn request_report(client: &Client, ns: &str, token: &str) -> FluxReport {
    let api: Api<FluxReport> = Api::namespaced(client.clone(), ns);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(report) = api.get_opt("flux").await.unwrap() {
            let handled = report.status.as_ref().and_then(|s| s.last_handled_reconcile_at.clone());
            if handled.as_deref() == Some(token) {
                return report;
            }
            let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}});
            api.patch("flux", &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .unwrap();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the FluxReport did not handle requestedAt {token}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// (verb, dry_run, resource, subresource) of the API server's request counter.
pub type RequestKey = (String, String, String, String);

pub type RequestCounts = BTreeMap<RequestKey, f64>;

/// The API server's request counters, summed by [`RequestKey`].
pub async fn request_counts(client: &Client) -> RequestCounts {
    let req = http::Request::get("/metrics").body(Vec::new()).expect("request");
    let text = client.request_text(req).await.expect("GET /metrics");
    let mut counts = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("apiserver_request_total{")) {
        let Some((labels, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let label = |name: &str| {
            labels
                .split(&format!("{name}=\""))
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_default()
                .to_owned()
        };
        let key = (label("verb"), label("dry_run"), label("resource"), label("subresource"));
        *counts.entry(key).or_insert(0.0) += value.parse::<f64>().unwrap_or(0.0);
    }
    counts
}
