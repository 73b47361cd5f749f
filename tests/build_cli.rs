//! `flux-operator-rs build instance`: YAML on stdout, or one line on stderr and nothing on
//! stdout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn data_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/flux-distribution")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flux-operator-rs"))
        .args(args)
        .output()
        .expect("run the binary")
}

fn build_file(contents: &str) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("instance.yaml");
    std::fs::write(&file, contents).expect("write the instance");
    let root = data_root();
    run(&[
        "build",
        "instance",
        "-f",
        file.to_str().expect("path"),
        "--storage-path",
        root.to_str().expect("path"),
    ])
}

fn instance(spec: &str) -> String {
    format!(
        "apiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\n  namespace: flux-system\nspec:\n{spec}"
    )
}

const DISTRIBUTION: &str = "  distribution:\n    version: \"2.x\"\n    registry: ghcr.io/fluxcd\n";

/// Asserts a failure: non-zero exit, empty stdout, one stderr line containing every needle.
fn assert_fails(output: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "succeeded; stderr: {stderr}");
    assert!(
        output.stdout.is_empty(),
        "stdout not empty: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr:?}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
    }
}

#[test]
fn success_prints_the_objects_as_yaml() {
    let output = build_file(&instance(&format!(
        "{DISTRIBUTION}  sync:\n    kind: GitRepository\n    url: https://example.com/r.git\n    ref: refs/heads/main\n    path: clusters/a\n"
    )));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(stdout.starts_with("---\n"));
    let docs: Vec<Value> = flux_operator_rs::yaml::from_multi_str(&stdout).expect("parse the output");
    assert!(docs.len() > 20);
    assert_eq!(docs[0]["kind"], "CustomResourceDefinition");
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    // Upstream's order: the kinds after the Deployments by API group, the source last.
    assert_eq!(kinds.last(), Some(&"GitRepository"));
    let source = docs
        .iter()
        .find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == "source-controller")
        .expect("source-controller");
    assert_eq!(source["metadata"]["namespace"], "flux-system");
    assert!(
        source["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("ghcr.io/fluxcd/source-controller:v1.9.4@sha256:"))
    );
}

#[test]
fn the_cobaltcore_example_builds() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cobaltcore-management.yaml");
    let root = data_root();
    let output = run(&[
        "build",
        "instance",
        "-f",
        example.to_str().expect("path"),
        "--storage-path",
        root.to_str().expect("path"),
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(stdout.contains("url: ssh://git@github.com/c5c3/c5c3-gitops.git"));
}

#[test]
fn namespace_defaults_to_flux_system() {
    let output = build_file(&format!(
        "apiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\nspec:\n{DISTRIBUTION}"
    ));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let docs: Vec<Value> =
        flux_operator_rs::yaml::from_multi_str(&String::from_utf8_lossy(&output.stdout)).expect("YAML");
    assert!(
        docs.iter()
            .any(|d| d["kind"] == "Namespace" && d["metadata"]["name"] == "flux-system")
    );
}

#[test]
fn mirror_warning_goes_to_stderr() {
    let output = build_file(&instance(
        "  distribution:\n    version: \"2.x\"\n    registry: mirror.example.com/flux\n",
    ));
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("warning: ") && stderr.contains("mirror.example.com/flux"),
        "{stderr}"
    );
    assert!(!output.stdout.is_empty());
}

#[test]
fn missing_file() {
    let output = run(&[
        "build",
        "instance",
        "-f",
        "/nonexistent/instance.yaml",
        "--storage-path",
        "/nonexistent",
    ]);
    assert_fails(&output, &["/nonexistent/instance.yaml"]);
}

#[test]
fn bad_yaml() {
    assert_fails(&build_file("spec: [\n  distribution"), &["invalid YAML"]);
}

#[test]
fn not_a_flux_instance() {
    assert_fails(
        &build_file("apiVersion: v1\nkind: ConfigMap\n"),
        &["ConfigMap", "FluxInstance"],
    );
}

#[test]
fn unknown_field() {
    assert_fails(
        &build_file(&instance(&format!("{DISTRIBUTION}  clustr:\n    size: large\n"))),
        &["spec.clustr", "unknown field"],
    );
}

