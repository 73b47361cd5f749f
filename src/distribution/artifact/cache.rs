//! The on-disk cache of pulled artifacts: `<root>/<hex of the manifest digest>/` holds the
//! unpacked layer. A folder appears there only complete (unpacked aside, checked, then
//! renamed), so its presence is the cache hit.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::Error;
use super::unpack::{LIMITS, unpack};
use crate::distribution::Distribution;
use crate::text::shorten;

/// Artifacts kept after a new one is stored: the current one and a few before it, so that
/// going back to a previous digest is a cache hit.
const KEEP: usize = 3;

/// Why a layer could not become a distribution folder.
#[derive(Debug)]
pub(crate) enum UnpackError {
    /// Not a tar+gzip stream, or an unsafe one.
    Corrupt(String),
    /// Past a size or count limit.
    TooLarge(String),
    /// A fine archive without the `flux/vX.Y.Z` layout.
    Layout(String),
    /// The cache folder itself (permissions, disk full).
    Io(String),
}

#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of a digest; None for anything but `sha256:<64 hex>`.
    fn entry(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:")?;
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
            .then(|| self.root.join(hex))
    }

    /// The distribution of a cached artifact.
    pub fn get(&self, digest: &str) -> Option<Distribution> {
        let dir = self.entry(digest)?;
        let root = layout_root(&dir)?;
        Distribution::open(&root).ok()
    }

    /// Unpacks a tar+gzip layer as the artifact `digest` and opens it.
    pub(crate) fn store(&self, digest: &str, layer: &[u8]) -> Result<Distribution, UnpackError> {
        let Some(dest) = self.entry(digest) else {
            return Err(UnpackError::Corrupt(format!(
                "invalid manifest digest {:?}",
                shorten(digest)
            )));
        };
        if let Some(existing) = self.get(digest) {
            return Ok(existing);
        }
        // A folder that is there but does not open (damaged on disk) would block the
        // rename below for good: it goes, and the layer is unpacked afresh.
        if dest.exists() {
            let _ = std::fs::remove_dir_all(&dest);
        }
        std::fs::create_dir_all(&self.root)
            .map_err(|e| UnpackError::Io(format!("cannot create {}: {e}", self.root.display())))?;
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let staging = self
            .root
            .join(format!(".unpack-{}-{}-{nanos}", &digest[7..19], std::process::id()));
        let result = unpack(layer, &staging, &LIMITS).and_then(|()| {
            let root = layout_root(&staging).ok_or_else(|| {
                UnpackError::Layout(
                    "the layer has no flux/ folder (expected flux/vX.Y.Z/*.yaml and flux-images/vX.Y.Z/*.yaml)".into(),
                )
            })?;
            Distribution::open(&root).map_err(|e| UnpackError::Layout(strip_path(&e.to_string(), &staging)))?;
            Ok(())
        });
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        if let Err(e) = std::fs::rename(&staging, &dest) {
            let _ = std::fs::remove_dir_all(&staging);
            // Another pull of the same digest won the race: its folder is as good.
            if !dest.is_dir() {
                return Err(UnpackError::Io(format!("cannot rename into {}: {e}", dest.display())));
            }
        }
        self.prune(&dest);
        self.get(digest)
            .ok_or_else(|| UnpackError::Io(format!("{} vanished after unpacking", dest.display())))
    }

    /// Keeps the `KEEP` most recently stored artifacts (and `current`), removes the rest and
    /// any staging folder left by a crash. Best effort: a failure only costs disk space.
    fn prune(&self, current: &Path) {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        let mut artifacts = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            if name.starts_with(".unpack-") {
                // Older than an hour: no pull takes that long.
                let stale = modified.elapsed().is_ok_and(|age| age.as_secs() > 3600);
                if stale {
                    let _ = std::fs::remove_dir_all(&path);
                }
            } else if name.len() == 64 && path != current {
                artifacts.push((modified, path));
            }
        }
        artifacts.sort_by_key(|a| std::cmp::Reverse(a.0));
        for (_, path) in artifacts.into_iter().skip(KEEP.saturating_sub(1)) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// The folder holding `flux/`: the layer's root, or its only top-level folder (archives
/// made with `tar czf x.tgz dist/`).
fn layout_root(dir: &Path) -> Option<PathBuf> {
    if dir.join("flux").is_dir() {
        return Some(dir.to_path_buf());
    }
    let mut folders = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.path());
    let only = folders.next()?;
    (folders.next().is_none() && only.join("flux").is_dir()).then_some(only)
}

/// Messages about the staging folder read better relative to the layer.
fn strip_path(message: &str, staging: &Path) -> String {
    let prefix = format!("{}/", staging.display());
    message
        .replace(&prefix, "")
        .replace(&staging.display().to_string(), "the layer")
}

