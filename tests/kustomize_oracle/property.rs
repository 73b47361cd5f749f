//! Property tests for the patch engine (a module of tests/kustomize_oracle.rs, whose
//! kustomize runner and comparison it reuses): random input never panics and finishes within
//! a bound, and a random valid patch on a small sample of objects gives what
//! `kubectl kustomize` gives. Case counts stay small: each valid case runs kubectl.

use std::time::{Duration, Instant};

use flux_operator_rs::api::{PatchSpec, PatchTarget};
use flux_operator_rs::build::patch::apply_patches;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::{check, flux, synthetic};

/// Two Flux Deployments and the synthetic objects: enough kinds, few kubectl bytes.
fn sample() -> Vec<Value> {
    let mut objects: Vec<Value> = flux()
        .into_iter()
        .filter(|o| {
            o["kind"] == "Deployment"
                && matches!(
                    o["metadata"]["name"].as_str(),
                    Some("source-controller" | "kustomize-controller")
                )
        })
        .collect();
    objects.extend(synthetic());
    objects
}

/// Bits of patch syntax, selectors and values, mixed at random.
fn noise() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "- op: ",
        "add",
        "remove",
        "replace",
        "move",
        "copy",
        "test",
        "\n  path: ",
        "/spec",
        "/metadata/name",
        "/-",
        "/0",
        "~1",
        "~0",
        "\n  from: ",
        "\n  value: ",
        "{",
        "}",
        "[",
        "]",
        ": ",
        "\n",
        "  ",
        "$patch: delete",
        "$patch: replace",
        "$retainKeys",
        "kind: Deployment",
        "metadata:",
        "name: x",
        "containers:",
        "- name: manager",
        "null",
        "~",
        "&a",
        "*a",
        "<<: *a",
        "!!str",
        "\"",
        "'",
        "é",
        "\t",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|p| p.concat())
}

fn noisy_target() -> impl Strategy<Value = Option<PatchTarget>> {
    let regex = prop::sample::select(vec![
        "",
        ".*",
        "(",
        "[a-",
        "source-.*",
        "a{1000}",
        "(a+)+$",
        "Deployment",
        "\\",
        "kustomize-controller",
    ]);
    let selector = prop::sample::select(vec!["", "a=b", "a in (b", "!a", "a,b", "sync=root", "=", "a!=b"]);
    (any::<bool>(), regex.clone(), regex, selector).prop_map(|(some, kind, name, labels)| {
        some.then(|| PatchTarget {
            kind: Some(kind.to_owned()),
            name: Some(name.to_owned()),
            label_selector: (!labels.is_empty()).then(|| labels.to_owned()),
            ..PatchTarget::default()
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_patches_never_panic_and_finish_quickly(text in noise(), target in noisy_target()) {
        let mut objects = sample();
        let started = Instant::now();
        let _ = apply_patches(&mut objects, &[PatchSpec { patch: text, target }]);
        prop_assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    }
}

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}"
}

/// A strategic merge patch of one or two fields on one of the sample Deployments.
fn valid_merge_patch() -> impl Strategy<Value = PatchSpec> {
    let name = prop::sample::select(vec!["source-controller", "kustomize-controller"]);
    let field = prop_oneof![
        (word(), word()).prop_map(|(k, v)| json!({"metadata": {"labels": {k: v}}})),
        (word(), word()).prop_map(|(k, v)| json!({"metadata": {"annotations": {k: v}}})),
        (0u8..5).prop_map(|n| json!({"spec": {"replicas": n}})),
        (word(), word()).prop_map(|(k, v)| json!({"spec": {"template": {"spec": {"nodeSelector": {k: v}}}}})),
        (word(), word()).prop_map(|(k, v)| json!({"spec": {"template": {"spec": {"containers": [
            {"name": "manager", "env": [{"name": k.to_uppercase(), "value": v}]}]}}}})),
        (1u16..4096).prop_map(|m| json!({"spec": {"template": {"spec": {"containers": [
            {"name": "manager", "resources": {"limits": {"memory": format!("{m}Mi")}}}]}}}})),
    ];
    (name, field, any::<bool>()).prop_map(|(name, mut body, by_target)| {
        let object = body.as_object_mut().expect("object");
        object.insert("apiVersion".into(), json!("apps/v1"));
        object.insert("kind".into(), json!("Deployment"));
        let metadata = object.entry("metadata").or_insert_with(|| json!({}));
        metadata["name"] = json!(if by_target { "ignored" } else { name });
        let target = by_target.then(|| PatchTarget {
            kind: Some("Deployment".into()),
            name: Some(name.into()),
            ..PatchTarget::default()
        });
        PatchSpec {
            patch: body.to_string(),
            target,
        }
    })
}

/// A JSON 6902 operation on a path every sample Deployment has.
fn valid_json_patch() -> impl Strategy<Value = PatchSpec> {
    let op = prop_oneof![
        word().prop_map(
            |v| json!({"op": "add", "path": "/spec/template/spec/containers/0/args/-", "value": format!("--{v}")})
        ),
        (0u8..5).prop_map(|n| json!({"op": "replace", "path": "/spec/replicas", "value": n})),
        word().prop_map(|v| json!({"op": "add", "path": "/metadata/labels/extra", "value": v})),
        Just(json!({"op": "remove", "path": "/spec/template/spec/containers/0/args/0"})),
        Just(json!({"op": "copy", "from": "/metadata/name", "path": "/metadata/labels/copied"})),
        // The sample Deployments have no annotations: kustomize's own internal annotations
        // make the map exist while it patches, and ours too.
        Just(json!({"op": "copy", "from": "/metadata/name", "path": "/metadata/annotations/copied"})),
        word().prop_map(|v| json!({"op": "add", "path": "/metadata/annotations/extra", "value": v})),
    ];
    (prop::collection::vec(op, 1..3), any::<bool>()).prop_map(|(ops, one)| PatchSpec {
        patch: Value::Array(ops).to_string(),
        target: Some(PatchTarget {
            kind: Some("Deployment".into()),
            name: Some(if one { "source-controller" } else { ".*-controller" }.into()),
            ..PatchTarget::default()
        }),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn random_valid_patches_match_kustomize(
        patches in prop::collection::vec(prop_oneof![valid_merge_patch(), valid_json_patch()], 1..3)
    ) {
        check(sample(), patches);
    }
}