#[test]
fn wrong_field_type() {
    assert_fails(
        &build_file(&instance(&format!(
            "{DISTRIBUTION}  cluster:\n    networkPolicy: sometimes\n"
        ))),
        &["spec.cluster.networkPolicy", "sometimes", "boolean"],
    );
}

#[test]
fn bad_constraint() {
    assert_fails(
        &build_file(&instance(
            "  distribution:\n    version: \">>2\"\n    registry: ghcr.io/fluxcd\n",
        )),
        &["spec.distribution.version", ">>2"],
    );
}

/// A 10 MB constraint is echoed by its start and its length, not whole.
#[test]
fn huge_constraint_gives_a_short_line() {
    let version = format!("2.{}", "9".repeat(10 << 20));
    let output = build_file(&instance(&format!(
        "  distribution:\n    version: \"{version}\"\n    registry: ghcr.io/fluxcd\n"
    )));
    assert_fails(
        &output,
        &["spec.distribution.version", "longer than 512 bytes", "(10485762 bytes)"],
    );
    assert!(output.stderr.len() < 400, "{} bytes of stderr", output.stderr.len());
}

#[test]
fn unknown_component() {
    assert_fails(
        &build_file(&instance(&format!(
            "{DISTRIBUTION}  components: [source-controller, flagger]\n"
        ))),
        &["spec.components[1]", "flagger"],
    );
}

#[test]
fn component_missing_from_the_version() {
    assert_fails(
        &build_file(&instance(
            "  distribution:\n    version: \"2.6.x\"\n    registry: ghcr.io/fluxcd\n  components: [source-watcher]\n",
        )),
        &["spec.components", "source-watcher", "v2.6.4"],
    );
}

#[test]
fn missing_version() {
    assert_fails(
        &build_file(&instance("  distribution:\n    registry: ghcr.io/fluxcd\n")),
        &["spec.distribution.version", "missing"],
    );
}

#[test]
fn no_matching_version() {
    assert_fails(
        &build_file(&instance(
            "  distribution:\n    version: \"1.x\"\n    registry: ghcr.io/fluxcd\n",
        )),
        &["spec.distribution.version", "1.x"],
    );
}

#[test]
fn registry_with_spaces() {
    assert_fails(
        &build_file(&instance(
            "  distribution:\n    version: \"2.x\"\n    registry: ghcr.io/flux cd\n",
        )),
        &["spec.distribution.registry", "ghcr.io/flux cd"],
    );
}

#[test]
fn bad_patch() {
    assert_fails(
        &build_file(&instance(&format!(
            "{DISTRIBUTION}  kustomize:\n    patches:\n      - patch: \"- op: explode\\n  path: /spec\"\n        target:\n          kind: Deployment\n"
        ))),
        &["spec.kustomize.patches[0]"],
    );
}

#[test]
fn bad_storage_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("instance.yaml");
    std::fs::write(&file, instance(DISTRIBUTION)).expect("write");
    let output = run(&[
        "build",
        "instance",
        "-f",
        file.to_str().expect("path"),
        "--storage-path",
        "/nonexistent/data",
    ]);
    assert_fails(&output, &["/nonexistent/data"]);
}

/// A spec with `spec.kustomize.patches` holding one JSON patch (given as JSON) on `target`.
fn with_json_patch(target: &str, ops: &Value) -> String {
    let patch = serde_json::to_string(&ops.to_string()).expect("a JSON string");
    instance(&format!(
        "{DISTRIBUTION}  kustomize:\n    patches:\n      - patch: {patch}\n        target: {target}\n"
    ))
}

/// n copies of the pod template into its own labels double it n times: 2^40 bytes
/// without the copy limit.
#[test]
fn copy_doubling_is_refused_quickly() {
    let ops: Vec<Value> = (0..40)
        .map(|i| {
            serde_json::json!({"op": "copy", "from": "/spec/template",
                               "path": format!("/spec/template/metadata/labels/c{i}")})
        })
        .collect();
    let started = std::time::Instant::now();
    let output = build_file(&with_json_patch(
        "{kind: Deployment, name: source-controller}",
        &Value::Array(ops),
    ));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_fails(
        &output,
        &["spec.kustomize.patches[0]: on Deployment source-controller: its copy operations copy more than 2 MiB"],
    );
}

