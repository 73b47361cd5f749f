//! The differences from upstream's CLI render that the test accepts, each with its reason
//! (they go into the README's "Differences from upstream"). Both are places where upstream's
//! `build instance` and upstream's operator disagree, measured by running the operator
//! v0.58.1 on a test bed: ours renders what the operator applies.

use regex::Regex;
use serde_json::Value;

use crate::diff::Difference;

/// A difference from upstream that we keep on purpose.
pub struct Allowed {
    /// Regular expressions, matched against the whole object id (`Kind/namespace/name`)
    /// and field path.
    object: &'static str,
    path: &'static str,
    /// The instance and the values must be the ones the reason describes, not just any.
    holds: fn(&Value, &Difference) -> bool,
    pub reason: &'static str,
}

/// Kept short: each entry is a deliberate difference.
pub const ALLOWED: &[Allowed] = &[
    Allowed {
        object: "Deployment/.*",
        path: r"spec\.template\.spec\.(initC|c)ontainers\[\d+\]\.image",
        holds: pinned_image,
        reason: "image digests: upstream's `build instance` keeps the release manifests' image tags, unpinned, \
                 while upstream's operator applies the tag and digest of the distribution's image list \
                 (`<registry>/<component>:<tag>@sha256:<digest>`; the tags differ on v2.2.3, whose list names \
                 source-controller v1.2.4 and whose manifests v1.2.5); ours renders what the operator applies",
    },
    Allowed {
        object: "(Deployment|PersistentVolumeClaim)/.*/source-controller-.+",
        path: r"|spec\.template\.spec\.volumes\[\d+\]\.(name|emptyDir|persistentVolumeClaim)|spec\.template\.spec\.containers\[\d+\]\.volumeMounts\[\d+\]\.name",
        holds: persistent_shard,
        reason: "persistent shard storage: upstream's `build instance` ignores `sharding.storage: persistent`, \
                 while upstream's operator gives each source-controller shard its own claim \
                 `source-controller-<shard>` (annotated `sharding.fluxcd.io/role: shard`), mounted at /data \
                 through the volume `persistent-data-<shard>` in place of the `data` emptyDir; ours renders \
                 what the operator applies",
    },
];

fn full_match(pattern: &str, text: &str) -> bool {
    Regex::new(&format!("^(?:{pattern})$"))
        .unwrap_or_else(|e| panic!("allowed-list pattern {pattern:?}: {e}"))
        .is_match(text)
}

/// The entry of [`ALLOWED`] that covers the difference, if any.
pub fn allowance(instance: &Value, d: &Difference) -> Option<usize> {
    ALLOWED
        .iter()
        .position(|a| full_match(a.object, &d.object) && full_match(a.path, &d.path) && (a.holds)(instance, d))
}

fn text(value: &Option<Value>) -> Option<&str> {
    value.as_ref().and_then(Value::as_str)
}

/// `registry/component` of an image reference, without tag and digest.
fn repository(image: &str) -> &str {
    let name = image.split('@').next().unwrap_or(image);
    match name.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => repository,
        _ => name,
    }
}

/// Ours is upstream's image, of the same repository, pinned by a sha256 digest.
fn pinned_image(_: &Value, d: &Difference) -> bool {
    let (Some(ours), Some(upstream)) = (text(&d.ours), text(&d.upstream)) else {
        return false;
    };
    let digest = ours.split_once("@sha256:").map(|(_, hex)| hex);
    repository(ours) == repository(upstream)
        && !upstream.contains('@')
        && digest.is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The instance asks for persistent shard storage and the object is one of a shard's.
fn persistent_shard(instance: &Value, d: &Difference) -> bool {
    let sharding = &instance["spec"]["sharding"];
    if sharding["storage"] != "persistent" {
        return false;
    }
    let shards = sharding["shards"].as_array().map(Vec::as_slice).unwrap_or_default();
    let name = d.object.rsplit('/').next().unwrap_or_default();
    let is_shard = shards
        .iter()
        .filter_map(Value::as_str)
        .any(|shard| name == format!("source-controller-{shard}"));
    // A whole object may only be our claim, never one that upstream has and we lack.
    is_shard && (!d.path.is_empty() || (d.object.starts_with("PersistentVolumeClaim/") && d.upstream.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn image(ours: &str, upstream: &str) -> Difference {
        Difference {
            object: "Deployment/flux-system/source-controller".into(),
            path: "spec.template.spec.containers[0].image".into(),
            ours: Some(json!(ours)),
            upstream: Some(json!(upstream)),
        }
    }

    #[test]
    fn only_pinned_images_of_the_same_repository() {
        let digest = format!("@sha256:{}", "a".repeat(64));
        let instance = json!({});
        let pinned = |ours: &str, upstream: &str| allowance(&instance, &image(ours, upstream)).is_some();
        assert!(pinned(&format!("ghcr.io/fluxcd/sc:v1{digest}"), "ghcr.io/fluxcd/sc:v1"));
        assert!(pinned(
            &format!("ghcr.io/fluxcd/sc:v1.2.4{digest}"),
            "ghcr.io/fluxcd/sc:v1.2.5"
        ));
        assert!(pinned(&format!("localhost:5000/sc:v1{digest}"), "localhost:5000/sc:v1"));
        assert!(!pinned("ghcr.io/fluxcd/sc:v1", "ghcr.io/fluxcd/sc:v2"));
        assert!(!pinned(
            &format!("ghcr.io/fluxcd/other:v1{digest}"),
            "ghcr.io/fluxcd/sc:v1"
        ));
        assert!(!pinned("ghcr.io/fluxcd/sc:v1@sha256:abc", "ghcr.io/fluxcd/sc:v1"));
    }

    #[test]
    fn only_shards_of_persistent_sharding() {
        let claim = Difference {
            object: "PersistentVolumeClaim/flux-system/source-controller-a".into(),
            path: String::new(),
            ours: Some(json!({})),
            upstream: None,
        };
        let persistent = json!({"spec": {"sharding": {"shards": ["a"], "storage": "persistent"}}});
        let ephemeral = json!({"spec": {"sharding": {"shards": ["a"]}}});
        assert!(allowance(&persistent, &claim).is_some());
        assert!(allowance(&ephemeral, &claim).is_none());
        let missing = Difference {
            ours: None,
            upstream: Some(json!({})),
            ..claim
        };
        assert!(allowance(&persistent, &missing).is_none());
        let main = Difference {
            object: "Deployment/flux-system/source-controller".into(),
            path: "spec.template.spec.volumes[0].name".into(),
            ours: Some(json!("x")),
            upstream: Some(json!("y")),
        };
        assert!(allowance(&persistent, &main).is_none());
    }
}
