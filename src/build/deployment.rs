//! Step 6: settings shared by every controller Deployment.

use serde_json::{Value, json};

use super::object;

pub const SAFE_TO_EVICT: &str = "cluster-autoscaler.kubernetes.io/safe-to-evict";

pub fn apply(objects: &mut [Value], image_pull_secret: Option<&str>) {
    for obj in objects.iter_mut().filter(|o| object::is_deployment(o)) {
        {
            let pod = object::pod_spec(obj);
            let selector = pod.entry("nodeSelector").or_insert_with(|| json!({}));
            if !selector.is_object() {
                *selector = json!({});
            }
            if let Some(selector) = selector.as_object_mut() {
                selector.insert("kubernetes.io/os".into(), json!("linux"));
            }
            if let Some(secret) = image_pull_secret {
                pod.insert("imagePullSecrets".into(), json!([{ "name": secret }]));
            }
        }
        object::map_at(obj, &["spec", "template", "metadata", "labels"])
            .insert(super::labels::PART_OF.into(), json!("flux"));
        object::map_at(obj, &["spec", "template", "metadata", "annotations"])
            .insert(SAFE_TO_EVICT.into(), json!("true"));
    }
}
