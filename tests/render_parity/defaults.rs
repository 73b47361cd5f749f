//! The defaults of the FluxInstance CRD schema, filled in as the apiserver does before
//! the operator ever sees an instance. Upstream's CLI defaults only what is absent as a
//! whole (a missing `cluster` becomes the default cluster, but a `cluster` without
//! `networkPolicy` renders without network policies), so both renderers get the
//! instance as stored, which is what both operators build from.

use std::path::Path;

use serde_json::Value;

fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds/fluxinstances.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let crd: Value = flux_operator_rs::yaml::from_str(&text).expect("CRD YAML");
    crd.pointer("/spec/versions/0/schema/openAPIV3Schema")
        .cloned()
        .expect("the CRD has a schema")
}

/// Structural defaulting: a property with a default that is absent gets it; objects
/// that are present are walked, absent ones are not created.
fn fill(value: &mut Value, schema: &Value) {
    if let (Value::Object(map), Some(properties)) = (&mut *value, schema.get("properties").and_then(Value::as_object)) {
        for (key, sub) in properties {
            match map.get_mut(key) {
                Some(child) => fill(child, sub),
                None => {
                    if let Some(default) = sub.get("default") {
                        map.insert(key.clone(), default.clone());
                    }
                }
            }
        }
    }
    if let (Value::Array(items), Some(sub)) = (value, schema.get("items")) {
        for item in items {
            fill(item, sub);
        }
    }
}

pub fn defaulted(instance: &Value) -> Value {
    let mut instance = instance.clone();
    fill(&mut instance, &schema());
    instance
}
