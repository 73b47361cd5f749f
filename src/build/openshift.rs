//! Step 8: OpenShift assigns user IDs and seccomp profiles through its security context
//! constraints, and rejects pods that set their own.

use serde_json::Value;

use super::{namespace, object};

pub fn apply(objects: &mut [Value]) {
    for obj in objects.iter_mut() {
        match object::kind(obj) {
            "Deployment" => {
                object::pod_spec(obj).remove("securityContext");
                for container in object::all_containers(obj) {
                    if let Some(context) = container.get_mut("securityContext").and_then(Value::as_object_mut) {
                        context.remove("seccompProfile");
                        context.remove("runAsNonRoot");
                    }
                }
            }
            "Namespace" => {
                if let Some(labels) = obj.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
                    labels.remove(namespace::POD_SECURITY_WARN);
                    labels.remove(namespace::POD_SECURITY_WARN_VERSION);
                }
            }
            _ => {}
        }
    }
}
