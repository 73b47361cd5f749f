//! Starting the operator in-process, playing kubelet for its Deployments, and reading the
//! API server's request counters.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use tokio::sync::{Mutex, MutexGuard};
use tokio::task::JoinHandle;

use flux_operator_rs::api::{FluxInstance, FluxReport};
use flux_operator_rs::controller::config::parse_duration;
use flux_operator_rs::controller::{OperatorConfig, run_with};

use crate::common::{self, FIELD_MANAGER};

/// The Flux CRDs are cluster-wide: one scenario at a time.
static SERIAL: Mutex<()> = Mutex::const_new(());

pub async fn serial() -> MutexGuard<'static, ()> {
    let guard = SERIAL.lock().await;
    clear_leftovers().await;
    guard
}

/// Deletes the ResourceSets and providers earlier scenarios left in any namespace, their
/// finalizers dropped (no operator runs between scenarios): each scenario's operator
/// watches every namespace, and a leftover set reconciled every few seconds would be
/// counted in the next scenario's API requests. What the sets made stays, inert.
async fn clear_leftovers() {
    let client = common::client().await;
    for kind in ["ResourceSet", "ResourceSetInputProvider"] {
        let resource = resource("fluxcd.controlplane.io", "v1", kind);
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        // The CRDs may not be installed yet.
        let Ok(list) = api.list(&Default::default()).await else {
            continue;
        };
        for obj in list {
            let (name, ns) = (obj.name_any(), obj.namespace().unwrap_or_default());
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &resource);
            let unfinalized = serde_json::json!({"metadata": {"finalizers": null}});
            let _ = api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&unfinalized))
                .await;
            let _ = api.delete(&name, &Default::default()).await;
        }
    }
}

pub fn distribution() -> String {
    common::project_root()
        .join("../shared/flux-distribution")
        .to_string_lossy()
        .into_owned()
}

/// A running operator; stopped when dropped.
pub struct Operator {
    handle: JoinHandle<Result<(), flux_operator_rs::controller::RunError>>,
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
    let config = operator_config(namespace, extra);
    Operator {
        handle: tokio::spawn(async move { run_with(common::config().await, config, shutdown).await }),
    }
}

/// The configuration the tests run the operator with: the shared distribution, no leader
/// election, short retries, ports the system picks; `extra` flags override.
pub fn operator_config(namespace: &str, extra: &[&str]) -> OperatorConfig {
    let mut config = OperatorConfig {
        runtime_namespace: namespace.to_owned(),
        storage_path: distribution().into(),
        enable_leader_election: false,
        min_retry_delay: Duration::from_millis(500),
        max_retry_delay: Duration::from_secs(5),
        metrics_addr: "127.0.0.1:0".to_owned(),
        health_addr: "127.0.0.1:0".to_owned(),
        ..OperatorConfig::default()
    };
    for flag in extra {
        set_flag(&mut config, flag);
    }
    config
}

