//! ResourceSets under both operators: the same Static providers and ResourceSets (Flatten
//! with inline sets and a selector, Permute over inline sets and a provider, commonMetadata,
//! a resourcesTemplate) applied on a test bed of each, and what a user sees compared: the
//! generated objects, each set's inventory and the providers' exported inputs.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use crate::ParityError;
use crate::bed::{FIELD_MANAGER, TestBed};
use crate::process::{Flavor, OperatorProcess, RunFlags};
use flux_operator_rs::resourceset::template::ids::adler32;

const NS: &str = "flux-system";
const OWNER: &str = "resourceset.fluxcd.controlplane.io/name";

/// What a user sees of the ResourceSets after both are Ready.
#[derive(Debug, PartialEq)]
pub struct Seen {
    /// Generated objects by kind/name: labels, annotations, data.
    pub objects: BTreeMap<String, Value>,
    /// Each set's inventory entries.
    pub inventories: BTreeMap<String, Value>,
    /// Each provider's exported inputs, `id` checked against its UID and then left out.
    pub exported: BTreeMap<String, Value>,
}

fn ours_kind(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("fluxcd.controlplane.io", "v1", kind))
}

fn provider(name: &str, team: &str, values: Value) -> Value {
    json!({"apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSetInputProvider",
        "metadata": {"name": name, "namespace": NS, "labels": {"team": team}},
        "spec": {"type": "Static", "defaultValues": values}})
}

fn set(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSet",
        "metadata": {"name": name, "namespace": NS}, "spec": spec})
}

fn select(team: &str) -> Value {
    json!([{"apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSetInputProvider",
        "selector": {"matchLabels": {"team": team}}}])
}

/// The providers, then the sets.
fn manifests() -> Vec<Value> {
    let tenants = set(
        "tenants",
        json!({
            "inputs": [{"tenant": "inline", "replicas": 1}],
            "inputsFrom": select("a"),
            "commonMetadata": {"labels": {"platform": "parity"}, "annotations": {"owner": "team-<< inputs.tenant >>"}},
            "resources": [{"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "tenant-<< inputs.tenant | slugify >>", "namespace": NS},
                "data": {"replicas": "r<< inputs.replicas >>", "from": "<< inputs.provider.kind >>"}}],
            "resourcesTemplate": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token-<< inputs.tenant | slugify >>\n  \
                namespace: flux-system\nstringData:\n  value: << inputs.tenant | sha256sum | trunc 16 >>\n"
        }),
    );
    let matrix = set(
        "matrix",
        json!({
            "inputStrategy": {"name": "Permute"},
            "inputs": [{"env": "dev"}, {"env": "prod"}],
            "inputsFrom": select("b"),
            "resources": [{"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "<< inputs.matrix.env >>-<< inputs.regions.region >>-<< inputs.id >>", "namespace": NS},
                "data": {"zone": "<< inputs.regions.zone >>"}}]
        }),
    );
    vec![
        provider("tenant-a", "a", json!({"tenant": "alpha", "replicas": 2})),
        provider("tenant-b", "a", json!({"tenant": "Beta Team", "replicas": 3})),
        provider("regions", "b", json!({"region": "eu", "zone": "eu-1a"})),
        tenants,
        matrix,
    ]
}

/// Applies the manifests under `flavor` on a bed of its own and reads what it made.
pub async fn observe(flavor: &Flavor) -> Result<Seen, ParityError> {
    let label = flavor.label().replace(' ', "-").replace('.', "");
    let bed = TestBed::up(&format!("rset-{label}"), false).await?;
    let seen = run(flavor, &bed).await;
    bed.down().await;
    seen
}

async fn run(flavor: &Flavor, bed: &TestBed) -> Result<Seen, ParityError> {
    bed.prepare(NS).await?;
    let flags = RunFlags {
        default_retry: true,
        ..RunFlags::default()
    };
    let mut operator = OperatorProcess::start(flavor, bed, NS, flags, "rset").await?;
    let client = &bed.client;
    for manifest in manifests() {
        let kind = manifest["kind"].as_str().unwrap_or_default().to_owned();
        let name = manifest["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NS, &ours_kind(&kind));
        api.patch(&name, &PatchParams::apply(FIELD_MANAGER), &Patch::Apply(&manifest))
            .await?;
    }
    let sets: Api<DynamicObject> = Api::namespaced_with(client.clone(), NS, &ours_kind("ResourceSet"));
    let mut inventories = BTreeMap::new();
    // Each set is Ready once before its providers export (with its inline sets only):
    // wait for the inventory of all its inputs.
    for (name, entries) in [("tenants", 6), ("matrix", 2)] {
        let ready = wait_ready(&sets, name, entries).await?;
        inventories.insert(name.to_owned(), ready["status"]["inventory"]["entries"].clone());
    }
    let seen = Seen {
        objects: generated(client).await?,
        inventories,
        exported: exported(client).await?,
    };
    operator.kill().await;
    Ok(seen)
}

async fn wait_ready(api: &Api<DynamicObject>, name: &str, entries: usize) -> Result<Value, ParityError> {
    let mut last = Value::Null;
    for _ in 0..240 {
        let obj = serde_json::to_value(api.get(name).await?).unwrap_or_default();
        last = obj["status"].clone();
        let conditions = obj["status"]["conditions"].as_array().cloned().unwrap_or_default();
        let ready = conditions.iter().any(|c| c["type"] == "Ready" && c["status"] == "True");
        let inventory = obj["status"]["inventory"]["entries"].as_array().map_or(0, Vec::len);
        if ready && inventory == entries {
            return Ok(obj);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(ParityError::Timeout(format!(
        "ResourceSet {name} Ready (status: {last})"
    )))
}

/// The ConfigMaps and Secrets with the owner label: what a user reads of them.
async fn generated(client: &kube::Client) -> Result<BTreeMap<String, Value>, ParityError> {
    let mut objects = BTreeMap::new();
    let params = ListParams::default().labels(OWNER);
    for (kind, version) in [("ConfigMap", "v1"), ("Secret", "v1")] {
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("", version, kind));
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NS, &resource);
        for obj in api.list(&params).await? {
            let value = serde_json::to_value(&obj).unwrap_or_default();
            let name = value["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            let seen = json!({"labels": value["metadata"]["labels"], "annotations": value["metadata"]["annotations"],
                "data": value["data"], "type": value["type"]});
            objects.insert(format!("{kind}/{name}"), seen);
        }
    }
    Ok(objects)
}

/// Each provider's exported inputs once it exported: the `id` is the Adler-32 of the UID
/// (checked), which differs between the two beds, so it is left out of the comparison.
async fn exported(client: &kube::Client) -> Result<BTreeMap<String, Value>, ParityError> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NS, &ours_kind("ResourceSetInputProvider"));
    let mut all = BTreeMap::new();
    for obj in api.list(&ListParams::default()).await? {
        let value = serde_json::to_value(&obj).unwrap_or_default();
        let uid = value["metadata"]["uid"].as_str().unwrap_or_default();
        let mut sets = value["status"]["exportedInputs"].clone();
        for set in sets.as_array_mut().into_iter().flatten() {
            let expected = adler32(uid.as_bytes()).to_string();
            let id = set.as_object_mut().and_then(|s| s.remove("id"));
            if id != Some(Value::String(expected.clone())) {
                return Err(ParityError::Inventory(format!(
                    "exported id {id:?}, expected {expected}"
                )));
            }
        }
        all.insert(value["metadata"]["name"].as_str().unwrap_or_default().to_owned(), sets);
    }
    Ok(all)
}
