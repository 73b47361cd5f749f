//! Step 11: let Alerts and Receivers refer to the operator's own kinds, and let the Flux
//! controllers read them.

use serde_json::{Value, json};

use super::{namespace, object};

const OPERATOR_KINDS: [&str; 3] = ["FluxInstance", "ResourceSet", "ResourceSetInputProvider"];

/// The CRDs and where, under each version's `spec` schema, their `kind` enum lives.
const ENUMS: [(&str, &str); 2] = [
    (
        "alerts.notification.toolkit.fluxcd.io",
        "/properties/eventSources/items/properties/kind/enum",
    ),
    (
        "receivers.notification.toolkit.fluxcd.io",
        "/properties/resources/items/properties/kind/enum",
    ),
];

pub fn apply(objects: &mut [Value], ns: &str) {
    for obj in objects
        .iter_mut()
        .filter(|o| object::is_kind(o, "CustomResourceDefinition"))
    {
        let Some(&(_, pointer)) = ENUMS.iter().find(|(crd, _)| object::name(obj) == *crd) else {
            continue;
        };
        let Some(versions) = obj.pointer_mut("/spec/versions").and_then(Value::as_array_mut) else {
            continue;
        };
        for version in versions {
            if version.get("served").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            let Some(values) = version
                .pointer_mut("/schema/openAPIV3Schema/properties/spec")
                .and_then(|spec| spec.pointer_mut(pointer))
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for kind in OPERATOR_KINDS {
                if !values.iter().any(|v| v.as_str() == Some(kind)) {
                    values.push(json!(kind));
                }
            }
        }
    }

    let role = namespace::cluster_name("crd-controller", ns);
    if let Some(i) = object::find(objects, "ClusterRole", &role) {
        let rules = object::map_at(&mut objects[i], &[])
            .entry("rules")
            .or_insert_with(|| json!([]));
        if let Some(rules) = rules.as_array_mut() {
            rules.push(json!({
                "apiGroups": [crate::api::GROUP],
                "resources": ["*"],
                "verbs": ["*"],
            }));
        }
    }
}
