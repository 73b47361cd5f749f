//! Upstream's `flux-operator build instance` as an oracle: the binary from the cache of
//! `hack/upstream-operator.sh`, reading the distribution from a registry on loopback.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::oci_registry::{Options, Registry, shared_distribution};

/// The upstream release whose renders are the contract.
pub const UPSTREAM_VERSION: &str = "v0.58.1";

/// Overrides where the oracle binary is looked for.
pub const CLI_ENV: &str = "FLUX_OPERATOR_UPSTREAM_CLI";

pub struct Oracle {
    cli: PathBuf,
    artifact: String,
    work: tempfile::TempDir,
    registry: Registry,
}

/// Where `hack/upstream-operator.sh VERSION cli` puts the binary: the cache folder keyed
/// by the version and the first 12 hex digits of the script's sha256.
fn cached_cli() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = std::fs::read(repo.join("hack/upstream-operator.sh")).expect("read hack/upstream-operator.sh");
    let hash = hex::encode(Sha256::digest(&script));
    let cache_root = std::env::var_os("FLUX_OPERATOR_RS_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("flux-operator-rs")))
        .or_else(|| std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".cache/flux-operator-rs")))
        .expect("HOME is not set");
    cache_root
        .join("upstream")
        .join(format!("{UPSTREAM_VERSION}-{}", &hash[..12]))
        .join("flux-operator-cli")
}

pub fn cli_path() -> PathBuf {
    let path = std::env::var_os(CLI_ENV).map_or_else(cached_cli, PathBuf::from);
    assert!(
        path.is_file(),
        "the upstream CLI oracle {} is missing: run `hack/upstream-operator.sh {UPSTREAM_VERSION} cli` \
         (or point {CLI_ENV} at the binary)",
        path.display()
    );
    path
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
