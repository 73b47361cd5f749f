//! The ResourceSet and provider controllers, started together. A set is reconciled when
//! its spec or annotations change and when a provider it reads (by name or by selector,
//! before or after a relabel) is created, deleted, relabelled or exports a new revision.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use futures::channel::mpsc;
use futures::{Stream, StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use kube::core::{PartialObjectMeta, Selector, SelectorExt};
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Config as WatcherConfig, Event};
use kube::{Client, Resource, ResourceExt};

use super::settings::Settings;
use super::shared::Shared;
use super::{SET_CONTROLLER, error_policy, info, reconcile, ref_key};
use crate::api::{ResourceSet, ResourceSetInputProvider};
use crate::controller::Context;
use crate::controller::provider::{self, PROVIDER_CONTROLLER};
use crate::controller::watches::{ManagedWatches, OwnerLabels, Trigger};
use crate::resourceset::build::{OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL};
use crate::resourceset::config_sources::SourceRef;

/// Both controllers, until the returned future is dropped; `watch_client` is the client
/// without a read timeout.
pub fn spawn(ctx: Arc<Context>, watch_client: Client) -> impl Future<Output = ()> + Send {
    let settings = Settings::from_config(&ctx.config);
    let (sets, sets_writer) = reflector::store();
    let (providers, providers_writer) = reflector::store();
    let labels = OwnerLabels {
        name: OWNER_NAME_LABEL,
        namespace: OWNER_NAMESPACE_LABEL,
    };
    let (watches, drift) = ManagedWatches::new(watch_client.clone(), labels, None);
    let shared = Arc::new(Shared {
        set_queue: ctx.metrics.add_controller(SET_CONTROLLER, settings.concurrency.into()),
        provider_queue: ctx
            .metrics
            .add_controller(PROVIDER_CONTROLLER, settings.concurrency.into()),
        ctx,
        settings,
        sets,
        providers,
        triggers: Default::default(),
        sources: Default::default(),
        watches,
        settled: Default::default(),
    });
    let sets = sets_controller(&shared, &watch_client, sets_writer, providers_writer, drift);
    let providers = providers_controller(&shared, &watch_client);
    tracing::info!("starting the ResourceSet and ResourceSetInputProvider controllers");
    async move {
        futures::join!(sets, providers);
    }
}

/// The ResourceSet controller: its own changes, its providers' and its labelled sources'.
fn sets_controller(
    shared: &Arc<Shared>,
    client: &Client,
    sets_writer: reflector::store::Writer<ResourceSet>,
    providers_writer: reflector::store::Writer<ResourceSetInputProvider>,
    drift: mpsc::Receiver<Trigger<ResourceSet>>,
) -> impl Future<Output = ()> + Send + use<> {
    // Our own status writes must not trigger reconciles: only spec, annotations,
    // finalizers and deletion do.
    let set_stream = watcher::watcher(Api::<ResourceSet>::all(client.clone()), WatcherConfig::default())
        .default_backoff()
        .reflect(sets_writer)
        .inspect_ok({
            let metrics = shared.ctx.metrics.clone();
            move |event| info::record(&metrics.resourceset_info, event, info::set_labels)
        })
        .applied_objects()
        .predicate_filter(own_change, Default::default());
    let triggers = watcher::watcher(
        Api::<ResourceSetInputProvider>::all(client.clone()),
        WatcherConfig::default(),
    )
    .default_backoff()
    .reflect(providers_writer)
    .filter_map(|event| async move { event.ok() })
    .scan(HashMap::new(), {
        let shared = shared.clone();
        move |seen, event| {
            let (by, readers) = readers_of(&shared.sets, seen, event);
            for set in &readers {
                shared.triggers.note(ref_key(set), by.clone());
            }
            futures::future::ready(Some(readers))
        }
    })
    .flat_map(stream::iter);
    Controller::for_stream(set_stream, shared.sets.clone())
        .with_config(ControllerConfig::default().concurrency(shared.settings.concurrency))
        .reconcile_on(triggers)
        .reconcile_on(source_triggers(shared, client))
        .reconcile_on(drift_triggers(shared, drift))
        .run(reconcile, error_policy, shared.clone())
        .for_each(|_| async {})
}