impl UnpackError {
    pub(crate) fn into_error(self, cache: &Cache, field: &str, reference: &str) -> Error {
        let field = field.to_owned();
        let reference = reference.to_owned();
        match self {
            UnpackError::Corrupt(message) => Error::CorruptLayer {
                field,
                reference,
                message,
            },
            UnpackError::TooLarge(message) => Error::TooLarge {
                field,
                reference,
                message,
            },
            UnpackError::Layout(message) => Error::Layout {
                field,
                reference,
                message,
            },
            UnpackError::Io(message) => Error::Cache {
                path: cache.root().to_path_buf(),
                message,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::artifact::push::pack;
    use crate::distribution::artifact::unpack::tests::tar_gz;
    use crate::distribution::test_data_root;

    fn digest_of(n: u8) -> String {
        format!("sha256:{}", format!("{n:02x}").repeat(32))
    }

    fn minimal_distribution(root: &str) -> Vec<u8> {
        let yaml: &[u8] = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n";
        tar_gz(&[
            (&format!("{root}flux/v2.9.4/rbac.yaml"), yaml),
            (
                &format!("{root}flux-images/v2.9.4/upstream-alpine.yaml"),
                b"images: []\n",
            ),
        ])
    }

    #[test]
    fn stores_opens_and_hits() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("artifacts"));
        let digest = digest_of(1);
        assert!(cache.get(&digest).is_none());
        let d = cache.store(&digest, &minimal_distribution("")).unwrap();
        assert_eq!(d.versions(), [semver::Version::new(2, 9, 4)]);
        assert_eq!(d.root(), dir.path().join("artifacts").join("01".repeat(32)));
        assert!(cache.get(&digest).is_some());
        // A second store of the same digest is a hit, whatever the bytes.
        assert!(cache.store(&digest, b"garbage").is_ok());
        // No staging folder is left behind.
        let names: Vec<_> = std::fs::read_dir(cache.root()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_single_top_level_folder_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let d = cache.store(&digest_of(2), &minimal_distribution("dist/")).unwrap();
        assert!(d.root().ends_with("dist"));
        assert!(cache.get(&digest_of(2)).is_some());
    }

    #[test]
    fn the_real_distribution_round_trips() {
        let layer = pack(&test_data_root()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let d = Cache::new(dir.path()).store(&digest_of(3), &layer).unwrap();
        let real = Distribution::open(&test_data_root()).unwrap();
        assert_eq!(d.versions(), real.versions());
        let v = semver::Version::new(2, 9, 4);
        assert_eq!(
            d.manifest(&v, "source-controller.yaml").unwrap(),
            real.manifest(&v, "source-controller.yaml").unwrap()
        );
    }

    #[test]
    fn bad_layers_are_refused_and_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"plain text".to_vec(), "not gzip-compressed"),
            (vec![0x1f, 0x8b, 8, 0, 0, 0], "not a tar+gzip stream"),
            (tar_gz(&[("README.md", b"hello")]), "no flux/ folder"),
            (tar_gz(&[("flux/latest/rbac.yaml", b"x")]), "no release folder"),
            (tar_gz(&[("../escape.yaml", b"x")]), "unsafe entry name"),
            (tar_gz(&[("/abs/flux/v2.9.4/x.yaml", b"x")]), "unsafe entry name"),
        ];
        for (i, (layer, expected)) in cases.iter().enumerate() {
            let err = match cache.store(&digest_of(10 + i as u8), layer) {
                Err(UnpackError::Corrupt(m) | UnpackError::Layout(m)) => m,
                other => panic!("case {i}: {other:?}"),
            };
            assert!(err.contains(expected), "case {i}: {err}");
            assert!(!err.contains(".unpack-"), "case {i}: {err}");
        }
        let err = match cache.store(
            &digest_of(31),
            &tar_gz(&[("flux/v2.9.4/a.yaml", &[b'a'; (8 << 20) + 1])]),
        ) {
            Err(UnpackError::TooLarge(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(
            err.starts_with("flux/v2.9.4/a.yaml has 8388609 bytes; at most 8 MiB"),
            "{err}"
        );
        let truncated = minimal_distribution("");
        let err = cache
            .store(&digest_of(30), &truncated[..truncated.len() / 2])
            .unwrap_err();
        assert!(matches!(err, UnpackError::Corrupt(_)), "{err:?}");
        assert_eq!(std::fs::read_dir(cache.root()).unwrap().count(), 0);
        assert!(!dir.path().parent().unwrap().join("escape.yaml").exists());
    }

    #[test]
    fn a_cached_folder_that_does_not_open_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let digest = digest_of(4);
        let broken = cache.entry(&digest).unwrap();
        std::fs::create_dir_all(broken.join("not-flux")).unwrap();
        assert!(cache.get(&digest).is_none());
        let d = cache.store(&digest, &minimal_distribution("")).unwrap();
        assert_eq!(d.versions(), [semver::Version::new(2, 9, 4)]);
        assert!(!broken.join("not-flux").exists());
    }

    #[test]
    fn prune_keeps_the_newest_few() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        for n in 1..=5 {
            cache.store(&digest_of(n), &minimal_distribution("")).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let mut left: Vec<String> = std::fs::read_dir(cache.root())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["03".repeat(32), "04".repeat(32), "05".repeat(32)]);
    }

    #[test]
    fn only_sha256_digests_name_folders() {
        let cache = Cache::new("/nonexistent");
        assert!(cache.entry("sha256:../../etc").is_none());
        assert!(cache.entry(&format!("sha256:{}", "AB".repeat(32))).is_none());
        assert!(cache.entry(&digest_of(1).to_uppercase()).is_none());
        assert!(cache.entry(&digest_of(1)).is_some());
    }
}
