//! Takeover: upstream installs Flux for the CobaltCore instance and reaches Ready, is
//! stopped, and ours starts on the same cluster. Ours must adopt what is there: its first
//! reconcile may re-own fields, but must not touch a Deployment's pod template (that would
//! restart every Flux controller).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::api::{Api, DynamicObject, ListParams};
use kube::{Client, ResourceExt};
use serde_json::Value;

use crate::ParityError;
use crate::bed::TestBed;
use crate::observe::{self, Case};
use crate::process::{Flavor, OperatorProcess, RunFlags};
use crate::sync::SyncMode;
use crate::{cases, normalize, prom, sync};

/// What the takeover measured.
pub struct Takeover {
    /// Writes during our first reconcile by (verb, resource, subresource).
    pub writes: BTreeMap<(String, String, String), f64>,
    /// Writes during [`QUIET`] with no operator running, for scale.
    pub background: f64,
    /// Deployments whose generation moved, and ReplicaSets that are new.
    pub changed_deployments: Vec<String>,
    pub new_replica_sets: Vec<String>,
    /// Inventory objects that were written, each with what changed in them.
    pub rewritten: Vec<String>,
    /// Our Ready condition (`status/reason`) after the first reconcile.
    pub ready: String,
}

/// How long the cluster's own writes are counted with no operator running, for scale.
const QUIET: Duration = Duration::from_secs(3);

pub async fn run(upstream: &Flavor) -> Result<Takeover, ParityError> {
    let bed = TestBed::up("takeover", true).await?;
    let result = takeover(upstream, &bed).await;
    bed.down().await;
    result
}

async fn takeover(upstream: &Flavor, bed: &TestBed) -> Result<Takeover, ParityError> {
    let instance = cases::cases()
        .into_iter()
        .find(|(name, _)| name == "example-cobaltcore-management")
        .map(|(_, obj)| obj)
        .expect("the CobaltCore example is a case");
    let case = Case {
        name: "takeover".into(),
        instance,
        sync: SyncMode::Ready,
        flags: RunFlags::default(),
    };
    let namespace = case.namespace();
    bed.prepare(&namespace).await?;
    let _fake = sync::start(&bed.client, &namespace, &case.instance["spec"]["sync"]);
    let instances = install_with(upstream, bed, &case).await?;
    let installed = serde_json::to_value(instances.get("flux").await?).expect("instance as JSON");

    let state = Cluster::read(&bed.client, &namespace, &installed).await?;
    let quiet_start = writes(&bed.client).await?;
    tokio::time::sleep(QUIET).await;
    let before = writes(&bed.client).await?;
    let started = Instant::now();
    let ours = OperatorProcess::start(&Flavor::Ours, bed, &namespace, RunFlags::default(), "ours").await?;
    wait_first_reconcile(&ours).await?;
    observe::wait_idle(&ours, &bed.client, &namespace).await?;
    let after = writes(&bed.client).await?;
    let ready = observe::settle(&instances).await?;
    let state_after = Cluster::read(&bed.client, &namespace, &installed).await?;
    eprintln!("parity: takeover measured in {:.0} s", started.elapsed().as_secs_f64());
    let mut delta = BTreeMap::new();
    for (key, n) in &after {
        let moved = n - before.get(key).copied().unwrap_or(0.0);
        if moved > 0.0 {
            delta.insert(key.clone(), moved);
        }
    }
    let (changed_deployments, new_replica_sets, rewritten) = state.changes(&state_after);
    Ok(Takeover {
        writes: delta,
        background: sum(&before) - sum(&quiet_start),
        changed_deployments,
        new_replica_sets,
        rewritten,
        ready,
    })
}

/// Upstream installs `case` to Ready and is stopped (SIGTERM); returns the instance's API.
async fn install_with(upstream: &Flavor, bed: &TestBed, case: &Case) -> Result<Api<DynamicObject>, ParityError> {
    let namespace = case.namespace();
    let mut theirs = OperatorProcess::start(upstream, bed, &namespace, case.flags, "upstream").await?;
    let instances = case.apply(&bed.client).await?;
    let upstream_ready = observe::settle(&instances).await?;
    if upstream_ready != "True/ReconciliationSucceeded" {
        return Err(ParityError::Timeout(format!(
            "upstream Ready before the takeover, got {upstream_ready}"
        )));
    }
    observe::wait_idle(&theirs, &bed.client, &namespace).await?;
    theirs.terminate().await;
    Ok(instances)
}

/// What a rollout or a rewrite would change: Deployment generations, ReplicaSets, and the
/// objects of upstream's inventory as stored.
struct Cluster {
    generations: BTreeMap<String, i64>,
    replica_sets: BTreeSet<String>,
    objects: BTreeMap<String, Value>,
}

