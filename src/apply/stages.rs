use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;
use serde_json::Value;

use super::{Applier, ChangeSet, Error, ObjectId, readiness};

/// How many objects of a stage are applied at once.
const CONCURRENCY: usize = 8;
const CRD_ESTABLISHED_TIMEOUT: Duration = Duration::from_secs(60);
/// How often CRDs deleted right after their apply are applied again before giving up.
const CRD_REAPPLY_ATTEMPTS: usize = 3;

/// Kinds applied first, so that the rest can refer to them.
fn first_stage(kind: &str) -> bool {
    matches!(kind, "CustomResourceDefinition" | "Namespace" | "ClusterRole")
}

/// Applies the objects in two stages: CRDs, Namespaces and ClusterRoles, then (once the
/// CRDs are Established) the rest. The change set keeps the input order.
///
/// A CRD being deleted when it is applied (a repair racing the deletion it repairs) is
/// waited for until it is gone and then applied again: the API server accepts an apply to
/// a terminating object, and the deletion would otherwise win.
pub async fn apply_staged(applier: &Applier<'_>, objects: &[Value]) -> Result<ChangeSet, Error> {
    let (first, rest): (Vec<&Value>, Vec<&Value>) = objects
        .iter()
        .partition(|o| first_stage(o["kind"].as_str().unwrap_or_default()));
    let mut changes = ChangeSet::default();
    changes.entries.extend(apply_all(applier, &first).await?);
    let crds: Vec<&Value> = first
        .iter()
        .copied()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .collect();
    let mut attempts = 0;
    loop {
        let gone = wait_established(applier, &crds).await?;
        if gone.is_empty() {
            break;
        }
        attempts += 1;
        if attempts > CRD_REAPPLY_ATTEMPTS {
            return Err(Error::CrdsNotEstablished {
                seconds: CRD_ESTABLISHED_TIMEOUT.as_secs(),
                names: gone.iter().map(|o| name(o)).collect::<Vec<_>>().join(", "),
            });
        }
        for entry in apply_all(applier, &gone).await? {
            match changes.entries.iter_mut().find(|e| e.object == entry.object) {
                Some(earlier) => *earlier = entry,
                None => changes.entries.push(entry),
            }
        }
    }
    changes.entries.extend(apply_all(applier, &rest).await?);
    Ok(changes)
}

fn name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

/// Applies one stage whole or not at all: every object is dry-run first, and nothing is
/// written when the API server refuses any of them.
async fn apply_all(applier: &Applier<'_>, objects: &[&Value]) -> Result<Vec<super::ChangeSetEntry>, Error> {
    // Plain loops rather than `.map(|o| ..)`: a closure here trips the compiler's
    // higher-ranked lifetime check once the reconcile future must be Send.
    let mut plans = Vec::with_capacity(objects.len());
    for obj in objects {
        plans.push(applier.plan(obj));
    }
    let planned: Vec<_> = stream::iter(plans).buffered(CONCURRENCY).try_collect().await?;
    let mut commits = Vec::with_capacity(planned.len());
    for p in planned {
        commits.push(applier.commit(p));
    }
    stream::iter(commits).buffered(CONCURRENCY).try_collect().await
}

/// Waits until every CRD is Established; returns those found deleted instead (none when
/// all are Established). A terminating CRD is waited for until it is gone.
async fn wait_established<'v>(applier: &Applier<'_>, crds: &[&'v Value]) -> Result<Vec<&'v Value>, Error> {
    if crds.is_empty() {
        return Ok(Vec::new());
    }
    let api: Api<CustomResourceDefinition> = Api::all(applier.client.clone());
    let deadline = tokio::time::Instant::now() + CRD_ESTABLISHED_TIMEOUT;
    loop {
        let (mut pending, mut gone) = (Vec::new(), Vec::new());
        for crd in crds {
            let live = api.get_opt(name(crd)).await.map_err(|source| Error::Read {
                object: crd_id(name(crd)).to_string(),
                source,
            })?;
            match live.and_then(|c| serde_json::to_value(c).ok()) {
                None => gone.push(*crd),
                // Held by the objects of its kind that cannot be deleted (their controller
                // is gone, their finalizers stay): say so, it will not pass by itself.
                Some(live) if !live["metadata"]["deletionTimestamp"].is_null() => {
                    pending.push(format!("{} (being deleted)", name(crd)))
                }
                Some(live) if !readiness(&live).is_ready() => pending.push(name(crd).to_owned()),
                Some(_) => {}
            }
        }
        if !gone.is_empty() || pending.is_empty() {
            return Ok(gone);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::CrdsNotEstablished {
                seconds: CRD_ESTABLISHED_TIMEOUT.as_secs(),
                names: pending.join(", "),
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn crd_id(name: &str) -> ObjectId {
    ObjectId {
        group: "apiextensions.k8s.io".into(),
        version: "v1".into(),
        kind: "CustomResourceDefinition".into(),
        namespace: String::new(),
        name: name.to_owned(),
    }
}
