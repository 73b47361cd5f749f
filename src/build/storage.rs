//! Step 12: a PersistentVolumeClaim for source-controller's artifacts.

use serde_json::{Value, json};

use crate::api::Storage;

use super::object;

/// The volume of the storage servers that holds `/data`.
pub const DATA_VOLUME: &str = "data";

pub fn claim(name: &str, ns: &str, storage: &Storage) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": { "name": name, "namespace": ns },
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": storage.class,
            "resources": { "requests": { "storage": storage.size } },
        },
    })
}

/// Replaces the `data` volume of a Deployment by `volume`, or adds it.
pub fn set_data_volume(deployment: &mut Value, volume: Value) {
    let pod = object::pod_spec(deployment);
    let volumes = pod.entry("volumes").or_insert_with(|| json!([]));
    if !volumes.is_array() {
        *volumes = json!([]);
    }
    if let Some(list) = volumes.as_array_mut() {
        match list
            .iter_mut()
            .find(|v| v.get("name").and_then(Value::as_str) == Some(DATA_VOLUME))
        {
            Some(existing) => *existing = volume,
            None => list.push(volume),
        }
    }
}

pub fn claim_volume(claim_name: &str) -> Value {
    json!({ "name": DATA_VOLUME, "persistentVolumeClaim": { "claimName": claim_name } })
}

pub fn empty_dir_volume() -> Value {
    json!({ "name": DATA_VOLUME, "emptyDir": {} })
}

/// Returns the claim to add, when source-controller is installed.
pub fn apply(objects: &mut [Value], ns: &str, storage: Option<&Storage>) -> Option<Value> {
    let storage = storage?;
    let i = object::find_deployment(objects, "source-controller")?;
    set_data_volume(&mut objects[i], claim_volume("source-controller"));
    Some(claim("source-controller", ns, storage))
}
