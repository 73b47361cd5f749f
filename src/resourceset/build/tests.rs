use serde_json::{Value, json};

use super::*;
use crate::api::InputSet;

fn spec(value: Value) -> ResourceSetSpec {
    serde_json::from_value(value).expect("a ResourceSetSpec")
}

fn sets(values: Value) -> Inputs {
    let Value::Array(items) = values else {
        panic!("not a list")
    };
    Inputs::Sets(
        items
            .into_iter()
            .map(|v| match v {
                Value::Object(m) => m,
                other => panic!("not an object: {other}"),
            })
            .collect(),
    )
}

fn objects(spec_json: Value, inputs: &Inputs) -> Vec<Value> {
    let built = build("rs", "apps", &spec(spec_json), inputs).expect("build");
    built.objects().cloned().collect()
}

fn error(spec_json: Value, inputs: &Inputs) -> String {
    build("rs", "apps", &spec(spec_json), inputs).unwrap_err().to_string()
}

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "apps"}})
}

#[test]
fn resources_render_per_input_set_with_typed_values() {
    let widget = json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w-<< inputs.t >>", "namespace": "apps"},
        "spec": {"n": "<< inputs.n | int >>", "flag": "<< inputs.flag >>", "text": "<< inputs.t | quote >>"}
    });
    let inputs = sets(json!([{"t": "a", "n": 2, "flag": true}, {"t": "b", "n": 3, "flag": false}]));
    let got = objects(json!({"resources": [widget]}), &inputs);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["metadata"]["name"], "w-a");
    assert_eq!(got[1]["spec"], json!({"n": 3, "flag": false, "text": "b"}));
    assert_eq!(
        got[0]["metadata"]["labels"],
        json!({"resourceset.fluxcd.controlplane.io/name": "rs", "resourceset.fluxcd.controlplane.io/namespace": "apps"})
    );
}

#[test]
fn to_yaml_with_nindent_nests_under_its_key() {
    let item = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "apps", "labels": "<< inputs.labels | toYaml | nindent 4 >>"},
        "data": {"long": "a long value with spaces that goes well past the eighty columns at which go-yaml folds << inputs.word >> end"}
    });
    let inputs = sets(json!([{"labels": {"team": "x", "tier": "web"}, "word": "here"}]));
    let got = objects(json!({"resources": [item]}), &inputs);
    assert_eq!(got[0]["metadata"]["labels"]["team"], "x");
    assert_eq!(got[0]["metadata"]["labels"]["tier"], "web");
    assert!(got[0]["data"]["long"].as_str().unwrap().ends_with("folds here end"));
}

#[test]
fn multi_line_strings_stay_literal() {
    let item = json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "apps"},
        "data": {"script": "#!/bin/sh\necho << inputs.x >>\n"}
    });
    let got = objects(json!({"resources": [item]}), &sets(json!([{"x": "hi"}])));
    assert_eq!(got[0]["data"]["script"], "#!/bin/sh\necho hi\n");
}

#[test]
fn errors_name_the_item_and_the_input_set() {
    let item = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "<< inputs.missing >>"}});
    let message = error(json!({"resources": [cm("a"), item]}), &sets(json!([{"id": "42"}])));
    assert!(
        message.starts_with("resources[1] with input set id 42: template: resource:"),
        "{message}"
    );
    assert!(message.contains("map has no entry for key \"missing\""), "{message}");
    let message = error(json!({"resourcesTemplate": "<< inputs.x"}), &sets(json!([{"x": 1}])));
    assert!(
        message.starts_with("resourcesTemplate: template: resourcesTemplate:1:"),
        "{message}"
    );
    let message = error(json!({"resourcesTemplate": "a: [b"}), &sets(json!([{"y": 1}])));
    assert!(
        message.starts_with("resourcesTemplate with input set #0: the output is not YAML:"),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
}

