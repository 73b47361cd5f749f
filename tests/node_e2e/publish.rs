//! What users pull: the operator image built by `hack/image.sh` and the chart packaged by
//! helm, both pushed to the test bed's loopback registry.

use std::path::Path;
use std::process::Command;

use crate::common::{project_root as root, testbed_dir};
use crate::helm::helm_ok;

/// The chart's name and version, from its Chart.yaml.
pub struct Chart {
    pub name: String,
    pub version: String,
}

/// `HOST:PORT` of the registry `hack/testbed.sh up --node` started for the node.
pub fn registry() -> String {
    std::fs::read_to_string(testbed_dir().join("registry"))
        .expect("the test bed's registry file (hack/testbed.sh up --node)")
        .trim()
        .to_string()
}

fn run(command: &mut Command) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Builds the image with `hack/image.sh` into `layout`, pushes it as `repository:tag` for
/// every tag, and returns its manifest digest.
pub fn push_image(layout: &Path, repository: &str, tags: &[&str]) -> String {
    let (first, others) = tags.split_first().expect("at least one tag");
    let digest = run(Command::new(root().join("hack/image.sh"))
        .arg("--out")
        .arg(layout)
        .args(["--push", &format!("{repository}:{first}"), "--plain-http"]));
    for tag in others {
        let pushed = run(Command::new("python3")
            .arg(root().join("hack/oci-image.py"))
            .arg("push")
            .arg(layout)
            .args([&format!("{repository}:{tag}"), "--plain-http"]));
        assert_eq!(pushed, digest, "the same layout pushed twice has one digest");
    }
    digest
}

/// Packages `charts/flux-operator-rs` and pushes it to `oci://<registry>/charts`.
pub fn push_chart(dir: &Path, registry: &str) -> Chart {
    let chart_yaml: serde_json::Value = flux_operator_rs::yaml::from_str(
        &std::fs::read_to_string(root().join("charts/flux-operator-rs/Chart.yaml")).expect("read Chart.yaml"),
    )
    .expect("parse Chart.yaml");
    let chart = Chart {
        name: chart_yaml["name"].as_str().expect("name").to_string(),
        version: chart_yaml["version"].as_str().expect("version").to_string(),
    };
    let out = dir.to_string_lossy();
    helm_ok(&["package", "charts/flux-operator-rs", "--destination", &out]);
    let package = dir.join(format!("{}-{}.tgz", chart.name, chart.version));
    helm_ok(&[
        "push",
        &package.to_string_lossy(),
        &format!("oci://{registry}/charts"),
        "--plain-http",
    ]);
    chart
}
