//! What kustomize does to an object around a patch besides the patch itself: how a targeted
//! strategic-merge patch is read, the identity a merge cannot change, and annotations kept
//! as a map of strings.

use serde_json::{Map, Value};

use super::strategic_merge::scalar_text;
use super::target::ObjectId;

/// kustomize merges a targeted patch as if it were written for the object: it takes the
/// object's apiVersion, and its labels and annotations are read as maps of strings (so `null`
/// becomes the string "null", and an empty map disappears).
pub(super) fn retargeted(patch: &Value, object: &Value) -> Value {
    let mut patch = patch.clone();
    let Value::Object(map) = &mut patch else { return patch };
    match object.get("apiVersion") {
        Some(v) => {
            map.insert("apiVersion".to_string(), v.clone());
        }
        None => {
            map.remove("apiVersion");
        }
    }
    if let Some(Value::Object(metadata)) = map.get_mut("metadata") {
        for field in ["labels", "annotations"] {
            let strings: Option<Map<String, Value>> = match metadata.get(field) {
                Some(Value::Object(m)) if !m.is_empty() => Some(
                    m.iter()
                        .map(|(k, v)| (k.clone(), Value::String(scalar_text(v))))
                        .collect(),
                ),
                _ => None,
            };
            match strings {
                Some(m) => {
                    metadata.insert(field.to_string(), Value::Object(m));
                }
                None => {
                    metadata.remove(field);
                }
            }
        }
    }
    patch
}

/// A strategic merge cannot change what the object is: kustomize puts its kind, name and
/// namespace back afterwards.
pub(super) fn restore_identity(object: &mut Value, kind: Option<Value>, id: &ObjectId) {
    let Value::Object(map) = object else { return };
    if let Some(kind) = kind {
        map.insert("kind".to_string(), kind);
    }
    let metadata = map.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    if let Value::Object(metadata) = metadata {
        metadata.insert("name".to_string(), Value::String(id.name.clone()));
        if id.namespace.is_empty() {
            metadata.remove("namespace");
        } else {
            metadata.insert("namespace".to_string(), Value::String(id.namespace.clone()));
        }
    }
}

/// kustomize keeps annotations as a map of strings and drops an empty one; a patched object's
/// annotations get the same treatment (an annotation that is not a string would be refused by
/// the API server anyway).
pub(super) fn normalize_annotations(object: &mut Value) {
    let Some(Value::Object(metadata)) = object.get_mut("metadata") else {
        return;
    };
    match metadata.get_mut("annotations") {
        Some(Value::Object(annotations)) if !annotations.is_empty() => {
            for v in annotations.values_mut() {
                if !v.is_string() {
                    *v = Value::String(scalar_text(v));
                }
            }
        }
        Some(_) => {
            metadata.remove("annotations");
        }
        None => {}
    }
}

/// An empty annotations map on an object that has metadata but no annotations;
/// [`normalize_annotations`] drops it again when it stays empty.
pub(super) fn ensure_annotations(object: &mut Value) {
    if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
        metadata
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
    }
}
