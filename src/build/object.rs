//! Small accessors on untyped Kubernetes objects (`serde_json::Value`), so that the build
//! steps read like the manifests they edit.

use serde_json::{Map, Value};

pub fn kind(obj: &Value) -> &str {
    obj.get("kind").and_then(Value::as_str).unwrap_or_default()
}

pub fn name(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub fn namespace(obj: &Value) -> &str {
    obj.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The Flux component an object belongs to: its `app.kubernetes.io/component` label, which
/// the release files set and shard copies keep, else its name.
pub fn component(obj: &Value) -> &str {
    obj.pointer("/metadata/labels/app.kubernetes.io~1component")
        .and_then(Value::as_str)
        .unwrap_or_else(|| name(obj))
}

pub fn is_kind(obj: &Value, kind_name: &str) -> bool {
    kind(obj) == kind_name
}

pub fn is_deployment(obj: &Value) -> bool {
    is_kind(obj, "Deployment")
}

/// Kinds this builder can meet that have no namespace; everything else is namespaced.
pub fn is_cluster_scoped(obj: &Value) -> bool {
    matches!(
        kind(obj),
        "CustomResourceDefinition"
            | "Namespace"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "PriorityClass"
            | "StorageClass"
            | "PersistentVolume"
            | "APIService"
            | "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
    )
}

/// The object map at `path` (JSON pointer segments), created on the way when missing or
/// not an object.
pub fn map_at<'a>(obj: &'a mut Value, path: &[&str]) -> &'a mut Map<String, Value> {
    let mut current = obj;
    for segment in path {
        let map = ensure_object(current);
        current = map
            .entry((*segment).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    ensure_object(current)
}

fn ensure_object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => map,
        // Replaced by an object just above.
        _ => unreachable!("value was just made an object"),
    }
}

pub fn set_name(obj: &mut Value, new_name: &str) {
    map_at(obj, &["metadata"]).insert("name".into(), Value::String(new_name.to_owned()));
}

pub fn set_namespace(obj: &mut Value, ns: &str) {
    map_at(obj, &["metadata"]).insert("namespace".into(), Value::String(ns.to_owned()));
}

pub fn set_label(obj: &mut Value, key: &str, value: &str) {
    map_at(obj, &["metadata", "labels"]).insert(key.to_owned(), Value::String(value.to_owned()));
}

pub fn set_annotation(obj: &mut Value, key: &str, value: &str) {
    map_at(obj, &["metadata", "annotations"]).insert(key.to_owned(), Value::String(value.to_owned()));
}

/// The pod spec of a Deployment (`spec.template.spec`).
pub fn pod_spec(deployment: &mut Value) -> &mut Map<String, Value> {
    map_at(deployment, &["spec", "template", "spec"])
}

/// Every container and init container of a Deployment's pod template.
pub fn all_containers(deployment: &mut Value) -> impl Iterator<Item = &mut Map<String, Value>> {
    let spec = pod_spec(deployment);
    let mut lists = Vec::new();
    for (key, list) in spec.iter_mut() {
        if key == "containers" || key == "initContainers" {
            lists.push(list);
        }
    }
    lists
        .into_iter()
        .filter_map(Value::as_array_mut)
        .flat_map(|list| list.iter_mut())
        .filter_map(Value::as_object_mut)
}

/// The args of the first container: the controller's own flags.
pub fn manager_args(deployment: &mut Value) -> Option<&mut Vec<Value>> {
    let container = pod_spec(deployment)
        .get_mut("containers")?
        .as_array_mut()?
        .first_mut()?
        .as_object_mut()?;
    let args = container.entry("args").or_insert_with(|| Value::Array(Vec::new()));
    if !args.is_array() {
        *args = Value::Array(Vec::new());
    }
    args.as_array_mut()
}

/// The first container itself.
pub fn manager_container(deployment: &mut Value) -> Option<&mut Map<String, Value>> {
    pod_spec(deployment)
        .get_mut("containers")?
        .as_array_mut()?
        .first_mut()?
        .as_object_mut()
}

fn flag_matches(arg: &Value, flag: &str) -> bool {
    arg.as_str()
        .is_some_and(|a| a == flag || a.strip_prefix(flag).is_some_and(|rest| rest.starts_with('=')))
}

/// Sets `--flag=value`: replaces the first occurrence of the flag in place, so that the
/// positions of the manifests' args are kept, or appends it.
pub fn set_arg(args: &mut Vec<Value>, flag: &str, value: &str) {
    let arg = Value::String(format!("{flag}={value}"));
    match args.iter_mut().find(|a| flag_matches(a, flag)) {
        Some(existing) => *existing = arg,
        None => args.push(arg),
    }
}

/// Appends an arg unless the very same string is already there; for repeatable flags
/// such as `--feature-gates`.
pub fn add_arg(args: &mut Vec<Value>, arg: String) {
    if !args.iter().any(|a| a.as_str() == Some(arg.as_str())) {
        args.push(Value::String(arg));
    }
}

/// Index of the Deployment with this name.
pub fn find_deployment(objects: &[Value], deployment_name: &str) -> Option<usize> {
    objects
        .iter()
        .position(|o| is_deployment(o) && name(o) == deployment_name)
}

pub fn find(objects: &[Value], kind_name: &str, object_name: &str) -> Option<usize> {
    objects
        .iter()
        .position(|o| is_kind(o, kind_name) && name(o) == object_name)
}