#[test]
fn patch_leaving_no_name_is_refused() {
    let ops = serde_json::json!([{"op": "remove", "path": "/metadata/name"}]);
    assert_fails(
        &build_file(&with_json_patch("{kind: Deployment, name: helm-controller}", &ops)),
        &["spec.kustomize.patches[0]: Deployment helm-controller has no metadata.name after the patch"],
    );
}

/// The release's Deployment has no namespace while patches run, the shard copy has the
/// instance's: they meet only when the build puts the namespace back.
#[test]
fn rename_onto_a_shard_copy_is_refused() {
    let ops = serde_json::json!([{"op": "replace", "path": "/metadata/name", "value": "source-controller-s1"}]);
    let spec = with_json_patch("{kind: Deployment, name: ^source-controller$}", &ops)
        .replace("  kustomize:", "  sharding:\n    shards: [s1]\n  kustomize:");
    assert_fails(
        &build_file(&spec),
        &[
            "spec.kustomize.patches[0]: Deployment ",
            "becomes Deployment flux-system/source-controller-s1, which another object is too",
        ],
    );
}

#[test]
fn invalid_common_metadata_is_refused() {
    assert_fails(
        &build_file(&instance(&format!(
            "{DISTRIBUTION}  commonMetadata:\n    labels:\n      \"bad key!\": x\n"
        ))),
        &["spec.commonMetadata.labels: key \"bad key!\" is not a qualified name"],
    );
    // 10 MB would be copied into every object: a 357 MB render before.
    let huge = "v".repeat(10 << 20);
    let output = build_file(&instance(&format!(
        "{DISTRIBUTION}  commonMetadata:\n    labels:\n      team: {huge}\n"
    )));
    assert_fails(
        &output,
        &["spec.commonMetadata.labels[\"team\"]: value \"vvv", "(10485760 bytes)"],
    );
    assert!(output.stderr.len() < 400, "{} bytes", output.stderr.len());
}

#[test]
fn sync_url_with_a_newline_is_refused() {
    assert_fails(
        &build_file(&instance(&format!(
            "{DISTRIBUTION}  sync:\n    kind: GitRepository\n    url: \"https://example.com/r.git\\nx\"\n    ref: refs/heads/main\n    path: clusters/a\n"
        ))),
        &["spec.sync.url \"https://example.com/r.git\\nx\" must not contain whitespace or control characters"],
    );
    assert_fails(
        &build_file(&instance(&format!(
            "{DISTRIBUTION}  sync:\n    kind: OCIRepository\n    url: ghcr.io/example/fleet\n    ref: latest\n    path: ./\n"
        ))),
        &["spec.sync.url \"ghcr.io/example/fleet\" is not an oci:// URL"],
    );
}

#[test]
fn huge_registry_gives_a_short_line() {
    let huge = "a".repeat(10 << 20);
    let output = build_file(&instance(&format!(
        "  distribution:\n    version: \"2.x\"\n    registry: ghcr.io/{huge}\n"
    )));
    assert_fails(
        &output,
        &[
            "spec.distribution.registry \"ghcr.io/aaa",
            "is longer than 227 characters",
        ],
    );
    assert!(output.stderr.len() < 400, "{} bytes", output.stderr.len());
}

/// `build resourceset`: a mistake is one stderr line naming what is wrong, nothing on stdout.
#[test]
fn build_resourceset_refuses_in_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.to_str().expect("path").to_owned()
    };
    let broken = write("broken.yaml", "a: [\n");
    assert_fails(
        &run(&["build", "resourceset", "-f", &broken]),
        &["the ResourceSet: invalid YAML"],
    );
    let set = "apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata: {name: s}\nspec:\n  \
               inputs: [{a: 1}]\n  resources:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: '<< inputs.b >>'}}\n";
    let set = write("set.yaml", set);
    assert_fails(
        &run(&["build", "rset", "-f", &set]),
        &["build failed: ", "map has no entry for key \"b\""],
    );
    let big = write("big.yaml", &"#".repeat((16 << 20) + 1));
    assert_fails(&run(&["build", "rset", "-f", &big]), &["larger than 16 MiB"]);
}
