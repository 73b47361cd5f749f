//! The patch engine end to end on small objects; `tests/kustomize_oracle.rs` compares it
//! with kustomize itself.

use serde_json::json;

use super::*;
use crate::api::PatchTarget;

fn deployment(name: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "flux-system", "labels": {"app": name}},
        "spec": {"template": {"spec": {"containers": [{"name": "manager", "args": ["--log-level=info"]}]}}},
    })
}

fn objects() -> Vec<Value> {
    vec![
        deployment("kustomize-controller"),
        deployment("helm-controller"),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "webhook", "namespace": "flux-system"}}),
    ]
}

fn patch(text: &str, target: Option<PatchTarget>) -> PatchSpec {
    PatchSpec {
        patch: text.to_string(),
        target,
    }
}

fn kind(kind: &str) -> Option<PatchTarget> {
    Some(PatchTarget {
        kind: Some(kind.to_string()),
        ..Default::default()
    })
}

#[test]
fn no_patches_change_nothing() {
    let mut objs = objects();
    apply_patches(&mut objs, &[]).expect("ok");
    assert_eq!(objs, objects());
}

#[test]
fn json_patch_on_regex_target() {
    let mut objs = objects();
    let target = PatchTarget {
        kind: Some("Deployment".into()),
        name: Some("(kustomize|helm)-controller".into()),
        ..Default::default()
    };
    let p = patch(
        "- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --concurrent=20\n",
        Some(target),
    );
    apply_patches(&mut objs, &[p]).expect("applies");
    for d in &objs[..2] {
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["args"],
            json!(["--log-level=info", "--concurrent=20"])
        );
    }
    assert_eq!(objs[2], objects()[2]);
}

#[test]
fn strategic_merge_with_target_ignores_the_patch_name() {
    let mut objs = objects();
    let p = patch(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: all\nspec:\n  replicas: 2\n",
        kind("Deployment"),
    );
    apply_patches(&mut objs, &[p]).expect("applies");
    assert_eq!(objs[0]["spec"]["replicas"], json!(2));
    assert_eq!(objs[0]["metadata"]["name"], json!("kustomize-controller"));
    assert_eq!(objs[1]["spec"]["replicas"], json!(2));
}

#[test]
fn strategic_merge_without_target_needs_the_identity() {
    let mut objs = objects();
    let p = patch(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: helm-controller\n  namespace: flux-system\nspec:\n  replicas: 3\n",
        None,
    );
    apply_patches(&mut objs, &[p]).expect("applies");
    assert_eq!(objs[1]["spec"]["replicas"], json!(3));
    assert!(objs[0]["spec"].get("replicas").is_none());
}

#[test]
fn patches_apply_in_order() {
    let mut objs = objects();
    let first = patch(
        "[{\"op\": \"add\", \"path\": \"/spec/replicas\", \"value\": 1}]",
        kind("Deployment"),
    );
    let second = patch(
        "[{\"op\": \"replace\", \"path\": \"/spec/replicas\", \"value\": 5}]",
        kind("Deployment"),
    );
    apply_patches(&mut objs, &[first, second]).expect("applies");
    assert_eq!(objs[0]["spec"]["replicas"], json!(5));
}

#[test]
fn delete_removes_the_object() {
    let mut objs = objects();
    let p = patch(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: webhook\n  namespace: flux-system\n$patch: delete\n",
        None,
    );
    apply_patches(&mut objs, std::slice::from_ref(&p)).expect("applies");
    assert!(objs[2].is_null());
    let mut objs = objects();
    apply_patches_to_vec(&mut objs, &[p]).expect("applies");
    assert_eq!(objs.len(), 2);
}

fn error(objs: &mut [Value], patches: &[PatchSpec]) -> Error {
    let before = objs.to_vec();
    let e = apply_patches(objs, patches).expect_err("fails");
    assert_eq!(objs, &before[..], "all or nothing");
    e
}

#[test]
fn error_not_an_object_nor_operations() {
    let e = error(&mut objects(), &[patch("just: [text", kind("Deployment"))]);
    assert!(matches!(e, Error::InvalidPatch { index: 0, .. }));
    let e = error(&mut objects(), &[patch("replicas: 2\n", kind("Deployment"))]);
    assert!(
        e.to_string()
            .starts_with("spec.kustomize.patches[0]: the patch is neither a strategic-merge patch"),
        "{e}"
    );
}

