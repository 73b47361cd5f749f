//! One operator run of one case, on its own test bed: apply the instance, wait for the outcome
//! of the first reconcile, and take what a user can observe.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use crate::ParityError;
use crate::bed::{FIELD_MANAGER, TestBed, instance_resource};
use crate::process::{Flavor, OperatorProcess, RunFlags};
use crate::sync::{self, SyncMode};
use crate::{kubelet, normalize, prom};

/// One FluxInstance and how the harness treats it.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub instance: Value,
    pub sync: SyncMode,
    pub flags: RunFlags,
}

impl Case {
    pub fn namespace(&self) -> String {
        self.instance["metadata"]["namespace"]
            .as_str()
            .unwrap_or("flux-system")
            .to_owned()
    }

    /// The instance as applied: with the finalizer the operators would add first (skipping
    /// that requeue, whose delay is the retry delay), and a health-check timeout unless the
    /// case sets one: short for Timeout cases, else a bound on what a stuck case costs.
    pub fn applied(&self) -> Value {
        let mut obj = self.instance.clone();
        obj["metadata"]["finalizers"] = json!(["fluxcd.controlplane.io/finalizer"]);
        let annotations = obj["metadata"]
            .as_object_mut()
            .expect("metadata")
            .entry("annotations")
            .or_insert_with(|| json!({}));
        if annotations.get(TIMEOUT_ANNOTATION).is_none() {
            let timeout = if self.sync == SyncMode::Timeout {
                sync::TIMEOUT
            } else {
                "60s"
            };
            annotations[TIMEOUT_ANNOTATION] = json!(timeout);
        }
        obj
    }
}

impl Case {
    /// Applies [`Case::applied`]; returns the API of the instance.
    pub async fn apply(&self, client: &Client) -> Result<Api<DynamicObject>, ParityError> {
        let instances = Api::<DynamicObject>::namespaced_with(client.clone(), &self.namespace(), &instance_resource());
        let params = PatchParams::apply(FIELD_MANAGER).force();
        instances.patch("flux", &params, &Patch::Apply(self.applied())).await?;
        Ok(instances)
    }
}

const TIMEOUT_ANNOTATION: &str = "fluxcd.controlplane.io/reconcileTimeout";

/// What one run showed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Snapshot {
    /// Normalised applied objects by inventory id (null: listed but not found).
    pub objects: BTreeMap<String, Value>,
    pub instance: Value,
    pub report: Value,
    pub metrics: Value,
    /// `status/reason` of the Ready condition.
    pub ready: String,
    pub seconds: f64,
    /// Seconds spent in each step, to see where a run's time goes.
    pub phases: Vec<(&'static str, f64)>,
}

/// Laps of one run.
struct Stopwatch {
    started: Instant,
    last: Instant,
    laps: Vec<(&'static str, f64)>,
}

impl Stopwatch {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            last: Instant::now(),
            laps: Vec::new(),
        }
    }

    fn lap(&mut self, name: &'static str) {
        self.laps.push((name, self.last.elapsed().as_secs_f64()));
        self.last = Instant::now();
    }
}

/// Runs `case` with `flavor` on `bed` (clean, with the CRDs installed by [`TestBed::prepare`]
/// here); the operator is stopped before returning, the bed is left for the caller to clean.
pub async fn run(flavor: &Flavor, case: &Case, bed: &TestBed) -> Result<Snapshot, ParityError> {
    let mut watch = Stopwatch::new();
    observe(flavor, case, bed, &mut watch)
        .await
        .map_err(|e| ParityError::Run(flavor.label(), Box::new(e)))
}

async fn observe(flavor: &Flavor, case: &Case, bed: &TestBed, watch: &mut Stopwatch) -> Result<Snapshot, ParityError> {
    let namespace = case.namespace();
    bed.prepare(&namespace).await?;
    watch.lap("crds");
    let mut operator = OperatorProcess::start(flavor, bed, &namespace, case.flags, &case.name).await?;
    watch.lap("start");
    let instances = case.apply(&bed.client).await?;
    let _kubelet = kubelet::start(&bed.client, &namespace);
    let _fake =
        (case.sync == SyncMode::Ready).then(|| sync::start(&bed.client, &namespace, &case.instance["spec"]["sync"]));
    let settled = settle(&instances).await?;
    watch.lap("settle");
    let series = wait_idle(&operator, &bed.client, &namespace).await?;
    watch.lap("idle");
    if !operator.alive() {
        return Err(ParityError::OperatorExited(
            "during the run".into(),
            operator.log.display().to_string(),
        ));
    }
    let instance = instances.get("flux").await?;
    let instance = serde_json::to_value(instance).expect("instance as JSON");
    let (objects, mut uids) = objects(&bed.client, &instance).await?;
    uids.insert(
        instance["metadata"]["uid"].as_str().unwrap_or_default().to_owned(),
        format!("FluxInstance/{namespace}/flux"),
    );
    let report = get_report(&bed.client, &namespace).await?;
    operator.kill().await;
    watch.lap("collect");
    Ok(Snapshot {
        objects,
        instance: normalize::instance(&instance),
        report: report.as_ref().map(normalize::report).unwrap_or(Value::Null),
        metrics: prom::observe(&series, &uids),
        ready: settled,
        seconds: watch.started.elapsed().as_secs_f64(),
        phases: watch.laps.clone(),
    })
}

