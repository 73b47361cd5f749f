//! Steps 1 (the Namespace object) and 2: everything into the instance namespace, and
//! cluster-scoped RBAC renamed per instance so that two instances never share it.

use std::collections::HashSet;
use std::ops::Range;

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

/// The name an object of `rbac.yaml` gets in this instance: cluster-scoped objects must not
/// clash between instances, and upstream renames the whole file alike.
pub fn cluster_name(base: &str, ns: &str) -> String {
    format!("{base}-{ns}")
}

/// An object renamed for the instance, and the name it had in the release files, which
/// patch targets may still use (as kustomize remembers previous names).
pub struct Renamed {
    pub index: usize,
    pub original: String,
}

/// Moves namespaced objects into `ns`, gives every object of `rbac.yaml` (`rbac`) the
/// per-instance name, and points role references and ServiceAccount subjects at the renamed
/// objects and `ns`.
pub fn apply(objects: &mut [Value], ns: &str, rbac: Range<usize>) -> Vec<Renamed> {
    let mut renamed = Vec::new();
    for (index, obj) in objects.iter_mut().enumerate() {
        if rbac.contains(&index) {
            let original = object::name(obj).to_owned();
            object::set_name(obj, &cluster_name(&original, ns));
            renamed.push(Renamed { index, original });
        }
        if !object::is_cluster_scoped(obj) {
            object::set_namespace(obj, ns);
        }
    }
    let renamed_roles: HashSet<&str> = renamed
        .iter()
        .filter(|r| object::is_kind(&objects[r.index], "ClusterRole"))
        .map(|r| r.original.as_str())
        .collect();
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
    renamed
}

/// User patches see the objects of the release's component and policy files as the files
/// have them, without a namespace (upstream applies it to those after the patches): a
/// strategic-merge patch without target and without namespace then finds its object.
/// `bare[i]` says which objects those are; [`restore`] puts the namespace back.
pub fn strip(objects: &mut [Value], bare: &[bool]) {
    for (obj, _) in objects
        .iter_mut()
        .zip(bare)
        .filter(|(obj, bare)| **bare && !object::is_cluster_scoped(obj))
    {
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
