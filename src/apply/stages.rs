use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;
use serde_json::Value;

use super::{Applier, ChangeSet, Error, ObjectId, readiness};

/// How many objects of a stage are applied at once.
const CONCURRENCY: usize = 8;
const CRD_ESTABLISHED_TIMEOUT: Duration = Duration::from_secs(60);

/// Kinds applied first, so that the rest can refer to them.
fn first_stage(kind: &str) -> bool {
    matches!(kind, "CustomResourceDefinition" | "Namespace" | "ClusterRole")
}

/// Applies the objects in two stages: CRDs, Namespaces and ClusterRoles, then (once the
/// CRDs are Established) the rest. The change set keeps the input order.
pub async fn apply_staged(applier: &Applier<'_>, objects: &[Value]) -> Result<ChangeSet, Error> {
    let (first, rest): (Vec<&Value>, Vec<&Value>) = objects
        .iter()
        .partition(|o| first_stage(o["kind"].as_str().unwrap_or_default()));
    let mut changes = ChangeSet::default();
    changes.entries.extend(apply_all(applier, &first).await?);
    let crds: Vec<String> = first
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_owned))
        .collect();
    wait_established(applier, &crds).await?;
    changes.entries.extend(apply_all(applier, &rest).await?);
    Ok(changes)
}

async fn apply_all(applier: &Applier<'_>, objects: &[&Value]) -> Result<Vec<super::ChangeSetEntry>, Error> {
    // A plain loop rather than `.map(|o| ..)`: a closure here trips the compiler's
    // higher-ranked lifetime check once the reconcile future must be Send.
    let mut pending = Vec::with_capacity(objects.len());
    for obj in objects {
        pending.push(applier.apply(obj));
    }
    stream::iter(pending).buffered(CONCURRENCY).try_collect().await
}

async fn wait_established(applier: &Applier<'_>, names: &[String]) -> Result<(), Error> {
    if names.is_empty() {
        return Ok(());
    }
    let api: Api<CustomResourceDefinition> = Api::all(applier.client.clone());
    let deadline = tokio::time::Instant::now() + CRD_ESTABLISHED_TIMEOUT;
    loop {
        let mut pending = Vec::new();
        for name in names {
            let crd = api.get_opt(name).await.map_err(|source| Error::Read {
                object: ObjectId {
                    group: "apiextensions.k8s.io".into(),
                    version: "v1".into(),
                    kind: "CustomResourceDefinition".into(),
                    namespace: String::new(),
                    name: name.clone(),
                }
                .to_string(),
                source,
            })?;
            let ready = crd
                .and_then(|c| serde_json::to_value(c).ok())
                .is_some_and(|v| readiness(&v).is_ready());
            if !ready {
                pending.push(name.clone());
            }
        }
        if pending.is_empty() {
            return Ok(());
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