impl Cluster {
    async fn read(client: &Client, namespace: &str, instance: &Value) -> Result<Self, ParityError> {
        let deployments = Api::<Deployment>::namespaced(client.clone(), namespace)
            .list(&ListParams::default())
            .await?;
        let replica_sets = Api::<ReplicaSet>::namespaced(client.clone(), namespace)
            .list(&ListParams::default())
            .await?;
        Ok(Self {
            generations: deployments
                .items
                .iter()
                .map(|d| (d.name_any(), d.metadata.generation.unwrap_or(0)))
                .collect(),
            replica_sets: replica_sets.items.iter().map(ResourceExt::name_any).collect(),
            objects: observe::inventory_objects(client, instance).await?,
        })
    }

    /// Deployments with a new generation, new ReplicaSets, and the rewritten objects: each
    /// `<id>` with `(managedFields only)` when nothing but the field managers changed.
    fn changes(&self, after: &Cluster) -> (Vec<String>, Vec<String>, Vec<String>) {
        let deployments = self
            .generations
            .iter()
            .filter(|(name, generation)| after.generations.get(*name) != Some(*generation))
            .map(|(name, _)| name.clone())
            .collect();
        let replica_sets = after.replica_sets.difference(&self.replica_sets).cloned().collect();
        let mut rewritten = Vec::new();
        for (id, old) in &self.objects {
            let new = after.objects.get(id).unwrap_or(&Value::Null);
            if old["metadata"]["resourceVersion"] == new["metadata"]["resourceVersion"] {
                continue;
            }
            let what = if new.is_null() {
                "deleted"
            } else if normalize::object(old.clone()) == normalize::object(new.clone()) {
                "managedFields only"
            } else {
                "content"
            };
            rewritten.push(format!("{id} ({what})"));
        }
        (deployments, replica_sets, rewritten)
    }
}

async fn wait_first_reconcile(ours: &OperatorProcess) -> Result<(), ParityError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let series = prom::parse(&ours.metrics().await?)?;
        let done: f64 = series
            .iter()
            .filter(|s| s.name == "controller_runtime_reconcile_total")
            .filter(|s| s.labels.get("controller").is_some_and(|c| c == "fluxinstance"))
            .map(|s| s.value)
            .sum();
        if done >= 1.0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(ParityError::Timeout("our first FluxInstance reconcile".into()));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn sum(counts: &BTreeMap<(String, String, String), f64>) -> f64 {
    counts.values().sum()
}

/// The API server's count of writes (not dry-run) by (verb, resource, subresource).
async fn writes(client: &Client) -> Result<BTreeMap<(String, String, String), f64>, ParityError> {
    let request = http::Request::get("/metrics").body(Vec::new()).expect("request");
    let text = client.request_text(request).await?;
    let mut counts = BTreeMap::new();
    let label = |s: &prom::Series, k: &str| s.labels.get(k).cloned().unwrap_or_default();
    for s in prom::parse(&text)?
        .iter()
        .filter(|s| s.name == "apiserver_request_total")
    {
        let verb = label(s, "verb");
        if !label(s, "dry_run").is_empty()
            || !["POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"].contains(&verb.as_str())
        {
            continue;
        }
        *counts
            .entry((verb, label(s, "resource"), label(s, "subresource")))
            .or_insert(0.0) += s.value;
    }
    Ok(counts)
}

/// Writes that the operator never makes: the cluster's controllers rolling out a changed
/// Deployment (pods, ReplicaSets, statuses), the apiserver renewing its identity Lease (ours
/// runs without leader election here) and the harness marking the sync objects ready.
/// Events are posted by both and counted apart.
fn by_operator(verb: &str, resource: &str, sub: &str) -> Option<bool> {
    let cluster = matches!(resource, "pods" | "replicasets" | "leases")
        || (sub == "status" && matches!(resource, "deployments" | "resourcequotas"))
        || (sub == "status"
            && verb == "PATCH"
            && matches!(
                resource,
                "gitrepositories" | "ocirepositories" | "buckets" | "kustomizations"
            ));
    if resource == "events" { None } else { Some(!cluster) }
}

/// `FIGURE takeover: ...`, the line the README quotes.
pub fn figure(t: &Takeover) -> String {
    let mut operator = Vec::new();
    let (mut ours, mut cluster, mut events) = (0.0, 0.0, 0.0);
    for ((verb, resource, sub), n) in &t.writes {
        match by_operator(verb, resource, sub) {
            Some(true) => {
                ours += n;
                let sub = if sub.is_empty() {
                    String::new()
                } else {
                    format!("/{sub}")
                };
                operator.push(format!("{verb} {resource}{sub} x{n}"));
            }
            Some(false) => cluster += n,
            None => events += n,
        }
    }
    format!(
        "FIGURE takeover: {ours} writes by our first reconcile after upstream v0.58.1 ({}); \
         {} Deployments with a new generation, {} new ReplicaSets, {cluster} writes by the cluster's \
         controllers and the harness, {events} events; {} writes in {} s before ours started, with no operator running; \
         objects written: {}",
        operator.join(", "),
        t.changed_deployments.len(),
        t.new_replica_sets.len(),
        t.background,
        QUIET.as_secs(),
        if t.rewritten.is_empty() {
            "none".to_owned()
        } else {
            t.rewritten.join(", ")
        }
    )
}
