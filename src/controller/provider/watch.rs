//! ExternalArtifact changes re-run the providers that select them (SPEC-resourceset §12.6):
//! an artifact created, changed (its labels before or after the change matching) or
//! deleted in any namespace. The watch starts once the CRD exists (Flux ≥ v2.7 installs
//! it), looked for every 10 s.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures::{Stream, StreamExt, stream};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use kube::{Client, ResourceExt};

use super::artifact::{CRD_NAME, api_resource, picks};
use crate::api::{ProviderType, ResourceSetInputProvider};

/// How often the operator looks for the ExternalArtifact CRD until it exists.
const CRD_POLL: Duration = Duration::from_secs(10);

/// What a provider reads of an artifact: its labels (for selectors) and anything else
/// (its revision), which the resource version stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    labels: BTreeMap<String, String>,
    version: Option<String>,
}

type Key = (String, String);

/// The providers to reconcile after ExternalArtifact events, from `providers` (the
/// provider controller's store).
pub fn artifact_triggers(
    client: Client,
    providers: Store<ResourceSetInputProvider>,
) -> impl Stream<Item = ObjectRef<ResourceSetInputProvider>> + Send {
    stream::once(crd_present(client.clone()))
        .flat_map(move |()| {
            let api = Api::<PartialObjectMeta<DynamicObject>>::all_with(client.clone(), &api_resource());
            watcher::watcher(api, watcher::Config::default()).default_backoff()
        })
        .filter_map(|event| async move { event.ok() })
        .scan(HashMap::new(), move |seen, event| {
            let state: Vec<_> = providers.state();
            futures::future::ready(Some(selecting(&state, seen, event)))
        })
        .flat_map(stream::iter)
}

async fn crd_present(client: Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client);
    loop {
        if let Ok(Some(_)) = crds.get_opt(CRD_NAME).await {
            tracing::info!(crd = CRD_NAME, "watching ExternalArtifacts");
            return;
        }
        tokio::time::sleep(CRD_POLL).await;
    }
}

/// The providers whose selectors pick the artifact of `event`, with its labels before or
/// after, when something about it changed.
fn selecting(
    providers: &[std::sync::Arc<ResourceSetInputProvider>],
    seen: &mut HashMap<Key, Seen>,
    event: Event<PartialObjectMeta<DynamicObject>>,
) -> Vec<ObjectRef<ResourceSetInputProvider>> {
    let (obj, deleted) = match event {
        Event::Apply(obj) | Event::InitApply(obj) => (obj, false),
        Event::Delete(obj) => (obj, true),
        Event::Init | Event::InitDone => return Vec::new(),
    };
    let key = (obj.namespace().unwrap_or_default(), obj.name_any());
    let now = Seen {
        labels: obj.labels().clone(),
        version: obj.resource_version(),
    };
    let before = if deleted {
        seen.remove(&key)
    } else {
        seen.insert(key.clone(), now.clone())
    };
    if !deleted && before.as_ref() == Some(&now) {
        return Vec::new();
    }
    let label_sets: Vec<&BTreeMap<String, String>> = before
        .iter()
        .map(|s| &s.labels)
        .chain(std::iter::once(&now.labels))
        .collect();
    providers
        .iter()
        .filter(|p| p.spec.type_ == ProviderType::ExternalArtifact)
        .filter(|p| {
            let own = p.namespace().unwrap_or_default();
            picks(&p.spec.selectors, &own).is_ok_and(|picks| {
                picks
                    .iter()
                    .any(|pick| label_sets.iter().any(|l| pick.selects(&key.0, &key.1, l)))
            })
        })
        .map(|p| ObjectRef::from_obj(p.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;

    fn provider(name: &str, selectors: serde_json::Value) -> Arc<ResourceSetInputProvider> {
        Arc::new(
            serde_json::from_value(json!({
                "apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSetInputProvider",
                "metadata": {"name": name, "namespace": "apps"},
                "spec": {"type": "ExternalArtifact", "selectors": selectors}
            }))
            .expect("provider"),
        )
    }

    fn artifact(ns: &str, labels: serde_json::Value, version: &str) -> PartialObjectMeta<DynamicObject> {
        serde_json::from_value(json!({
            "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
            "metadata": {"name": "a", "namespace": ns, "labels": labels, "resourceVersion": version}
        }))
        .expect("metadata")
    }

    #[test]
    fn artifact_events_reach_the_providers_that_select_them() {
        let providers = [
            provider("by-label", json!([{"matchLabels": {"team": "a"}}])),
            provider("by-name", json!([{"name": "a", "namespace": "*"}])),
        ];
        let mut seen = HashMap::new();
        let mut names = |event| {
            let mut names: Vec<String> = selecting(&providers, &mut seen, event)
                .into_iter()
                .map(|r| r.name)
                .collect();
            names.sort();
            names
        };
        let team_a = json!({"team": "a"});
        assert_eq!(
            names(Event::Apply(artifact("apps", team_a.clone(), "1"))),
            ["by-label", "by-name"]
        );
        assert!(
            names(Event::InitApply(artifact("apps", team_a.clone(), "1"))).is_empty(),
            "a relist"
        );
        assert_eq!(
            names(Event::Apply(artifact("apps", json!({"team": "b"}), "2"))),
            ["by-label", "by-name"],
            "relabelled away"
        );
        assert_eq!(
            names(Event::Apply(artifact("apps", json!({"team": "b"}), "3"))),
            ["by-name"]
        );
        assert_eq!(
            names(Event::Apply(artifact("other", team_a.clone(), "4"))),
            ["by-name"],
            "own namespace only"
        );
        assert_eq!(
            names(Event::Delete(artifact("apps", json!({"team": "b"}), "5"))),
            ["by-name"]
        );
    }
}
