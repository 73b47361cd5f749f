use serde_json::json;

use super::*;

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "app", "namespace": "ns", "labels": {"app": "app"}},
        "spec": {"replicas": 1, "template": {"spec": {
            "tolerations": [{"key": "a", "operator": "Exists"}],
            "containers": [{
                "name": "manager", "image": "x", "args": ["--a", "--b"],
                "env": [{"name": "A", "value": "a"}, {"name": "B", "value": "b"}],
                "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
            }],
        }}},
    })
}

fn merged(object: Value, patch: Value) -> Value {
    match merge(object, &patch).expect("merges") {
        Merged::Object(v) => v,
        other => panic!("not merged: {other:?}"),
    }
}

fn container(v: &Value) -> &Value {
    &v["spec"]["template"]["spec"]["containers"][0]
}

#[test]
fn maps_merge_and_null_deletes() {
    let out = merged(
        deployment(),
        json!({"metadata": {"labels": {"app": null, "tier": "x"}}, "spec": {"replicas": 3}}),
    );
    assert_eq!(out["metadata"]["labels"], json!({"tier": "x"}));
    assert_eq!(out["spec"]["replicas"], json!(3));
}

#[test]
fn lists_merge_by_key_patch_elements_first() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "manager", "env": [{"name": "B", "value": "bb"}, {"name": "C", "value": "c"}]},
    ]}}}});
    let out = merged(deployment(), patch);
    assert_eq!(
        container(&out)["env"],
        json!([{"name": "B", "value": "bb"}, {"name": "C", "value": "c"}, {"name": "A", "value": "a"}])
    );
    assert_eq!(container(&out)["args"], json!(["--a", "--b"]), "untouched");
}

#[test]
fn atomic_lists_are_replaced() {
    let patch = json!({"spec": {"template": {"spec": {
        "tolerations": [{"key": "b", "operator": "Exists"}],
        "containers": [{"name": "manager", "args": ["--c"]}],
    }}}});
    let out = merged(deployment(), patch);
    assert_eq!(
        out["spec"]["template"]["spec"]["tolerations"],
        json!([{"key": "b", "operator": "Exists"}])
    );
    assert_eq!(container(&out)["args"], json!(["--c"]));
}

#[test]
fn delete_directive_on_an_element_and_replace_on_a_map() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [{
        "name": "manager",
        "env": [{"name": "A", "$patch": "delete"}],
        "resources": {"$patch": "replace", "requests": {"cpu": "2"}},
    }]}}}});
    let out = merged(deployment(), patch);
    assert_eq!(container(&out)["env"], json!([{"name": "B", "value": "b"}]));
    assert_eq!(container(&out)["resources"], json!({"requests": {"cpu": "2"}}));
}

#[test]
fn replace_directive_on_an_element_is_dropped_as_in_kyaml() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "manager", "$patch": "replace", "image": "y"},
    ]}}}});
    assert_eq!(merged(deployment(), patch), deployment());
}

#[test]
fn top_level_directives() {
    assert_eq!(
        merge(deployment(), &json!({"$patch": "delete"})).expect("ok"),
        Merged::Deleted
    );
    assert_eq!(
        merge(deployment(), &json!({"$patch": "replace", "spec": {}})).expect("ok"),
        Merged::Unchanged(deployment())
    );
    let e = merge(deployment(), &json!({"$patch": "frobnicate"})).expect_err("unknown");
    assert!(e.to_string().contains("unknown patch strategy"), "{e}");
}

#[test]
fn list_directives() {
    let replace = json!({"spec": {"template": {"spec": {"containers": [
        {"$patch": "replace"}, {"name": "only", "image": "o"},
    ]}}}});
    let out = merged(deployment(), replace);
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"],
        json!([{"name": "only", "image": "o"}])
    );
    let delete =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "manager", "env": [{"$patch": "delete"}]}]}}}});
    let out = merged(deployment(), delete);
    assert!(container(&out).get("env").is_none());
    let e = merge(
        deployment(),
        &json!({"spec": {"template": {"spec": {"containers": [{"$patch": "x"}]}}}}),
    )
    .expect_err("unknown");
    assert!(e.to_string().contains("unknown patch strategy \"x\""), "{e}");
}

#[test]
fn unknown_directives_are_plain_fields() {
    let patch = json!({"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "manager"}]}}}});
    let out = merged(deployment(), patch);
    assert_eq!(
        out["spec"]["template"]["spec"]["$setElementOrder/containers"],
        json!([{"name": "manager"}])
    );
}

#[test]
fn ports_pair_on_port_and_protocol() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "manager", "ports": [
        {"containerPort": 8080, "protocol": "TCP", "name": "renamed"},
        {"containerPort": 9090},
    ]}]}}}});
    let out = merged(deployment(), patch);
    assert_eq!(
        container(&out)["ports"],
        json!([{"containerPort": 9090}, {"containerPort": 8080, "name": "renamed", "protocol": "TCP"}])
    );
}

#[test]
fn kinds_without_schema_replace_lists() {
    let object = json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"},
                        "spec": {"items": [{"name": "a", "v": 1}], "keep": true}});
    let out = merged(object, json!({"spec": {"items": [{"name": "b"}]}}));
    assert_eq!(out["spec"], json!({"items": [{"name": "b"}], "keep": true}));
}

#[test]
fn finalizers_are_a_set() {
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["b", "a"]}});
    let out = merged(object, json!({"metadata": {"finalizers": ["c", "a"]}}));
    assert_eq!(out["metadata"]["finalizers"], json!(["c", "a", "b"]));
}

#[test]
fn shape_mismatch_is_an_error() {
    let e = merge(deployment(), &json!({"spec": {"template": "x"}})).expect_err("mismatch");
    assert_eq!(e.to_string(), "at spec.template: cannot merge a scalar into a map");
    let e = merge(deployment(), &json!({"spec": {"replicas": {"a": 1}}})).expect_err("mismatch");
    assert_eq!(e.to_string(), "at spec.replicas: cannot merge a map into a scalar");
}

#[test]
fn kept_nulls_and_added_maps() {
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "creationTimestamp": null}});
    let out = merged(
        object,
        json!({"metadata": {"labels": {"a": "b", "gone": null}}, "data": {"$patch": "delete"}}),
    );
    assert_eq!(
        out["metadata"],
        json!({"name": "c", "creationTimestamp": null, "labels": {"a": "b"}})
    );
    assert!(out.get("data").is_none());
}

#[test]
fn element_errors_name_the_list() {
    let mut object = deployment();
    object["spec"]["template"]["spec"]["containers"] = json!(["x", {"name": "manager"}]);
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "manager", "image": "y"}]}}}});
    let e = merge(object, &patch).expect_err("a scalar among containers");
    assert_eq!(
        e.to_string(),
        "at spec.template.spec.containers: cannot look up \"name\" in a scalar"
    );
}
