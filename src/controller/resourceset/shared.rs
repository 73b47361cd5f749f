use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use kube::runtime::reflector::{ObjectRef, Store};

use super::settings::Settings;
use crate::api::{ResourceSet, ResourceSetInputProvider};
use crate::controller::Context;
use crate::controller::settled::Settled;
use crate::controller::watches::ManagedWatches;
use crate::metrics::ControllerMetrics;
use crate::resourceset::config_sources::SourceRef;

/// What the ResourceSet and provider reconciles share beyond the operator's [`Context`]:
/// both stores (a set reads its providers from one, a wait checks for a newer set in the
/// other) and the workqueue metrics of both controllers.
pub struct Shared {
    pub ctx: Arc<Context>,
    pub settings: Settings,
    pub sets: Store<ResourceSet>,
    pub providers: Store<ResourceSetInputProvider>,
    pub set_queue: ControllerMetrics,
    pub provider_queue: ControllerMetrics,
    /// Provider changes since each set last read its inputs, by set key: a health check
    /// of inputs that changed is moot.
    pub triggers: Triggers,
    /// The ConfigMaps and Secrets each set's config helpers read, by set key.
    pub sources: SourceIndex,
    /// Watches of the kinds the sets applied: drift and deletions reconcile their set.
    pub watches: ManagedWatches<ResourceSet>,
    /// The revision and watch epoch of each set's last successful apply, by set key.
    pub settled: Settled,
}

/// Which sets read which ConfigMaps and Secrets.
#[derive(Debug, Default)]
pub struct SourceIndex(Mutex<HashMap<ObjectRef<ResourceSet>, BTreeSet<SourceRef>>>);

impl SourceIndex {
    pub fn record(&self, set: &ResourceSet, sources: BTreeSet<SourceRef>) {
        let mut index = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if sources.is_empty() {
            index.remove(&ObjectRef::from_obj(set));
        } else {
            index.insert(ObjectRef::from_obj(set), sources);
        }
    }

    /// The sets that read `source`.
    pub fn readers(&self, source: &SourceRef) -> Vec<ObjectRef<ResourceSet>> {
        let index = self.0.lock().unwrap_or_else(|e| e.into_inner());
        index
            .iter()
            .filter(|(_, sources)| sources.contains(source))
            .map(|(set, _)| set.clone())
            .collect()
    }
}

/// The object whose change last asked for a new reconcile of each set.
#[derive(Debug, Default)]
pub struct Triggers(Mutex<HashMap<String, String>>);

impl Triggers {
    pub fn note(&self, set_key: String, by: String) {
        self.lock().insert(set_key, by);
    }

    /// Forgets the trigger of `set_key`: its reconcile is about to read the inputs.
    pub fn clear(&self, set_key: &str) {
        self.lock().remove(set_key);
    }

    pub fn get(&self, set_key: &str) -> Option<String> {
        self.lock().get(set_key).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
