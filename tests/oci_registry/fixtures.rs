//! What the artifact tests do to a registry and to distributions beyond serving them:
//! reading its CA, tampering with stored blobs, credentials, trimmed distributions.
//! Kept apart from `mod.rs` so that a test binary that only needs a registry does not
//! carry helpers it never calls. Include next to `oci_registry`:
//! `#[path = "oci_registry/fixtures.rs"] mod registry_fixtures;`

use std::path::{Path, PathBuf};

use super::oci_registry::{CA_FILE, Registry, shared_distribution};

impl Registry {
    /// The CA that signed the registry's certificate, when started with `tls`.
    pub fn ca_file(&self) -> Option<PathBuf> {
        let path = self.root().join(CA_FILE);
        path.exists().then_some(path)
    }

    /// The file a blob's bytes are stored in.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
        self.root()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// Flips bytes in the middle of a stored blob, keeping its size: the registry keeps
    /// serving it under its old digest.
    pub fn corrupt_blob(&self, digest: &str) {
        let path = self.blob_path(digest);
        let mut data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let middle = data.len() / 2;
        for byte in &mut data[middle..middle + 16] {
            *byte ^= 0xff;
        }
        std::fs::write(&path, data).expect("write corrupted blob");
    }

    /// A docker config JSON for this registry.
    pub fn docker_config(&self, user: &str, password: &str) -> String {
        use base64::Engine;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, self.host())
    }
}

/// A copy of the shared distribution without some releases, in a new temporary folder.
pub fn distribution_without(versions: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&shared_distribution(), dir.path());
    for version in versions {
        for sub in ["flux", "flux-images"] {
            let path = dir.path().join(sub).join(version);
            if path.exists() {
                std::fs::remove_dir_all(&path).expect("remove release");
            }
        }
    }
    dir
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
