//! Steps 1 (the Namespace object) and 2: everything into the instance namespace, and
//! cluster-scoped RBAC renamed per instance so that two instances never share it.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::object;

pub const POD_SECURITY_WARN: &str = "pod-security.kubernetes.io/warn";
pub const POD_SECURITY_WARN_VERSION: &str = "pod-security.kubernetes.io/warn-version";

pub fn namespace_object(ns: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": ns,
            "labels": {
                POD_SECURITY_WARN: "restricted",
                POD_SECURITY_WARN_VERSION: "latest",
            },
            "annotations": {
                crate::api::annotation::PRUNE: crate::api::annotation::PRUNE_DISABLED_VALUE,
            },
        },
    })
}

/// The name a cluster-scoped object of the release files gets in this instance.
pub fn cluster_name(base: &str, ns: &str) -> String {
    format!("{base}-{ns}")
}

/// Moves namespaced objects into `ns`, renames the cluster-scoped RBAC objects and points
/// role references and ServiceAccount subjects at the renamed objects and `ns`.
pub fn apply(objects: &mut [Value], ns: &str) {
    let mut renamed_roles = HashSet::new();
    for obj in objects.iter_mut() {
        match object::kind(obj) {
            "ClusterRole" => {
                let base = object::name(obj).to_owned();
                object::set_name(obj, &cluster_name(&base, ns));
                renamed_roles.insert(base);
            }
            "ClusterRoleBinding" => {
                let base = object::name(obj).to_owned();
                object::set_name(obj, &cluster_name(&base, ns));
            }
            _ if object::is_cluster_scoped(obj) => {}
            _ => object::set_namespace(obj, ns),
        }
    }
    for obj in objects.iter_mut() {
        if !matches!(object::kind(obj), "ClusterRoleBinding" | "RoleBinding") {
            continue;
        }
        if let Some(role_ref) = obj.get_mut("roleRef").and_then(Value::as_object_mut)
            && role_ref.get("kind").and_then(Value::as_str) == Some("ClusterRole")
            && let Some(role) = role_ref.get("name").and_then(Value::as_str)
            && renamed_roles.contains(role)
        {
            let new_name = cluster_name(role, ns);
            role_ref.insert("name".into(), Value::String(new_name));
        }
        if let Some(subjects) = obj.get_mut("subjects").and_then(Value::as_array_mut) {
            for subject in subjects.iter_mut().filter_map(Value::as_object_mut) {
                if subject.get("kind").and_then(Value::as_str) == Some("ServiceAccount") {
                    subject.insert("namespace".into(), Value::String(ns.to_owned()));
                }
            }
        }
    }
}

/// User patches see the objects as the release files have them, without a namespace
/// (upstream applies the namespace after the patches): a strategic-merge patch without
/// target and without namespace then finds its object. [`restore`] puts it back.
pub fn strip(objects: &mut [Value]) {
    for obj in objects.iter_mut().filter(|o| !object::is_cluster_scoped(o)) {
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("namespace");
        }
    }
}

/// Every namespaced object lives in the instance namespace, whatever a patch did.
pub fn restore(objects: &mut [Value], ns: &str) {
    for obj in objects.iter_mut().filter(|o| !object::is_cluster_scoped(o)) {
        object::set_namespace(obj, ns);
    }
}
