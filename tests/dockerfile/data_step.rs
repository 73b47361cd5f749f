//! The Dockerfile's data step, run with stand-ins for `curl` and `crane` that serve
//! `../shared/flux-distribution`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use flux_operator_rs::api::Variant;
use flux_operator_rs::distribution::{Distribution, resolve_version};

use crate::parse::Dockerfile;
use crate::{shared, shared_versions};

/// The index the `crane` stand-in answers from: `ghcr.io/fluxcd/<component>:<tag> <digest>`
/// for every image of every release in the shared folder.
fn digest_index() -> BTreeMap<String, String> {
    let mut index = BTreeMap::new();
    for entry in std::fs::read_dir(shared().join("flux-images")).expect("read flux-images") {
        let path = entry.expect("entry").path().join("upstream-alpine.yaml");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let file: serde_json::Value = flux_operator_rs::yaml::from_str(&text).expect("parse image list");
        for image in file["images"].as_array().expect("images") {
            let reference = format!(
                "{}:{}",
                image["name"].as_str().expect("name"),
                image["newTag"].as_str().expect("newTag")
            );
            let digest = image["digest"].as_str().expect("digest").to_string();
            if let Some(other) = index.insert(reference.clone(), digest.clone()) {
                assert_eq!(other, digest, "{reference} has two digests in the shared data");
            }
        }
    }
    index
}

const CURL_STAND_IN: &str = r#"#!/bin/sh
# curl, for the Dockerfile's data step: serves manifests.tar.gz of a Flux release from the
# shared folder and logs the URL.
out=""
url=""
while [ $# -gt 0 ]; do
    case "$1" in
        -o) out=$2; shift 2 ;;
        --retry) shift 2 ;;
        -*) shift ;;
        *) url=$1; shift ;;
    esac
done
echo "$url" >> "$STUB_LOG/curl.log"
version=$(echo "$url" | sed -n 's|^https://github.com/fluxcd/flux2/releases/download/\(v[0-9.]*\)/manifests.tar.gz$|\1|p')
[ -n "$version" ] && [ -n "$out" ] && [ -d "$SHARED/flux/$version" ] || { echo "curl: (22) 404 $url" >&2; exit 22; }
exec tar -czf "$out" -C "$SHARED/flux/$version" .
"#;

const CRANE_STAND_IN: &str = r#"#!/bin/sh
# crane, for the Dockerfile's data step: `crane digest REF` answers from the shared image
# lists; a reference they lack gets a made-up digest and is logged as such.
[ "$1" = digest ] && [ $# -eq 2 ] || { echo "crane stand-in: unexpected arguments: $*" >&2; exit 2; }
found=$(sed -n "s|^$2 \(sha256:.*\)\$|\1|p" "$STUB_LOG/digests.txt")
if [ -n "$found" ]; then
    echo "$found"
else
    echo "$2" >> "$STUB_LOG/unknown.log"
    echo "sha256:$(printf '%s' "$2" | sha256sum | cut -d' ' -f1)"
fi
"#;

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write stand-in");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod stand-in");
}

