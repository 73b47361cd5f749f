use kube::api::{DeleteParams, PropagationPolicy};
use serde_json::Value;

use super::{Applier, Error, ObjectId, Owner, PruneMarker};
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
        if let Some(why) = keep_reason(&live, &applier.options.owner) {
            result.kept.push((object.clone(), why));
            continue;
        }
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        if let Some(deletions) = &applier.options.deletions {
            deletions.expect(object);
        }
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
pub fn keep_reason(live: &Value, owner: &Owner) -> Option<&'static str> {
    let meta = &live["metadata"];
    let marked = |field: &str| meta[field][PRUNE].as_str();
    let protected = match owner.prune_marker {
        PruneMarker::Annotation => marked("annotations") == Some(PRUNE_DISABLED_VALUE),
        PruneMarker::AnnotationOrLabelAnyCase => [marked("annotations"), marked("labels")]
            .into_iter()
            .flatten()
            .any(|v| v.eq_ignore_ascii_case(PRUNE_DISABLED_VALUE)),
    };
    if protected {
        return Some("prune disabled");
    }
    if !owner.owns(live) {
        return Some("not owned by this instance");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NAME: &str = "example.io/name";
    const NAMESPACE: &str = "example.io/namespace";

    fn owner(name: &str, namespace: &str, prune_marker: PruneMarker) -> Owner {
        Owner {
            name_label: NAME,
            namespace_label: NAMESPACE,
            name: name.into(),
            namespace: namespace.into(),
            prune_marker,
        }
    }

    #[test]
    fn only_owned_unprotected_objects_are_pruned() {
        let flux = owner("flux", "flux-system", PruneMarker::Annotation);
        let owned = json!({"metadata": {"labels": {NAME: "flux", NAMESPACE: "flux-system"}}});
        assert_eq!(keep_reason(&owned, &flux), None);
        let other = owner("flux", "other", PruneMarker::Annotation);
        assert_eq!(keep_reason(&owned, &other), Some("not owned by this instance"));
        let foreign = json!({"metadata": {"labels": {}}});
        assert_eq!(keep_reason(&foreign, &flux), Some("not owned by this instance"));
        let protected = json!({"metadata": {"labels": {NAME: "flux", NAMESPACE: "flux-system"},
            "annotations": {PRUNE: "disabled"}}});
        assert_eq!(keep_reason(&protected, &flux), Some("prune disabled"));
    }

    #[test]
    fn the_prune_marker_is_read_where_the_owner_says() {
        let by_label = json!({"metadata": {"labels": {NAME: "a", NAMESPACE: "ns", PRUNE: "Disabled"}}});
        let upper = json!({"metadata": {"labels": {NAME: "a", NAMESPACE: "ns"}, "annotations": {PRUNE: "DISABLED"}}});
        let strict = owner("a", "ns", PruneMarker::Annotation);
        let lenient = owner("a", "ns", PruneMarker::AnnotationOrLabelAnyCase);
        assert_eq!(keep_reason(&by_label, &strict), None);
        assert_eq!(keep_reason(&upper, &strict), None);
        assert_eq!(keep_reason(&by_label, &lenient), Some("prune disabled"));
        assert_eq!(keep_reason(&upper, &lenient), Some("prune disabled"));
    }
}