/// The provider controller, on its own changes and on those of the ExternalArtifacts it
/// selects (its own watch and store: the sets' store of providers is fed by the trigger
/// stream).
fn providers_controller(shared: &Arc<Shared>, client: &Client) -> impl Future<Output = ()> + Send + use<> {
    let (store, writer) = reflector::store();
    let stream = watcher::watcher(
        Api::<ResourceSetInputProvider>::all(client.clone()),
        WatcherConfig::default(),
    )
    .default_backoff()
    .reflect(writer)
    .inspect_ok({
        let metrics = shared.ctx.metrics.clone();
        move |event| info::record(&metrics.provider_info, event, info::provider_labels)
    })
    .applied_objects()
    .predicate_filter(own_change, Default::default());
    let artifacts = provider::watch::artifact_triggers(client.clone(), store.clone());
    Controller::for_stream(stream, store)
        .with_config(ControllerConfig::default().concurrency(shared.settings.concurrency))
        .reconcile_on(artifacts)
        .run(provider::reconcile, provider::error_policy, shared.clone())
        .for_each(|_| async {})
}

/// The sets whose generated objects drifted or went (see `watches`). A suspended set is
/// left alone; a deletion also cancels the set's health check in progress, which could
/// only time out on the missing object.
fn drift_triggers(
    shared: &Arc<Shared>,
    drift: mpsc::Receiver<Trigger<ResourceSet>>,
) -> impl Stream<Item = ObjectRef<ResourceSet>> + Send + use<> {
    let shared = shared.clone();
    drift.filter_map(move |trigger| {
        let set = shared.sets.get(&trigger.owner).filter(|s| !s.is_disabled());
        if set.is_some() && trigger.deleted {
            shared.triggers.note(ref_key(&trigger.owner), trigger.by);
        }
        futures::future::ready(set.map(|_| trigger.owner))
    })
}

/// The sets to reconcile when a labelled ConfigMap or Secret that one of their config
/// helpers reads changes or goes (its initial list is not a change).
fn source_triggers(shared: &Arc<Shared>, client: &Client) -> impl Stream<Item = ObjectRef<ResourceSet>> + Send + use<> {
    let config = WatcherConfig::default().labels(&shared.settings.watch_configs_label_selector);
    let config_maps = watcher::watcher(Api::<PartialObjectMeta<ConfigMap>>::all(client.clone()), config.clone())
        .default_backoff()
        .map(|e| changed("ConfigMap", e));
    let secrets = watcher::watcher(Api::<PartialObjectMeta<Secret>>::all(client.clone()), config)
        .default_backoff()
        .map(|e| changed("Secret", e));
    let shared = shared.clone();
    stream::select(config_maps, secrets).flat_map(move |source| {
        let readers = source.map(|s| {
            let readers = shared.sources.readers(&s);
            for set in &readers {
                shared.triggers.note(ref_key(set), s.to_string());
            }
            readers
        });
        stream::iter(readers.unwrap_or_default())
    })
}

/// The object an event says changed or went, if it says so.
fn changed<K: Resource>(kind: &str, event: Result<Event<K>, watcher::Error>) -> Option<SourceRef> {
    match event {
        Ok(Event::Apply(obj) | Event::Delete(obj)) => Some(SourceRef {
            kind: kind.to_owned(),
            namespace: obj.namespace().unwrap_or_default(),
            name: obj.name_any(),
        }),
        _ => None,
    }
}

/// Changes that deserve a reconcile: generation, annotations, finalizers, deletion.
fn own_change<K: Resource>(obj: &K) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    crate::controller::gate::fingerprint(obj).hash(&mut hasher);
    obj.finalizers().hash(&mut hasher);
    obj.meta().deletion_timestamp.is_some().hash(&mut hasher);
    Some(hasher.finish())
}

/// What a set reads of a provider: its labels (for selectors), its exported revision and
/// whether it is going away.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    labels: BTreeMap<String, String>,
    revision: Option<String>,
    terminating: bool,
}

fn seen(provider: &ResourceSetInputProvider) -> Seen {
    Seen {
        labels: provider.labels().clone(),
        revision: provider.status.as_ref().and_then(|s| s.last_exported_revision.clone()),
        terminating: provider.metadata.deletion_timestamp.is_some(),
    }
}