#[test]
fn resources_must_render_to_one_identified_object() {
    let nameless = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"labels": {"a": "b"}}});
    let message = error(json!({"resources": [nameless]}), &Inputs::Nil);
    assert_eq!(
        message,
        "resources[0]: the output lacks apiVersion, kind or metadata.name"
    );
    let scalar = json!({"k": "<< inputs.x >>"});
    let message = error(json!({"resources": [scalar]}), &sets(json!([{"x": "}"}])));
    assert!(message.contains("not YAML") || message.contains("lacks"), "{message}");
}

#[test]
fn get_with_default_reads_absent_keys() {
    let item = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "<< get inputs \"missing\" | default \"x\" >>", "namespace": "apps"}});
    let got = objects(json!({"resources": [item]}), &sets(json!([{"t": 1}])));
    assert_eq!(got[0]["metadata"]["name"], "x");
}

#[test]
fn nil_inputs_render_once_and_no_sets_build_nothing() {
    let got = objects(
        json!({"resources": [cm("a")], "resourcesTemplate": "<< if inputs >>x: 1<< end >>"}),
        &Inputs::Nil,
    );
    assert_eq!(got.len(), 1);
    let got = objects(json!({"resources": [cm("a")]}), &Inputs::Sets(vec![]));
    assert!(got.is_empty());
}

#[test]
fn resources_template_expands_lists_and_drops_non_objects() {
    let template = r#"
<<- range $t := inputs.tenants >>
---
apiVersion: v1
kind: Namespace
metadata:
  name: << $t >>
<<- end >>
---
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
metadata:
  name: dropped
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: kept
  namespace: apps
---
just: data
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: from-list, namespace: apps}
  - kind: Nameless
"#;
    let got = objects(
        json!({"resourcesTemplate": template}),
        &sets(json!([{"tenants": ["t1", "t2"]}])),
    );
    let names: Vec<&str> = got.iter().map(|o| o["metadata"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["t1", "t2", "kept", "from-list"]);
}

#[test]
fn disabled_objects_drop_and_the_first_duplicate_wins() {
    let item = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "shared", "namespace": "apps", "annotations": {
            "fluxcd.controlplane.io/reconcile": "<< if eq inputs.t \"a\" >>enabled<< else >>disabled<< end >>"}},
        "data": {"from": "resources-<< inputs.t >>"}
    });
    let template =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: apps\ndata:\n  from: template\n";
    let inputs = sets(json!([{"t": "b"}, {"t": "a"}]));
    let got = objects(json!({"resources": [item], "resourcesTemplate": template}), &inputs);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["data"]["from"], "resources-a");
    // The version does not make another object.
    let v1 = json!({"apiVersion": "example.com/v1", "kind": "W", "metadata": {"name": "w", "namespace": "apps"}, "spec": {"v": 1}});
    let v2 = json!({"apiVersion": "example.com/v2", "kind": "W", "metadata": {"name": "w", "namespace": "apps"}, "spec": {"v": 2}});
    let got = objects(json!({"resources": [v1, v2]}), &Inputs::Nil);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["spec"]["v"], 1);
}

