//! Where the upstream CLI oracle is: the cache of `hack/upstream-operator.sh VERSION cli`
//! (or the binary `FLUX_OPERATOR_UPSTREAM_CLI` names). Shared by the differential tests.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The upstream release whose renders are the contract.
pub const UPSTREAM_VERSION: &str = "v0.58.1";

/// Overrides where the oracle binary is looked for.
pub const CLI_ENV: &str = "FLUX_OPERATOR_UPSTREAM_CLI";

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
