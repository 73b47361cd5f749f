//! `distribution push` and `build instance --artifact` against a real registry on
//! 127.0.0.1 (Debian's docker-registry), and interoperability with an independent OCI
//! client (the PyPI package `oras`) pushing and pulling the same artifacts.

#[path = "../oci_registry/mod.rs"]
mod oci_registry;
#[path = "../oci_registry/fixtures.rs"]
mod registry_fixtures;

mod hostile;
mod limits;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

use oci_registry::{Options, Registry, closed_port, shared_distribution};
use registry_fixtures::{copy_tree, distribution_without};

const CONTENT_MEDIA_TYPE: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";
const CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.flux.config.v1+json";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flux-operator-rs"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run the binary")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_ok(output: &Output) {
    assert!(output.status.success(), "failed: {}", stderr(output));
}

/// A failure: non-zero exit, nothing on stdout, one line on stderr with every needle.
fn assert_fails(output: &Output, needles: &[&str]) {
    let err = stderr(output);
    assert!(!output.status.success(), "succeeded; stderr: {err}");
    assert!(output.stdout.is_empty(), "stdout not empty: {}", stdout(output));
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(err.starts_with("error: "), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
    }
}

fn push(dir: &Path, reference: &str, extra: &[&str]) -> Output {
    let mut args = vec!["distribution", "push", dir.to_str().expect("path"), reference];
    args.extend_from_slice(extra);
    run(&args)
}

/// Pushes and returns the digest printed on stdout.
fn push_ok(dir: &Path, reference: &str, extra: &[&str]) -> String {
    let output = push(dir, reference, extra);
    assert_ok(&output);
    let digest = stdout(&output).trim().to_owned();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "stdout is not a digest: {digest:?}"
    );
    digest
}

fn instance_file(dir: &Path, version: &str) -> String {
    let file = dir.join("instance.yaml");
    std::fs::write(
        &file,
        format!(
            "apiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\n  namespace: flux-system\nspec:\n  distribution:\n    version: {version:?}\n    registry: ghcr.io/fluxcd\n"
        ),
    )
    .expect("write instance");
    file.to_string_lossy().into_owned()
}

fn build_from_folder(file: &str) -> String {
    let output = run(&[
        "build",
        "instance",
        "-f",
        file,
        "--storage-path",
        shared_distribution().to_str().expect("path"),
    ]);
    assert_ok(&output);
    stdout(&output)
}