#[test]
fn nil_inputs_get_the_disabled_drop_too() {
    let mut off = cm("off");
    off["metadata"]["annotations"] = json!({"fluxcd.controlplane.io/reconcile": "disabled"});
    let mut case = cm("case");
    case["metadata"]["annotations"] = json!({"fluxcd.controlplane.io/reconcile": "Disabled"});
    let got = objects(json!({"resources": [off, case, cm("case")]}), &Inputs::Nil);
    let names: Vec<&str> = got.iter().map(|o| o["metadata"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["case"]);
}

#[test]
fn steps_build_independently_and_may_not_share_objects() {
    let spec_json = json!({"steps": [
        {"name": "a", "resources": [cm("one")], "timeout": "1m"},
        {"name": "b", "resourcesTemplate": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two-<< inputs.x >>\n  namespace: apps\n"}
    ]});
    let built = build("rs", "apps", &spec(spec_json), &sets(json!([{"x": 1}, {"x": 2}]))).unwrap();
    assert_eq!(built.steps.len(), 2);
    assert_eq!(built.steps[0].name.as_deref(), Some("a"));
    assert_eq!(built.steps[0].timeout.as_deref(), Some("1m"));
    assert_eq!(built.steps[0].objects.len(), 1);
    assert_eq!(built.steps[1].objects.len(), 2);
    let twice = json!({"steps": [{"name": "a", "resources": [cm("one")]}, {"name": "b", "resources": [cm("one")]}]});
    assert_eq!(
        error(twice, &Inputs::Nil),
        "duplicate resource ConfigMap/apps/one in step \"b\", already defined in step \"a\""
    );
}

#[test]
fn common_metadata_overrides_and_owner_labels_win() {
    let mut obj = cm("c");
    obj["metadata"]["labels"] = json!({"team": "template", "keep": "yes"});
    let spec_json = json!({
        "resources": [obj],
        "commonMetadata": {"labels": {"team": "common", "resourceset.fluxcd.controlplane.io/name": "other"}, "annotations": {"a": "b"}}
    });
    let got = objects(spec_json, &Inputs::Nil);
    let labels = &got[0]["metadata"]["labels"];
    assert_eq!(labels["team"], "common");
    assert_eq!(labels["keep"], "yes");
    assert_eq!(labels["resourceset.fluxcd.controlplane.io/name"], "rs");
    assert_eq!(got[0]["metadata"]["annotations"]["a"], "b");
}

#[test]
fn the_spec_rules_are_checked_again() {
    let step = json!({"name": "a", "resources": [cm("x")]});
    assert_eq!(
        error(json!({"steps": [step.clone()], "resources": [cm("y")]}), &Inputs::Nil),
        "spec.steps is mutually exclusive with spec.resources and spec.resourcesTemplate"
    );
    assert_eq!(
        error(json!({"resources": []}), &Inputs::Nil),
        "one of spec.resources, spec.resourcesTemplate or spec.steps must be set"
    );
    assert_eq!(
        error(json!({"steps": [{"name": "e"}]}), &Inputs::Nil),
        "step \"e\" sets neither resources nor resourcesTemplate"
    );
    assert_eq!(
        error(json!({"steps": [step.clone(), step]}), &Inputs::Nil),
        "step name \"a\" is used more than once"
    );
}

#[test]
fn the_build_is_bounded() {
    let many =
        "<< range $i := until 10001 >>---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c<< $i >>\n<< end >>";
    let message = error(json!({"resourcesTemplate": many}), &Inputs::Nil);
    assert_eq!(message, "the build exceeds 10000 objects (at resourcesTemplate)");
    let empty: Vec<InputSet> = (0..=MAX_RENDERS).map(|_| InputSet::new()).collect();
    let message = error(json!({"resourcesTemplate": ""}), &Inputs::Sets(empty));
    assert_eq!(
        message,
        "the build exceeds 100000 template renders (at resourcesTemplate with input set #100000)"
    );
    // Each render stays under the engine's 16 MiB; together they pass the build's 64 MiB.
    let five = sets(json!([{}, {}, {}, {}, {}]));
    let comment = "<< $s := repeat 15000 \"#\" >><< range until 1000 >><< $s >><< end >>\n";
    let message = error(json!({"resourcesTemplate": comment}), &five);
    assert!(message.starts_with("the build exceeds 67108864 bytes"), "{message}");
}

#[test]
fn revision_ignores_order_and_follows_content() {
    let (a, b) = (cm("a"), cm("b"));
    assert_eq!(revision([&a, &b]), revision([&b, &a]));
    assert_ne!(revision([&a, &b]), revision([&a]));
    let mut changed = b.clone();
    changed["data"] = json!({"k": "v"});
    assert_ne!(revision([&a, &b]), revision([&a, &changed]));
    assert_eq!(
        revision([]),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}