/// The tests' operator flags, as `run` would read them (the binary's own parsing is
/// tested with the binary: `process::` and the chart tests start it).
fn set_flag(config: &mut OperatorConfig, flag: &str) {
    let (name, value) = flag.split_once('=').unwrap_or((flag, "true"));
    let duration = || parse_duration(value).unwrap_or_else(|e| panic!("{flag}: {e}"));
    let on = || value.parse::<bool>().unwrap_or_else(|e| panic!("{flag}: {e}"));
    match name {
        "--enable-leader-election" => config.enable_leader_election = on(),
        "--leader-election-lease-duration" => config.leader_election_lease_duration = duration(),
        "--leader-election-renew-deadline" => config.leader_election_renew_deadline = duration(),
        "--leader-election-retry-period" => config.leader_election_retry_period = duration(),
        "--concurrent" => config.concurrent = value.parse().unwrap_or_else(|e| panic!("{flag}: {e}")),
        "--reporting-interval" => config.reporting_interval = duration(),
        "--metrics-addr" => config.metrics_addr = value.to_owned(),
        "--health-addr" => config.health_addr = value.to_owned(),
        "--requeue-dependency" => config.requeue_dependency = duration(),
        "--default-service-account" => config.default_service_account = Some(value.to_owned()),
        "--default-workload-identity-service-account" => {
            config.default_workload_identity_service_account = Some(value.to_owned())
        }
        "--notification-controller-address" => config.notification_controller_address = Some(value.to_owned()),
        "--artifact-plain-http-registries" => {
            config.artifact_plain_http_registries = value.split(',').map(str::to_owned).collect()
        }
        "--artifact-cache-path" => config.artifact_cache_path = Some(value.into()),
        "--artifact-ca-file" => config.artifact_ca_file = Some(value.into()),
        "--artifact-timeout" => config.artifact_timeout = duration(),
        "--storage-path" => config.storage_path = value.into(),
        other => panic!("the test harness does not know the flag {other}"),
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
    wait_for(&api, "flux", seconds, what, check).await
}

/// Polls the object until `check` holds, or panics with its last status.
pub async fn wait_for<K>(api: &Api<K>, name: &str, seconds: u64, what: &str, check: impl Fn(&K) -> bool) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let last = api.get_opt(name).await.expect("get");
        if let Some(obj) = &last
            && check(obj)
        {
            return obj.clone();
        }
        if tokio::time::Instant::now() > deadline {
            let status = last.map(|o| {
                serde_json::to_string_pretty(&serde_json::to_value(&o).unwrap_or_default()["status"])
                    .unwrap_or_default()
            });
            panic!("timed out after {seconds}s waiting for: {what}\nlast status: {status:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub fn condition(obj: &FluxInstance, type_: &str) -> Option<(String, String, String)> {
    find_condition(&obj.status.as_ref()?.conditions, type_)
}

/// (status, reason, message) of the condition `type_`.
pub fn find_condition(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    type_: &str,
) -> Option<(String, String, String)> {
    conditions
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
        && ready_generation(obj) == obj.metadata.generation
}

/// The generation the Ready condition was written for (upstream has no
/// status.observedGeneration; the conditions carry it).
pub fn ready_generation(obj: &FluxInstance) -> Option<i64> {
    obj.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.observed_generation)
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

/// How many reconciles of `controller` (`fluxinstance`, `resourceset`, ...) the operator
/// serving metrics on `port` has finished, whatever their result.
pub async fn reconciles(port: u16, controller: &str) -> f64 {
    let url = format!("http://127.0.0.1:{port}/metrics");
    let text = reqwest::get(&url).await.expect("metrics").text().await.expect("text");
    let label = format!("controller=\"{controller}\"");
    text.lines()
        .filter(|l| l.starts_with("controller_runtime_reconcile_total{") && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
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

/// Stops this test bed's kube-apiserver (`hack/testbed.sh stop-apiserver`): an outage until
/// [`start_apiserver`]. Only for scenarios that hold [`serial`].
pub fn stop_apiserver() {
    testbed_command("stop-apiserver");
}

/// Starts the kube-apiserver stopped by [`stop_apiserver`] with the same arguments; returns
/// once it answers /readyz.
pub fn start_apiserver() {
    testbed_command("start-apiserver");
}

fn testbed_command(command: &str) {
    let status = std::process::Command::new(common::project_root().join("hack/testbed.sh"))
        .arg(command)
        .arg(common::testbed_dir())
        .status()
        .expect("run hack/testbed.sh");
    assert!(status.success(), "hack/testbed.sh {command} failed");
}

/// The events of `ns` about FluxInstances with `reason`.
pub async fn instance_events(client: &Client, ns: &str, reason: &str) -> Vec<k8s_openapi::api::events::v1::Event> {
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), ns);
    events
        .list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.kind.as_deref()) == Some("FluxInstance"))
        .filter(|e| e.reason.as_deref() == Some(reason))
        .collect()
}