/// Runs the data step into `dir/data` for `versions`, with the stand-ins; returns the
/// folder of their logs.
pub fn run(dir: &Path, versions: &str) -> PathBuf {
    let script = Dockerfile::read().stage("data").heredoc().to_string();
    let bin = dir.join("bin");
    let logs = dir.join("logs");
    let data = dir.join("data");
    std::fs::create_dir_all(&bin).expect("mkdir bin");
    std::fs::create_dir_all(&logs).expect("mkdir logs");
    write_executable(&bin.join("curl"), CURL_STAND_IN);
    write_executable(&bin.join("crane"), CRANE_STAND_IN);
    let index = digest_index();
    let lines: String = index.iter().map(|(r, d)| format!("{r} {d}\n")).collect();
    std::fs::write(logs.join("digests.txt"), lines).expect("write digest index");

    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("PATH", path)
        .env("FLUX_VERSIONS", versions)
        .env("DATA_DIR", &data)
        .env("SHARED", shared())
        .env("STUB_LOG", &logs)
        .output()
        .expect("run the data step with sh");
    assert!(
        out.status.success(),
        "the data step failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    logs
}

#[test]
fn the_data_step_writes_a_distribution_the_operator_reads() {
    let versions = Dockerfile::read().arg_default("FLUX_VERSIONS");
    let tmp = tempfile::tempdir().expect("tempdir");
    let logs = run(tmp.path(), &versions);
    let data = tmp.path().join("data");

    // It downloaded each release once, from the fluxcd/flux2 release assets.
    let urls = std::fs::read_to_string(logs.join("curl.log")).expect("curl log");
    let expected: Vec<String> = versions
        .split_whitespace()
        .map(|v| format!("https://github.com/fluxcd/flux2/releases/download/{v}/manifests.tar.gz"))
        .collect();
    assert_eq!(urls.lines().collect::<Vec<_>>(), expected);

    // Nothing but the layout the operator reads.
    let mut top: Vec<String> = std::fs::read_dir(&data)
        .expect("read data")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["flux", "flux-images"]);

    // The operator's reader: every release, 2.x resolves to the newest, which VERSION names.
    let distribution = Distribution::open(&data).expect("the operator opens the baked data");
    let listed: Vec<String> = distribution.versions().iter().map(|v| format!("v{v}")).collect();
    assert_eq!(listed, shared_versions());
    let newest = resolve_version("2.x", distribution.versions()).expect("2.x resolves");
    let version_file = std::fs::read_to_string(data.join("flux-images/VERSION")).expect("flux-images/VERSION");
    assert_eq!(version_file, format!("v{newest}\n"));
    assert_eq!(
        version_file,
        std::fs::read_to_string(shared().join("flux-images/VERSION")).expect("shared VERSION")
    );

    for version in distribution.versions() {
        let release = format!("v{version}");
        // The release manifests, unmodified, directly in flux/vX.Y.Z.
        let ours = data.join("flux").join(&release);
        let theirs = shared().join("flux").join(&release);
        let mut files: Vec<String> = std::fs::read_dir(&ours)
            .expect("read release")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut expected_files: Vec<String> = std::fs::read_dir(&theirs)
            .expect("read shared release")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        expected_files.sort();
        assert_eq!(files, expected_files, "{release}");
        assert!(
            distribution
                .manifest(version, "source-controller.yaml")
                .expect("read manifest")
                .is_some()
        );

        // The image list: every controller of the release, with the tag its manifests use.
        let images = distribution
            .images(version, Variant::UpstreamAlpine)
            .unwrap_or_else(|e| panic!("{release}: {e}"));
        let manifests = expected_files
            .iter()
            .filter(|f| f.ends_with("-controller.yaml") || *f == "source-watcher.yaml");
        assert_eq!(images.len(), manifests.count(), "{release}: one image per controller");
        for image in &images {
            assert_eq!(image.name, format!("ghcr.io/fluxcd/{}", image.component()));
            let manifest = distribution
                .manifest(version, &format!("{}.yaml", image.component()))
                .expect("read manifest")
                .expect("the image's controller is in the release");
            assert!(
                manifest.contains(&format!("image: fluxcd/{}:{}\n", image.component(), image.tag)),
                "{release}: {} {} is not the image of its manifest",
                image.name,
                image.tag
            );
        }

        // Byte for byte the shared image list, but for v2.2.3: its manifests deploy
        // source-controller v1.2.5, where the shared list (as upstream's) names v1.2.4.
        let ours = std::fs::read_to_string(data.join("flux-images").join(&release).join("upstream-alpine.yaml"))
            .expect("our image list");
        let theirs = std::fs::read_to_string(shared().join("flux-images").join(&release).join("upstream-alpine.yaml"))
            .expect("shared image list");
        if release == "v2.2.3" {
            let differing: Vec<(&str, &str)> = ours.lines().zip(theirs.lines()).filter(|(a, b)| a != b).collect();
            assert_eq!(differing.len(), 2, "{differing:?}");
            assert_eq!(differing[0], ("    newTag: v1.2.5", "    newTag: v1.2.4"));
        } else {
            assert_eq!(ours, theirs, "{release}: the image list differs from the shared one");
        }
    }
    // The operator binary builds Flux from the baked data alone, as in an air-gapped cluster:
    // 2.x is the newest release, its images pinned by the digests of the image list.
    let instance = tmp.path().join("instance.yaml");
    std::fs::write(
        &instance,
        "apiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\n  namespace: flux-system\nspec:\n  distribution:\n    version: \"2.x\"\n    registry: ghcr.io/fluxcd\n",
    )
    .expect("write FluxInstance");
    let out = Command::new(env!("CARGO_BIN_EXE_flux-operator-rs"))
        .args(["build", "instance", "-f"])
        .arg(&instance)
        .arg("--storage-path")
        .arg(&data)
        .output()
        .expect("run flux-operator-rs build instance");
    assert!(
        out.status.success(),
        "build instance from the baked data failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifests = String::from_utf8_lossy(&out.stdout);
    let default_components = [
        "source-controller",
        "kustomize-controller",
        "helm-controller",
        "notification-controller",
    ];
    for image in distribution
        .images(&newest, Variant::UpstreamAlpine)
        .expect("images of the newest release")
        .iter()
        .filter(|i| default_components.contains(&i.component()))
    {
        let pinned = format!("{}:{}@{}", image.name, image.tag, image.digest);
        assert!(manifests.contains(&pinned), "{pinned} is not in the built manifests");
    }

    let unknown = std::fs::read_to_string(logs.join("unknown.log")).unwrap_or_default();
    assert_eq!(
        unknown, "ghcr.io/fluxcd/source-controller:v1.2.5\n",
        "only v2.2.3's source-controller is missing from the shared image lists"
    );
}

#[test]
fn the_data_step_refuses_a_malformed_version() {
    let dockerfile = Dockerfile::read();
    let script = dockerfile.stage("data").heredoc();
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("FLUX_VERSIONS", "2.9.4")
        .env("DATA_DIR", tmp.path())
        .output()
        .expect("run the data step with sh");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("FLUX_VERSIONS: 2.9.4 is not vX.Y.Z"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