#[test]
fn error_op_on_missing_path() {
    let ok = patch(
        "[{\"op\": \"add\", \"path\": \"/spec/replicas\", \"value\": 1}]",
        kind("Deployment"),
    );
    let bad = patch(
        "- op: replace\n  path: /spec/strategy/type\n  value: Recreate\n",
        kind("Deployment"),
    );
    let e = error(&mut objects(), &[ok, bad]);
    assert_eq!(
        e.to_string(),
        "spec.kustomize.patches[1]: on Deployment flux-system/kustomize-controller: operation 0 (replace \
         \"/spec/strategy/type\"): path \"/spec/strategy/type\" does not exist"
    );
    assert!(matches!(e, Error::Failed { index: 1, .. }));
}

#[test]
fn target_matching_nothing_does_nothing() {
    let target = PatchTarget {
        kind: Some("Deployment".into()),
        name: Some("image-.*".into()),
        ..Default::default()
    };
    let mut objs = objects();
    apply_patches(
        &mut objs,
        &[patch("[{\"op\": \"remove\", \"path\": \"/spec\"}]", Some(target))],
    )
    .expect("no object selected is no error");
    assert_eq!(objs, objects());
}

#[test]
fn error_untargeted_patch_matching_nothing() {
    let untargeted = patch(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: helm-controller\nspec: {}\n",
        None,
    );
    let e = error(&mut objects(), &[untargeted]);
    assert!(
        e.to_string()
            .contains("no object is the patch's Deployment helm-controller"),
        "{e}"
    );
    assert!(matches!(e, Error::NoMatch { .. }));
}

/// The error of a JSON patch on `target`, which must be an invalid target.
fn refused_target(target: PatchTarget) -> Error {
    let e = error(
        &mut objects(),
        &[patch("[{\"op\": \"remove\", \"path\": \"/spec\"}]", Some(target))],
    );
    assert!(matches!(e, Error::InvalidTarget { index: 0, .. }));
    e
}

#[test]
fn error_bad_regex_in_target() {
    let target = PatchTarget {
        name: Some("(kustomize|helm-controller".into()),
        ..Default::default()
    };
    let e = refused_target(target);
    assert!(
        e.to_string().starts_with(
            "spec.kustomize.patches[0]: target name \"(kustomize|helm-controller\" is not a valid regular expression"
        ),
        "{e}"
    );
}

#[test]
fn error_bad_label_selector() {
    let target = PatchTarget {
        label_selector: Some("app in kustomize-controller".into()),
        ..Default::default()
    };
    let e = refused_target(target);
    assert!(
        e.to_string()
            .contains("target labelSelector \"app in kustomize-controller\" is not a valid selector"),
        "{e}"
    );
    assert_eq!(e.reason(), "BuildFailed");
}

#[test]
fn error_merge_failure_names_the_object() {
    let p = patch(
        "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template: oops\n",
        kind("Deployment"),
    );
    let e = error(&mut objects(), &[p]);
    assert_eq!(
        e.to_string(),
        "spec.kustomize.patches[0]: merging into Deployment flux-system/kustomize-controller: at spec.template: \
         cannot merge a scalar into a map"
    );
}

#[test]
fn error_json_patch_without_target() {
    let e = error(&mut objects(), &[patch("- {op: remove, path: /spec}", None)]);
    assert_eq!(
        e.to_string(),
        "spec.kustomize.patches[0]: a JSON 6902 patch needs a target"
    );
}

#[test]
fn targeted_metadata_maps_read_as_strings() {
    let mut objs = objects();
    let p = patch(
        "kind: X\nmetadata:\n  name: x\n  labels: {app: null, n: 7}\n",
        kind("Service"),
    );
    apply_patches(&mut objs, &[p]).expect("applies");
    assert_eq!(objs[2]["metadata"]["labels"], json!({"app": "null", "n": "7"}));
}

#[test]
fn later_targets_see_original_names() {
    let mut objs = objects();
    let rename = patch(
        "[{\"op\": \"replace\", \"path\": \"/metadata/name\", \"value\": \"hooks\"}]",
        kind("Service"),
    );
    let by_old_name = patch(
        "[{\"op\": \"add\", \"path\": \"/metadata/labels\", \"value\": {\"a\": \"b\"}}]",
        Some(PatchTarget {
            name: Some("webhook".into()),
            ..Default::default()
        }),
    );
    apply_patches(&mut objs, &[rename, by_old_name]).expect("applies");
    assert_eq!(
        objs[2]["metadata"],
        json!({"name": "hooks", "namespace": "flux-system", "labels": {"a": "b"}})
    );
}

fn json_patch(ops: &[Value], name: &str) -> PatchSpec {
    patch(
        &Value::Array(ops.to_vec()).to_string(),
        Some(PatchTarget {
            kind: Some("Deployment".into()),
            name: Some(name.into()),
            ..Default::default()
        }),
    )
}

