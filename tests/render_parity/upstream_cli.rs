//! Where the upstream CLI oracle is: the cache of `hack/upstream-operator.sh VERSION cli`
//! (or the binary `FLUX_OPERATOR_UPSTREAM_CLI` names), and the cache folder that script
//! builds the upstream binaries into. Shared by the differential tests and the parity
//! suite.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The upstream release whose renders are the contract.
pub const UPSTREAM_VERSION: &str = "v0.58.1";

/// Overrides where the oracle binary is looked for.
pub const CLI_ENV: &str = "FLUX_OPERATOR_UPSTREAM_CLI";

/// Where `hack/upstream-operator.sh VERSION cli` puts the binary.
fn cached_cli() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = std::fs::read(repo.join("hack/upstream-operator.sh")).expect("read hack/upstream-operator.sh");
    let root = cache_root().expect("HOME is not set");
    cache_dir(&root, UPSTREAM_VERSION, &script).join("flux-operator-cli")
}

/// The cache `hack/upstream-operator.sh` builds into: `FLUX_OPERATOR_RS_CACHE`, else
/// `flux-operator-rs` in `XDG_CACHE_HOME` or `HOME/.cache`; None without any of them.
pub fn cache_root() -> Option<PathBuf> {
    std::env::var_os("FLUX_OPERATOR_RS_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("flux-operator-rs")))
        .or_else(|| std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".cache/flux-operator-rs")))
}

/// The folder of `version`'s binaries below `root`, keyed by the version and the first 12
/// hex digits of the sha256 of `script` (the bytes of `hack/upstream-operator.sh`).
pub fn cache_dir(root: &Path, version: &str, script: &[u8]) -> PathBuf {
    let hash = hex::encode(Sha256::digest(script));
    root.join("upstream").join(format!("{version}-{}", &hash[..12]))
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
