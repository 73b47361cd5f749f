use kube::api::{DeleteParams, PropagationPolicy};
use serde_json::Value;

use super::{Applier, Error, OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL, ObjectId};
use crate::api::annotation::{PRUNE, PRUNE_DISABLED_VALUE};

#[derive(Debug, Default, Clone)]
pub struct PruneResult {
    pub deleted: Vec<ObjectId>,
    /// Stale objects left in place, with why.
    pub kept: Vec<(ObjectId, &'static str)>,
}

/// Deletes stale inventory entries (background propagation), but only objects that carry
/// the owner labels of this instance and are not marked `prune: disabled`.
pub async fn prune(applier: &Applier<'_>, stale: &[ObjectId]) -> Result<PruneResult, Error> {
    let mut result = PruneResult::default();
    for object in stale {
        let api = match applier.api_for(object).await {
            Ok(api) => api,
            // The kind itself is gone (its CRD was removed): nothing left to delete.
            Err(Error::Discovery { .. }) => {
                result.kept.push((object.clone(), "kind no longer served"));
                continue;
            }
            Err(e) => return Err(e),
        };
        let live = api.get_opt(&object.name).await.map_err(|source| Error::Read {
            object: object.to_string(),
            source,
        })?;
        let Some(live) = live else { continue };
        let live = serde_json::to_value(&live).unwrap_or(Value::Null);
        if let Some(why) = keep_reason(&live, &applier.options.owner_name, &applier.options.owner_namespace) {
            result.kept.push((object.clone(), why));
            continue;
        }
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        match api.delete(&object.name, &params).await {
            Ok(_) => result.deleted.push(object.clone()),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(source) => {
                return Err(Error::Delete {
                    object: object.to_string(),
                    source,
                });
            }
        }
    }
    Ok(result)
}

/// Why a stale object must not be deleted, if it must not.
pub fn keep_reason(live: &Value, owner_name: &str, owner_namespace: &str) -> Option<&'static str> {
    let meta = &live["metadata"];
    if meta["annotations"][PRUNE].as_str() == Some(PRUNE_DISABLED_VALUE) {
        return Some("prune disabled");
    }
    let labels = &meta["labels"];
    if labels[OWNER_NAME_LABEL].as_str() != Some(owner_name)
        || labels[OWNER_NAMESPACE_LABEL].as_str() != Some(owner_namespace)
    {
        return Some("not owned by this instance");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_owned_unprotected_objects_are_pruned() {
        let owned = json!({"metadata": {"labels": {OWNER_NAME_LABEL: "flux", OWNER_NAMESPACE_LABEL: "flux-system"}}});
        assert_eq!(keep_reason(&owned, "flux", "flux-system"), None);
        assert_eq!(keep_reason(&owned, "flux", "other"), Some("not owned by this instance"));
        let foreign = json!({"metadata": {"labels": {}}});
        assert_eq!(
            keep_reason(&foreign, "flux", "flux-system"),
            Some("not owned by this instance")
        );
        let protected = json!({"metadata": {"labels": {OWNER_NAME_LABEL: "flux", OWNER_NAMESPACE_LABEL: "flux-system"},
            "annotations": {PRUNE: "disabled"}}});
        assert_eq!(keep_reason(&protected, "flux", "flux-system"), Some("prune disabled"));
    }
}
