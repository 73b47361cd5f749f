//! What a ResourceSetInputProvider exports (SPEC-resourceset §12.3), pure: the input sets
//! of the Static type and the revision of any exported sets.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::api::InputSet;
use crate::build::revision::write_canonical;

use super::inputs::ID_KEY;
use super::template::ids::adler32;

/// The one set of a Static provider: its default values and an `id`, the decimal Adler-32
/// of the provider's UID, which wins over a default `id`.
pub fn static_inputs(uid: &str, default_values: Option<&InputSet>) -> Vec<InputSet> {
    let mut set = default_values.cloned().unwrap_or_default();
    set.insert(ID_KEY.to_owned(), Value::String(adler32(uid.as_bytes()).to_string()));
    vec![set]
}

/// Each set with the `defaults` it lacks: the provider's own values win.
pub fn with_defaults(mut sets: Vec<InputSet>, defaults: Option<&InputSet>) -> Vec<InputSet> {
    for set in &mut sets {
        for (key, value) in defaults.into_iter().flatten() {
            set.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    sets
}

/// `sha256:<hex>` over the sets in order, each as canonical JSON (sorted keys) on its own
/// line: it changes exactly when a set or their order does.
pub fn revision(sets: &[InputSet]) -> String {
    let mut hasher = Sha256::new();
    for set in sets {
        let mut line = Vec::new();
        write_canonical(&Value::Object(set.clone()), &mut line);
        line.push(b'\n');
        hasher.update(&line);
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn set(value: Value) -> InputSet {
        value.as_object().cloned().expect("object")
    }

    #[test]
    fn the_computed_id_wins_over_a_default_id() {
        let defaults = set(json!({"id": "mine", "env": "prod"}));
        let sets = static_inputs("main", Some(&defaults));
        assert_eq!(sets, vec![set(json!({"id": "68878758", "env": "prod"}))]);
        assert_eq!(static_inputs("main", None), vec![set(json!({"id": "68878758"}))]);
    }

    #[test]
    fn defaults_fill_only_absent_keys() {
        let sets = vec![set(json!({"id": "1", "branch": "main"}))];
        let defaults = set(json!({"branch": "x", "env": "dev"}));
        let merged = with_defaults(sets, Some(&defaults));
        assert_eq!(merged, vec![set(json!({"id": "1", "branch": "main", "env": "dev"}))]);
    }

    #[test]
    fn the_revision_follows_the_content_not_the_key_order() {
        let a = vec![set(json!({"a": 1, "b": 2}))];
        let b = vec![set(json!({"b": 2, "a": 1}))];
        let c = vec![set(json!({"a": 1, "b": 3}))];
        assert_eq!(revision(&a), revision(&b));
        assert_ne!(revision(&a), revision(&c));
        assert!(revision(&[]).starts_with("sha256:"));
    }
}