/// The sets to reconcile after a provider event: those that read it now or read it
/// before (a relabel away from a selector must prune), when what they read changed; with
/// the provider's `Kind/namespace/name`.
fn readers_of(
    sets: &Store<ResourceSet>,
    seen_before: &mut HashMap<ObjectRef<ResourceSetInputProvider>, Seen>,
    event: Event<ResourceSetInputProvider>,
) -> (String, Vec<ObjectRef<ResourceSet>>) {
    let (provider, now) = match event {
        Event::Apply(p) | Event::InitApply(p) => {
            let now = seen(&p);
            (p, Some(now))
        }
        Event::Delete(p) => (p, None),
        Event::Init | Event::InitDone => return (String::new(), Vec::new()),
    };
    let by = format!(
        "ResourceSetInputProvider/{}/{}",
        provider.namespace().unwrap_or_default(),
        provider.name_any()
    );
    let key = ObjectRef::from_obj(&provider);
    let before = match &now {
        Some(now) => seen_before.insert(key, now.clone()),
        None => seen_before.remove(&key),
    };
    if before.is_some() && before == now {
        return (by, Vec::new());
    }
    // The labels seen before and now; for a deletion, those of the deleted object too.
    let label_sets: Vec<&BTreeMap<String, String>> = before
        .iter()
        .chain(&now)
        .map(|s| &s.labels)
        .chain(std::iter::once(provider.labels()))
        .collect();
    let namespace = provider.namespace();
    let readers = sets
        .state()
        .iter()
        .filter(|s| s.namespace() == namespace)
        .filter(|s| reads(s, &provider.name_any(), &label_sets))
        .map(|s| ObjectRef::from_obj(s.as_ref()))
        .collect();
    (by, readers)
}

/// Whether `set` names the provider `name` or selects any of its label sets.
fn reads(set: &ResourceSet, name: &str, labels: &[&BTreeMap<String, String>]) -> bool {
    set.spec.inputs_from.iter().any(|r| match (&r.name, &r.selector) {
        (Some(n), _) => n == name,
        (None, Some(selector)) => {
            Selector::try_from(selector.clone()).is_ok_and(|s| labels.iter().any(|l| s.matches(l)))
        }
        (None, None) => false,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn set(inputs_from: serde_json::Value) -> ResourceSet {
        serde_json::from_value(json!({
            "apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSet",
            "metadata": {"name": "s", "namespace": "apps"},
            "spec": {"inputsFrom": inputs_from, "resources": []}
        }))
        .expect("set")
    }

    fn provider(labels: serde_json::Value, revision: &str) -> ResourceSetInputProvider {
        serde_json::from_value(json!({
            "apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSetInputProvider",
            "metadata": {"name": "p", "namespace": "apps", "labels": labels},
            "spec": {"type": "Static"}, "status": {"lastExportedRevision": revision}
        }))
        .expect("provider")
    }

    #[test]
    fn only_what_a_set_reads_of_a_provider_triggers_it() {
        let (sets, mut writer) = reflector::store::<ResourceSet>();
        writer.apply_watcher_event(&Event::Apply(set(
            json!([{"selector": {"matchLabels": {"team": "a"}}}]),
        )));
        let mut seen = HashMap::new();
        let mut readers = |event| readers_of(&sets, &mut seen, event).1.len();
        let team_a = json!({"team": "a"});
        assert_eq!(
            readers(Event::InitApply(provider(team_a.clone(), "r1"))),
            1,
            "first sight"
        );
        assert_eq!(
            readers(Event::Apply(provider(team_a.clone(), "r1"))),
            0,
            "a status write alone"
        );
        assert_eq!(
            readers(Event::Apply(provider(team_a.clone(), "r2"))),
            1,
            "a new revision"
        );
        assert_eq!(
            readers(Event::Apply(provider(json!({"team": "b"}), "r2"))),
            1,
            "relabelled away"
        );
        assert_eq!(
            readers(Event::Apply(provider(json!({"team": "c"}), "r2"))),
            0,
            "never selected"
        );
        assert_eq!(
            readers(Event::Delete(provider(json!({"team": "a"}), "r2"))),
            1,
            "deleted"
        );
    }

    #[test]
    fn a_set_reads_providers_by_name_or_by_old_or_new_labels() {
        let by_name = set(json!([{"name": "p"}]));
        let by_labels = set(json!([{"selector": {"matchLabels": {"team": "a"}}}]));
        let team_a = BTreeMap::from([("team".to_owned(), "a".to_owned())]);
        let team_b = BTreeMap::from([("team".to_owned(), "b".to_owned())]);
        assert!(reads(&by_name, "p", &[&team_b]));
        assert!(!reads(&by_name, "q", &[&team_a]));
        assert!(reads(&by_labels, "q", &[&team_a, &team_b]), "relabelled away");
        assert!(!reads(&by_labels, "q", &[&team_b]));
    }
}
