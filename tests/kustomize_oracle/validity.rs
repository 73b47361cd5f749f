//! What a patch may leave behind (a module of tests/kustomize_oracle.rs): kustomize refuses a
//! patched object without a name and two objects with one identity, and so do we; it keeps
//! an object without apiVersion, which apply would refuse, and we refuse it at build time.
//! Adding to the annotations of an object that has none works in both.

use flux_operator_rs::build::patch::apply_patches;

use super::{check, check_refused, deployments, flux, kustomize, patch};

#[test]
fn refused_name_removed() {
    for path in ["/metadata/name", "/metadata"] {
        check_refused(
            flux(),
            vec![patch(
                deployments("helm-controller"),
                &format!("- {{op: remove, path: {path}}}"),
            )],
        );
    }
}

#[test]
fn refused_rename_onto_another_object() {
    check_refused(
        flux(),
        vec![patch(
            deployments("helm-controller"),
            "- {op: replace, path: /metadata/name, value: source-controller}",
        )],
    );
}

#[test]
fn api_version_removed_is_kept_by_kustomize_and_refused_here() {
    let patches = vec![patch(
        deployments("helm-controller"),
        "- {op: remove, path: /apiVersion}",
    )];
    let objects = flux();
    assert!(kustomize(&objects, &patches).is_ok(), "kustomize keeps the object");
    let mut ours = objects.clone();
    let e = apply_patches(&mut ours, &patches).expect_err("we refuse it");
    assert_eq!(
        e.to_string(),
        "spec.kustomize.patches[0]: Deployment flux-system/helm-controller has no apiVersion after the patch"
    );
}

#[test]
fn annotation_added_to_an_object_without_annotations() {
    check(
        flux(),
        vec![patch(
            deployments("helm-controller"),
            "- {op: add, path: /metadata/annotations/team, value: platform}\n\
             - {op: copy, from: /metadata/name, path: /metadata/annotations/copied}\n",
        )],
    );
    check(
        flux(),
        vec![patch(
            deployments("helm-controller"),
            "- {op: remove, path: /metadata/annotations}",
        )],
    );
}
