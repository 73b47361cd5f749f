//! What is left of an object, status or report once the parts that differ between any two
//! runs of the same operator (server-set fields, times, durations) are taken out.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value, json};

/// An applied object as a user sees it, without what the API server sets per run.
pub fn object(mut obj: Value) -> Value {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in [
            "managedFields",
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "generation",
        ] {
            meta.remove(key);
        }
    }
    if let Some(map) = obj.as_object_mut() {
        map.remove("status");
    }
    if obj["kind"] == "Service"
        && let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut)
    {
        spec.remove("clusterIP");
        spec.remove("clusterIPs");
    }
    obj
}

/// The FluxInstance: its metadata as the operator leaves it, the defaulted spec, and the
/// status without times.
pub fn instance(obj: &Value) -> Value {
    let mut status = obj["status"].clone();
    if let Some(map) = status.as_object_mut() {
        if let Some(conditions) = map.get_mut("conditions") {
            *conditions = self::conditions(conditions, true);
        }
        map.remove("lastHandledReconcileAt");
        if let Some(history) = map.get_mut("history").and_then(Value::as_array_mut) {
            for entry in history.iter_mut().filter_map(Value::as_object_mut) {
                for key in ["firstReconciled", "lastReconciled", "lastReconciledDuration"] {
                    entry.remove(key);
                }
            }
        }
    }
    json!({"metadata": kept_metadata(obj), "spec": obj["spec"], "status": status})
}

/// The FluxReport: metadata, the computed spec, and its conditions' type, status and reason.
pub fn report(obj: &Value) -> Value {
    let mut metadata = kept_metadata(obj);
    // A timestamp the operator sets to ask for a refresh: only its presence is comparable.
    if let Some(value) = metadata.pointer_mut("/annotations/reconcile.fluxcd.io~1requestedAt") {
        *value = json!("<set>");
    }
    json!({
        "metadata": metadata,
        "spec": obj["spec"],
        "status": {"conditions": conditions(&obj["status"]["conditions"], false)},
    })
}

fn kept_metadata(obj: &Value) -> Value {
    let meta = &obj["metadata"];
    let mut kept = Map::new();
    for key in ["name", "namespace", "labels", "annotations", "finalizers"] {
        if let Some(v) = meta.get(key) {
            kept.insert(key.to_owned(), v.clone());
        }
    }
    Value::Object(kept)
}

/// Conditions without lastTransitionTime; with `messages`, the message with its durations
/// and list orders normalised, else without message and observedGeneration.
fn conditions(conditions: &Value, messages: bool) -> Value {
    let Some(list) = conditions.as_array() else {
        return conditions.clone();
    };
    let kept = list.iter().map(|c| {
        let mut c = c.clone();
        if let Some(map) = c.as_object_mut() {
            map.remove("lastTransitionTime");
            if !messages {
                map.remove("message");
                map.remove("observedGeneration");
            } else if let Some(Value::String(text)) = map.get_mut("message") {
                *text = message(text);
            }
        }
        c
    });
    Value::Array(kept.collect())
}

/// A status message with every Go- or Rust-printed duration replaced by `<duration>`, and the
/// items of bracketed lists sorted (upstream lists the objects it waited for in map order,
/// which differs between runs).
pub fn message(text: &str) -> String {
    static DURATION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b(\d+(\.\d+)?(ns|µs|us|ms|s|m|h))+\b").expect("regex"));
    static LIST: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[([^\[\]]*)\]").expect("regex"));
    let text = DURATION.replace_all(text, "<duration>");
    LIST.replace_all(&text, |caps: &regex::Captures| {
        let mut items: Vec<&str> = caps[1].split(", ").collect();
        items.sort_unstable();
        format!("[{}]", items.join(", "))
    })
    .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_list_orders_are_normalised() {
        assert_eq!(
            message("Reconciliation finished in 3.405s"),
            "Reconciliation finished in <duration>"
        );
        assert_eq!(
            message("finished in 1m2.5s, took 16s"),
            "finished in <duration>, took <duration>"
        );
        assert_eq!(message("waiting for: [b x, a y]"), "waiting for: [a y, b x]");
        assert_eq!(message("v2.9.4 and 5 objects"), "v2.9.4 and 5 objects");
    }

    #[test]
    fn service_cluster_ips_and_server_fields_are_dropped() {
        let svc = json!({"kind": "Service", "metadata": {"name": "a", "uid": "x", "managedFields": []},
                         "spec": {"clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "ports": []},
                         "status": {}});
        assert_eq!(
            object(svc),
            json!({"kind": "Service", "metadata": {"name": "a"}, "spec": {"ports": []}})
        );
    }
}
