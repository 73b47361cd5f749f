//! Step 12: a PersistentVolumeClaim for source-controller's artifacts.

use serde_json::{Value, json};

use crate::api::Storage;

use super::object;

/// The volume of the storage servers that the release files mount at `/data`.
pub const DATA_VOLUME: &str = "data";

/// The volume that holds the claim, in upstream's naming.
pub const PERSISTENT_VOLUME: &str = "persistent-data";

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

fn claim_volume(volume: &str, claim_name: &str) -> Value {
    json!({ "name": volume, "persistentVolumeClaim": { "claimName": claim_name } })
}

/// Mounts the claim at `/data` through the volume `volume`. With `replace_data` the release's
/// `data` volume gives way to it (shards); without, the claim's volume is added after the
/// others and `data` stays, unmounted (the main source-controller, as upstream renders it).
pub fn mount_claim(deployment: &mut Value, volume: &str, claim_name: &str, replace_data: bool) {
    let new_volume = claim_volume(volume, claim_name);
    let pod = object::pod_spec(deployment);
    let volumes = pod.entry("volumes").or_insert_with(|| json!([]));
    if !volumes.is_array() {
        *volumes = json!([]);
    }
    if let Some(list) = volumes.as_array_mut() {
        let data = list
            .iter_mut()
            .find(|v| v.get("name").and_then(Value::as_str) == Some(DATA_VOLUME));
        match data {
            Some(existing) if replace_data => *existing = new_volume,
            _ => list.push(new_volume),
        }
    }
    for container in object::all_containers(deployment) {
        let Some(mounts) = container.get_mut("volumeMounts").and_then(Value::as_array_mut) else {
            continue;
        };
        for mount in mounts.iter_mut().filter_map(Value::as_object_mut) {
            if mount.get("name").and_then(Value::as_str) == Some(DATA_VOLUME) {
                mount.insert("name".into(), json!(volume));
            }
        }
    }
}

/// Returns the claim to add, which upstream adds even without source-controller to use it.
pub fn apply(objects: &mut [Value], ns: &str, storage: Option<&Storage>) -> Option<Value> {
    let storage = storage?;
    if let Some(i) = object::find_deployment(objects, "source-controller") {
        mount_claim(&mut objects[i], PERSISTENT_VOLUME, "source-controller", false);
    }
    Some(claim("source-controller", ns, storage))
}