fn build_from_artifact(file: &str, reference: &str, extra: &[&str]) -> Output {
    let shared = shared_distribution();
    let mut args = vec![
        "build",
        "instance",
        "-f",
        file,
        "--storage-path",
        shared.to_str().expect("path"),
        "--artifact",
        reference,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// The `app.kubernetes.io/version` of the built source-controller Deployment.
fn built_version(yaml: &str) -> String {
    let start = yaml.find("name: source-controller").expect("source-controller");
    let before = &yaml[..start];
    let doc_start = before.rfind("---").unwrap_or(0);
    let doc = &yaml[doc_start..];
    let line = doc
        .lines()
        .find(|l| l.trim_start().starts_with("app.kubernetes.io/version:"))
        .expect("version label");
    line.split(':')
        .nth(1)
        .expect("value")
        .trim()
        .trim_matches('"')
        .to_owned()
}

#[test]
fn push_then_build_from_the_artifact_equals_building_from_the_folder() {
    let registry = Registry::start(Options::default());
    let reference = registry.oci("flux-manifests:v1");
    let started = Instant::now();
    let digest = push_ok(&shared_distribution(), &reference, &["--plain-http"]);
    let push_time = started.elapsed();
    // Packing is reproducible: the same folder pushed again has the same digest.
    assert_eq!(push_ok(&shared_distribution(), &reference, &["--plain-http"]), digest);

    let work = tempfile::tempdir().expect("tempdir");
    let file = instance_file(work.path(), "2.x");
    let expected = build_from_folder(&file);
    let cache = work.path().join("cache");
    let cache_arg = cache.to_str().expect("path");

    let started = Instant::now();
    let cold = build_from_artifact(&file, &reference, &["--plain-http", "--artifact-cache-path", cache_arg]);
    let cold_time = started.elapsed();
    assert_ok(&cold);
    assert_eq!(
        stdout(&cold),
        expected,
        "the artifact builds exactly what the folder builds"
    );
    let hex = digest.trim_start_matches("sha256:");
    assert!(
        cache.join(hex).join("flux/v2.9.4").is_dir(),
        "cached under the manifest digest"
    );

    let blob_gets = registry.requests("GET", "flux-manifests/blobs/");
    let started = Instant::now();
    let warm = build_from_artifact(&file, &reference, &["--plain-http", "--artifact-cache-path", cache_arg]);
    let warm_time = started.elapsed();
    assert_ok(&warm);
    assert_eq!(stdout(&warm), expected);
    assert_eq!(
        registry.requests("GET", "flux-manifests/blobs/"),
        blob_gets,
        "a cache hit downloads no blob"
    );

    // By digest, without a tag.
    let pinned = registry.oci(&format!("flux-manifests@{digest}"));
    let output = build_from_artifact(&file, &pinned, &["--plain-http"]);
    assert_ok(&output);
    assert_eq!(stdout(&output), expected);
    eprintln!(
        "push {push_time:?}; build from the artifact: pull {cold_time:?}, cache hit {warm_time:?} (debug build, whole process)"
    );
}

#[test]
fn artifact_versions_are_limited_to_the_lines_the_operator_knows() {
    let registry = Registry::start(Options::default());
    // A distribution with a v2.10.0 line that this operator has no build logic for.
    let dist = distribution_without(&[]);
    copy_tree(&dist.path().join("flux/v2.9.4"), &dist.path().join("flux/v2.10.0"));
    copy_tree(
        &dist.path().join("flux-images/v2.9.4"),
        &dist.path().join("flux-images/v2.10.0"),
    );
    let reference = registry.oci("flux-manifests:newer-line");
    push_ok(dist.path(), &reference, &["--plain-http"]);

    let work = tempfile::tempdir().expect("tempdir");
    let file = instance_file(work.path(), "2.x");
    let output = build_from_artifact(&file, &reference, &["--plain-http"]);
    assert_ok(&output);
    assert_eq!(built_version(&stdout(&output)), "v2.9.4");

    // Asking for the unknown line only is an error naming the constraint.
    let file = instance_file(work.path(), "2.10.x");
    let output = build_from_artifact(&file, &reference, &["--plain-http"]);
    assert_fails(&output, &["spec.distribution.version", "\"2.10.x\""]);

    // Without baked-in data to compare with, the CLI says so and takes every version.
    let file = instance_file(work.path(), "2.x");
    let missing = work.path().join("no-data");
    let output = run(&[
        "build",
        "instance",
        "-f",
        &file,
        "--storage-path",
        missing.to_str().expect("path"),
        "--artifact",
        &reference,
        "--plain-http",
    ]);
    assert_ok(&output);
    assert!(
        stderr(&output).contains("not limited to known lines"),
        "{}",
        stderr(&output)
    );
    assert_eq!(built_version(&stdout(&output)), "v2.10.0");
}

#[test]
fn private_ca_and_htpasswd_credentials() {
    let registry = Registry::start(Options {
        users: vec![("flux".into(), "s3cret".into())],
        tls: true,
    });
    let ca = registry.ca_file().expect("CA");
    let ca_arg = ca.to_str().expect("path");
    let reference = registry.oci("mirror/flux-manifests:latest");
    let dist = shared_distribution();

    // Without the CA, the certificate is refused, with a hint.
    assert_fails(
        &push(&dist, &reference, &["--creds", "flux:s3cret"]),
        &["registry unreachable", "UnknownIssuer", "--ca-file", &reference],
    );
    // Without credentials, or with wrong ones, the registry refuses.
    assert_fails(
        &push(&dist, &reference, &["--ca-file", ca_arg]),
        &["refused the credentials", &reference],
    );
    assert_fails(
        &push(&dist, &reference, &["--ca-file", ca_arg, "--creds", "flux:wrong"]),
        &["refused the credentials"],
    );
    let digest = push_ok(&dist, &reference, &["--ca-file", ca_arg, "--creds", "flux:s3cret"]);

    let work = tempfile::tempdir().expect("tempdir");
    let file = instance_file(work.path(), "2.9.x");
    // A docker config file, as in an artifactPullSecret.
    let config = work.path().join("config.json");
    std::fs::write(&config, registry.docker_config("flux", "s3cret")).expect("write docker config");
    let cache = work.path().join("cache");
    let output = build_from_artifact(
        &file,
        &reference,
        &[
            "--ca-file",
            ca_arg,
            "--docker-config",
            config.to_str().expect("path"),
            "--artifact-cache-path",
            cache.to_str().expect("path"),
        ],
    );
    assert_ok(&output);
    assert_eq!(stdout(&output), build_from_folder(&file));
    assert!(cache.join(digest.trim_start_matches("sha256:")).is_dir());

    std::fs::write(&config, registry.docker_config("flux", "nope")).expect("write docker config");
    let output = build_from_artifact(
        &file,
        &reference,
        &["--ca-file", ca_arg, "--docker-config", config.to_str().expect("path")],
    );
    assert_fails(&output, &["--artifact", &reference, "refused the credentials"]);
    assert!(!stderr(&output).contains("nope"), "no secret in messages");

    // A config without an entry for this registry is named as such.
    std::fs::write(&config, r#"{"auths":{"ghcr.io":{"auth":"eDp5"}}}"#).expect("write docker config");
    let output = build_from_artifact(
        &file,
        &reference,
        &["--ca-file", ca_arg, "--docker-config", config.to_str().expect("path")],
    );
    assert_fails(
        &output,
        &["--docker-config", "no credentials for the registry", &registry.host()],
    );
}

#[test]
fn bad_references_and_unreachable_registries_are_one_line_errors() {
    let registry = Registry::start(Options::default());
    let work = tempfile::tempdir().expect("tempdir");
    let file = instance_file(work.path(), "2.x");
    let dist = shared_distribution();

    assert_fails(
        &build_from_artifact(&file, "ghcr.io/flux:latest", &[]),
        &["--artifact", "\"ghcr.io/flux:latest\"", "expected oci://"],
    );
    assert_fails(
        &push(&dist, "oci://127.0.0.1:5000/Flux", &["--plain-http"]),
        &["oci://REF", "invalid repository component \"Flux\""],
    );
    let missing = registry.oci("flux-manifests:missing");
    assert_fails(
        &build_from_artifact(&file, &missing, &["--plain-http"]),
        &["--artifact", &missing, "tag \"missing\" not found"],
    );
    let closed = format!("oci://127.0.0.1:{}/flux-manifests:latest", closed_port());
    assert_fails(
        &build_from_artifact(&file, &closed, &["--plain-http"]),
        &["--artifact", &closed, "registry unreachable", "Connection refused"],
    );
    // A registry that accepts the connection and never answers: the time limit holds.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let hanging = format!(
        "oci://127.0.0.1:{}/flux-manifests:latest",
        silent.local_addr().expect("address").port()
    );
    let started = Instant::now();
    assert_fails(
        &build_from_artifact(&file, &hanging, &["--plain-http", "--timeout", "1s"]),
        &["--artifact", &hanging, "no complete answer from the registry within 1s"],
    );
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    drop(silent);
    // HTTPS against a plain HTTP registry says what to do.
    let plain = registry.oci("flux-manifests:latest");
    assert_fails(
        &build_from_artifact(&file, &plain, &[]),
        &["registry unreachable", "--plain-http"],
    );
    assert_fails(
        &push(&dist, &plain, &["--plain-http", "--creds", "nocolon"]),
        &["--creds", "USER:PASSWORD"],
    );
    // A folder that is not a distribution is not pushed.
    let empty = work.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    assert_fails(
        &push(&empty, &plain, &["--plain-http"]),
        &["not a distribution folder", "has no flux/ folder"],
    );
    assert_fails(
        &push(&dist, &format!("{plain}@sha256:{}", "0".repeat(64)), &["--plain-http"]),
        &["a push needs a tag"],
    );
}

#[test]
fn a_corrupt_layer_is_refused_and_not_cached() {
    let registry = Registry::start(Options::default());
    let reference = registry.oci("flux-manifests:corrupt");
    let dist = distribution_without(&["v2.9.4"]);
    push_ok(dist.path(), &reference, &["--plain-http"]);
    let layer = layer_digest(&registry, "flux-manifests", "corrupt");
    registry.corrupt_blob(&layer);

    let work = tempfile::tempdir().expect("tempdir");
    let file = instance_file(work.path(), "2.x");
    let cache = work.path().join("cache");
    let output = build_from_artifact(
        &file,
        &reference,
        &["--plain-http", "--artifact-cache-path", cache.to_str().expect("path")],
    );
    assert_fails(&output, &["--artifact", &reference, "corrupt layer", &layer]);
    let left = std::fs::read_dir(&cache).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "nothing cached from a corrupt layer");
}

/// The first layer's digest, read by oras: an independent client's view of the manifest.
fn layer_digest(registry: &Registry, repository: &str, tag: &str) -> String {
    let manifest = oras_manifest(registry, repository, tag);
    manifest["layers"][0]["digest"]
        .as_str()
        .expect("layer digest")
        .to_owned()
}

fn python(script: &str, args: &[&str]) -> String {
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "python3 failed (is the PyPI package oras installed? pip install oras): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn oras_manifest(registry: &Registry, repository: &str, tag: &str) -> serde_json::Value {
    let script = r#"
import json, sys
import oras.provider
r = oras.provider.Registry(insecure=True)
print(json.dumps(r.get_manifest(sys.argv[1], allowed_media_type=["application/vnd.oci.image.manifest.v1+json"])))
"#;
    let text = python(script, &[&format!("{}/{repository}:{tag}", registry.host())]);
    serde_json::from_str(&text).expect("manifest JSON")
}

#[test]
fn oras_pulls_what_we_push() {
    let registry = Registry::start(Options::default());
    let reference = registry.oci("flux-manifests:interop");
    let digest = push_ok(&shared_distribution(), &reference, &["--plain-http"]);

    let manifest = oras_manifest(&registry, "flux-manifests", "interop");
    assert_eq!(manifest["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(manifest["config"]["mediaType"], CONFIG_MEDIA_TYPE);
    assert_eq!(manifest["layers"].as_array().map(Vec::len), Some(1));
    assert_eq!(manifest["layers"][0]["mediaType"], CONTENT_MEDIA_TYPE);

    // oras downloads the blob (verifying its digest) and Python's tarfile unpacks it.
    let out = tempfile::tempdir().expect("tempdir");
    let script = r#"
import hashlib, os, sys, tarfile
import oras.provider
target, outdir = sys.argv[1], sys.argv[2]
r = oras.provider.Registry(insecure=True)
files = r.pull(target=target, outdir=outdir)
assert len(files) == 1, files
blob = open(files[0], "rb").read()
digest = "sha256:" + hashlib.sha256(blob).hexdigest()
with tarfile.open(files[0], "r:gz") as t:
    t.extractall(os.path.join(outdir, "unpacked"), filter="data")
print(digest)
"#;
    let target = format!("{}/flux-manifests:interop", registry.host());
    let printed = python(script, &[&target, out.path().to_str().expect("path")]);
    assert_eq!(
        printed.trim(),
        manifest["layers"][0]["digest"].as_str().expect("digest")
    );
    assert_same_tree(&shared_distribution(), &out.path().join("unpacked"));
    assert!(digest.starts_with("sha256:"));
}

#[test]
fn we_pull_what_oras_pushes() {
    let registry = Registry::start(Options::default());
    let work = tempfile::tempdir().expect("tempdir");
    // An archive made by Python's tarfile, not by us: other owners, modes and times, and
    // a top-level folder as `tar czf x.tgz dist/` makes.
    let script = r#"
import os, sys, tarfile
import oras.provider
src, work, target, content, config_type = sys.argv[1:6]
tgz = os.path.join(work, "distribution.tar.gz")
with tarfile.open(tgz, "w:gz") as t:
    for name in ("flux", "flux-images"):
        t.add(os.path.join(src, name), arcname=os.path.join("dist", name))
config = os.path.join(work, "config.json")
open(config, "w").write("{}")
r = oras.provider.Registry(insecure=True)
r.push(target=target, files=[tgz + ":" + content], manifest_config=config + ":" + config_type,
       disable_path_validation=True)
"#;
    let target = format!("{}/flux-manifests:from-oras", registry.host());
    python(
        script,
        &[
            shared_distribution().to_str().expect("path"),
            work.path().to_str().expect("path"),
            &target,
            CONTENT_MEDIA_TYPE,
            CONFIG_MEDIA_TYPE,
        ],
    );
    let file = instance_file(work.path(), "2.x");
    let output = build_from_artifact(&file, &registry.oci("flux-manifests:from-oras"), &["--plain-http"]);
    assert_ok(&output);
    assert_eq!(stdout(&output), build_from_folder(&file));
}

/// Same relative files with the same bytes (the registry's own `artifacts/` cache folder
/// aside, should one exist in the shared data).
fn assert_same_tree(expected: &Path, actual: &Path) {
    fn files(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).expect("prefix").display().to_string());
            }
        }
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    files(expected, expected, &mut a);
    files(actual, actual, &mut b);
    a.sort();
    b.sort();
    assert_eq!(a, b);
    for name in &a {
        assert_eq!(
            std::fs::read(expected.join(name)).expect("read"),
            std::fs::read(actual.join(name)).expect("read"),
            "{name} differs"
        );
    }
}