/// n copies of the pod template into itself grow it as 2^n; the copy budget stops it early
/// and cheaply.
#[test]
fn copy_doubling_stops_at_the_copy_limit() {
    let ops: Vec<Value> = (0..40)
        .map(
            |i| json!({"op": "copy", "from": "/spec/template", "path": format!("/spec/template/metadata/labels/c{i}")}),
        )
        .collect();
    let mut objs = vec![deployment("a")];
    objs[0]["spec"]["template"]["metadata"] = json!({"labels": {}});
    let started = std::time::Instant::now();
    let e = error(&mut objs, &[json_patch(&ops, "a")]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        e.to_string(),
        "spec.kustomize.patches[0]: on Deployment flux-system/a: its copy operations copy more than 2 MiB into the object"
    );
}

/// Each patch stays under the copy budget, together they do not under the object limit.
#[test]
fn patched_object_size_is_limited() {
    let big = "x".repeat(3 << 19);
    let add = |i: usize| {
        json_patch(
            &[json!({"op": "add", "path": format!("/metadata/labels/l{i}"), "value": big})],
            "a",
        )
    };
    let mut objs = vec![deployment("a")];
    let e = error(&mut objs, &[add(0), add(1), add(2)]);
    assert_eq!(
        e.to_string(),
        "spec.kustomize.patches[2]: on Deployment flux-system/a: the patched object is larger than 4 MiB"
    );
}

#[test]
fn render_size_is_limited() {
    let big = "x".repeat(3 << 20);
    let add = json_patch(
        &[json!({"op": "add", "path": "/metadata/labels/big", "value": big})],
        ".*",
    );
    let mut objs: Vec<Value> = (0..12).map(|i| deployment(&format!("d{i}"))).collect();
    let e = error(&mut objs, &[add]);
    assert!(
        e.to_string()
            .ends_with(": the patched objects are larger than 32 MiB together"),
        "{e}"
    );
}

#[test]
fn patches_must_leave_a_name_an_api_version_and_a_kind() {
    for (path, field) in [
        ("/metadata/name", "metadata.name"),
        ("/metadata", "metadata.name"),
        ("/apiVersion", "apiVersion"),
        ("/kind", "kind"),
    ] {
        let mut objs = objects();
        let e = error(
            &mut objs,
            &[json_patch(&[json!({"op": "remove", "path": path})], "helm-controller")],
        );
        assert_eq!(
            e.to_string(),
            format!("spec.kustomize.patches[0]: Deployment flux-system/helm-controller has no {field} after the patch")
        );
    }
    // Taken away by one patch, put back by the next: fine, as in kustomize.
    let mut objs = objects();
    let remove = json_patch(&[json!({"op": "remove", "path": "/apiVersion"})], "helm-controller");
    let add = json_patch(
        &[json!({"op": "add", "path": "/apiVersion", "value": "apps/v1"})],
        "helm-controller",
    );
    apply_patches(&mut objs, &[remove, add]).expect("valid in the end");
    assert_eq!(objs, objects());
}

#[test]
fn renaming_onto_another_object_is_refused() {
    let mut objs = objects();
    let rename = json_patch(
        &[json!({"op": "replace", "path": "/metadata/name", "value": "kustomize-controller"})],
        "helm-controller",
    );
    let label = patch(
        "[{\"op\": \"add\", \"path\": \"/metadata/labels\", \"value\": {}}]",
        kind("Service"),
    );
    let e = error(&mut objs, &[label, rename]);
    assert_eq!(
        e.to_string(),
        "spec.kustomize.patches[1]: Deployment flux-system/helm-controller becomes Deployment \
         flux-system/kustomize-controller, which another object is too"
    );
}

#[test]
fn annotations_can_be_added_to_an_object_without_them() {
    let mut objs = objects();
    let ops = [
        json!({"op": "add", "path": "/metadata/annotations/team", "value": "a"}),
        json!({"op": "copy", "from": "/metadata/name", "path": "/metadata/annotations/copied"}),
    ];
    apply_patches(&mut objs, &[json_patch(&ops, "helm-controller")]).expect("applies");
    assert_eq!(
        objs[1]["metadata"]["annotations"],
        json!({"team": "a", "copied": "helm-controller"})
    );
    // An annotations map that stays empty is not left behind.
    let mut objs = objects();
    let ops = [json!({"op": "remove", "path": "/metadata/annotations"})];
    apply_patches(&mut objs, &[json_patch(&ops, "helm-controller")]).expect("applies");
    assert_eq!(objs, objects());
}

#[test]
fn huge_names_are_shortened_in_messages() {
    let name = "n".repeat(1 << 20);
    let mut objs = objects();
    let ops = [json!({"op": "remove", "path": format!("/spec/{name}")})];
    let e = error(&mut objs, &[json_patch(&ops, "helm-controller")]);
    assert!(e.to_string().len() < 400, "{e}");
}
