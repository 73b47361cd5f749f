use std::collections::HashMap;
use std::sync::Mutex;

use kube::Client;
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{ApiCapabilities, Scope};

use super::ObjectId;

/// Resolves kinds to API resources (plural, scope), asking the API server once per kind.
#[derive(Default)]
pub struct Discovery {
    cache: Mutex<HashMap<GroupVersionKind, (ApiResource, bool)>>,
}

impl Discovery {
    /// The API resource of an object's kind and whether it is namespaced.
    pub async fn resolve(&self, client: &Client, obj: &ObjectId) -> Result<(ApiResource, bool), kube::Error> {
        let gvk = GroupVersionKind::gvk(&obj.group, &obj.version, &obj.kind);
        if let Some(hit) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(&gvk) {
            return Ok(hit.clone());
        }
        let (resource, caps): (ApiResource, ApiCapabilities) = kube::discovery::pinned_kind(client, &gvk).await?;
        let entry = (resource, caps.scope == Scope::Namespaced);
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(gvk, entry.clone());
        Ok(entry)
    }

    /// Forgets a kind, e.g. after its CRD was deleted.
    pub fn forget(&self, obj: &ObjectId) {
        // A poisoned lock only means another task panicked mid-insert; the map is still usable.
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.remove(&GroupVersionKind::gvk(&obj.group, &obj.version, &obj.kind));
    }
}