/// Waits until the Ready condition reports the outcome of the current generation; returns
/// `status/reason`.
pub async fn settle(instances: &Api<DynamicObject>) -> Result<String, ParityError> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let obj = instances.get("flux").await?;
        let generation = obj.metadata.generation;
        let ready = obj.data["status"]["conditions"]
            .as_array()
            .and_then(|list| list.iter().find(|c| c["type"] == "Ready"))
            .cloned();
        if let Some(c) = ready
            && c["status"] != "Unknown"
            && c["observedGeneration"].as_i64() == generation
        {
            return Ok(format!(
                "{}/{}",
                c["status"].as_str().unwrap_or(""),
                c["reason"].as_str().unwrap_or("")
            ));
        }
        if Instant::now() > deadline {
            return Err(ParityError::Timeout(format!(
                "FluxInstance outcome; status {}",
                obj.data["status"]
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until the operator is idle: its fluxinstance and fluxreport work queues empty
/// (where it exposes them) and neither the instance nor the report written for three polls
/// in a row. Returns the last scrape.
pub async fn wait_idle(
    operator: &OperatorProcess,
    client: &Client,
    namespace: &str,
) -> Result<Vec<prom::Series>, ParityError> {
    let deadline = Instant::now() + Duration::from_secs(45);
    let reports = Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &report_resource());
    let instances = Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &instance_resource());
    let mut last_versions = None;
    let mut quiet = 0;
    loop {
        let series = prom::parse(&operator.metrics().await?)?;
        let busy = ["fluxinstance", "fluxreport"].iter().any(|queue| {
            ["workqueue_depth", "workqueue_unfinished_work_seconds"]
                .iter()
                .any(|family| prom::queue_value(&series, family, queue).is_some_and(|v| v > 0.0))
        });
        let versions = (
            reports.get_opt("flux").await?.and_then(|r| r.metadata.resource_version),
            instances.get("flux").await?.metadata.resource_version,
        );
        quiet = if !busy && last_versions.as_ref() == Some(&versions) {
            quiet + 1
        } else {
            0
        };
        if quiet >= 3 || Instant::now() > deadline {
            return Ok(series);
        }
        last_versions = Some(versions);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn report_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("fluxcd.controlplane.io", "v1", "FluxReport"))
}

async fn get_report(client: &Client, namespace: &str) -> Result<Option<Value>, ParityError> {
    let reports = Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &report_resource());
    Ok(reports
        .get_opt("flux")
        .await?
        .map(|r| serde_json::to_value(r).expect("report as JSON")))
}

/// Every object of the instance's inventory as the API server returns it, by id (null when
/// not found).
pub async fn inventory_objects(client: &Client, instance: &Value) -> Result<BTreeMap<String, Value>, ParityError> {
    let mut resources: HashMap<GroupVersionKind, ApiResource> = HashMap::new();
    let mut objects = BTreeMap::new();
    let entries = instance["status"]["inventory"]["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for entry in entries {
        let id = entry["id"].as_str().unwrap_or_default().to_owned();
        let parts: Vec<&str> = id.split('_').collect();
        let [ns, name, group, kind] = parts[..] else {
            return Err(ParityError::Inventory(id));
        };
        let gvk = GroupVersionKind::gvk(group, entry["v"].as_str().unwrap_or("v1"), kind);
        if !resources.contains_key(&gvk) {
            let (resource, _) = kube::discovery::pinned_kind(client, &gvk).await?;
            resources.insert(gvk.clone(), resource);
        }
        let resource = &resources[&gvk];
        let api: Api<DynamicObject> = if ns.is_empty() {
            Api::all_with(client.clone(), resource)
        } else {
            Api::namespaced_with(client.clone(), ns, resource)
        };
        let found = api
            .get_opt(name)
            .await?
            .map(|o| serde_json::to_value(o).expect("object as JSON"));
        objects.insert(id, found.unwrap_or(Value::Null));
    }
    Ok(objects)
}

/// The inventory's objects normalised, and the uid -> `kind/namespace/name` map for metrics.
async fn objects(
    client: &Client,
    instance: &Value,
) -> Result<(BTreeMap<String, Value>, BTreeMap<String, String>), ParityError> {
    let mut uids = BTreeMap::new();
    let mut objects = BTreeMap::new();
    for (id, obj) in inventory_objects(client, instance).await? {
        let meta = &obj["metadata"];
        if let Some(uid) = meta["uid"].as_str() {
            let kind = obj["kind"].as_str().unwrap_or_default();
            let ns = meta["namespace"].as_str().unwrap_or_default();
            uids.insert(
                uid.to_owned(),
                format!("{kind}/{ns}/{}", meta["name"].as_str().unwrap_or_default()),
            );
        }
        objects.insert(id, if obj.is_null() { obj } else { normalize::object(obj) });
    }
    Ok((objects, uids))
}
