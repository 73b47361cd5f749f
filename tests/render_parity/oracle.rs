//! Upstream's `flux-operator build instance` as an oracle: the binary from the cache of
//! `hack/upstream-operator.sh`, reading the distribution from a registry on loopback.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::oci_registry::{Options, Registry, shared_distribution};
use crate::upstream_cli::cli_path;

pub struct Oracle {
    cli: PathBuf,
    artifact: String,
    work: tempfile::TempDir,
    registry: Registry,
}

fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

impl Oracle {
    /// Finds the binary, starts a registry and pushes the shared distribution to it.
    pub fn start() -> Oracle {
        let cli = cli_path();
        let registry = Registry::start(Options::default());
        let artifact = registry.oci("flux-operator-manifests:latest");
        let out = run(Command::new(env!("CARGO_BIN_EXE_flux-operator-rs"))
            .args(["distribution", "push"])
            .arg(shared_distribution())
            .args([artifact.as_str(), "--plain-http"]));
        assert!(
            out.status.success(),
            "push of the distribution to {artifact} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Oracle {
            cli,
            artifact,
            work: tempfile::tempdir().expect("tempdir"),
            registry,
        }
    }

    /// How many times the oracle fetched the artifact's manifest from our registry: proof
    /// that it rendered our distribution and not one it found elsewhere.
    pub fn artifact_pulls(&self) -> usize {
        self.registry.requests("GET", "flux-operator-manifests/manifests/")
    }

    /// Upstream's objects for this FluxInstance, in its order.
    pub fn render(&self, case: &str, instance: &Value) -> Vec<Value> {
        self.try_render(case, instance)
            .unwrap_or_else(|e| panic!("upstream render of {case} failed: {e}"))
    }

    /// Upstream's objects, or its error message when it refuses the instance.
    pub fn try_render(&self, case: &str, instance: &Value) -> Result<Vec<Value>, String> {
        let file = self.work.path().join(format!("{case}.yaml"));
        let yaml = flux_operator_rs::yaml::to_string(instance).expect("instance to YAML");
        std::fs::write(&file, yaml).expect("write instance");
        let out = run(Command::new(&self.cli)
            .env("GODEBUG", "fips140=on")
            .args(["build", "instance", "-f"])
            .arg(&file)
            .args(["--distribution-artifact", &self.artifact]));
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        let text = String::from_utf8(out.stdout).expect("UTF-8 render");
        let docs = flux_operator_rs::yaml::from_multi_str::<Value>(&text)
            .unwrap_or_else(|e| panic!("upstream render of {case} is not YAML: {e}"));
        Ok(docs.into_iter().filter(|doc| !doc.is_null()).collect())
    }
}
