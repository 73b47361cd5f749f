//! One Flux release in memory: its manifest files parsed and its image lists. Loading is the
//! only I/O; the builder takes a `&Release` and reads nothing else, so a release loaded once
//! serves every reconcile of that version (the operator keeps them in a [`ReleaseCache`]).

use std::collections::{BTreeMap, HashMap};
use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use semver::Version;
use serde_json::Value;

use super::{Distribution, Error, ImageInfo, images, variant_name};
use crate::api::Variant;

/// The variants whose image lists a release may carry.
const VARIANTS: [Variant; 4] = [
    Variant::UpstreamAlpine,
    Variant::EnterpriseAlpine,
    Variant::EnterpriseDistroless,
    Variant::EnterpriseDistrolessFips,
];

#[derive(Debug)]
pub struct Release {
    version: Version,
    /// The distribution folder it was read from, for messages.
    root: PathBuf,
    /// `flux/vX.Y.Z/<file>` by file name, as parsed documents.
    manifests: BTreeMap<String, Vec<Value>>,
    /// `flux-images/vX.Y.Z/<variant>.yaml` by variant name, where present.
    images: BTreeMap<&'static str, Vec<ImageInfo>>,
}

impl Release {
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// The documents of `flux/vX.Y.Z/<file>`, or None when the release has no such file
    /// (components appear over time, e.g. source-watcher.yaml from v2.7).
    pub fn manifest(&self, file: &str) -> Option<&[Value]> {
        self.manifests.get(file).map(Vec::as_slice)
    }

    /// The image list of a variant.
    pub fn images(&self, variant: Variant) -> Result<&[ImageInfo], Error> {
        let name = variant_name(variant);
        self.images
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| Error::VariantUnavailable {
                variant: name.to_owned(),
                version: self.version.clone(),
                path: self.images_dir().join(format!("{name}.yaml")),
            })
    }

    fn images_dir(&self) -> PathBuf {
        self.root.join("flux-images").join(format!("v{}", self.version))
    }
}

impl Distribution {
    /// Reads and parses every manifest file and image list of `version`.
    pub fn release(&self, version: &Version) -> Result<Release, Error> {
        if !self.versions().contains(version) {
            return Err(Error::UnknownVersion {
                version: version.clone(),
                root: self.root().to_path_buf(),
            });
        }
        let mut release = Release {
            version: version.clone(),
            root: self.root().to_path_buf(),
            manifests: BTreeMap::new(),
            images: BTreeMap::new(),
        };
        let dir = self.root().join("flux").join(format!("v{version}"));
        let io = |path: &PathBuf| {
            let path = path.clone();
            move |source| Error::Io { path, source }
        };
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let path = entry.map_err(io(&dir))?.path();
            let Some(file) = path
                .file_name()
                .and_then(|n| n.to_str())
                .filter(|n| n.ends_with(".yaml"))
            else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            let docs = crate::yaml::from_multi_str::<Value>(&text).map_err(|source| Error::Manifest {
                path: path.clone(),
                source,
            })?;
            release.manifests.insert(file.to_owned(), docs);
        }
        for variant in VARIANTS {
            let path = release.images_dir().join(format!("{}.yaml", variant_name(variant)));
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let list = images::parse(&text, &path)?;
                    release.images.insert(variant_name(variant), list);
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(source) => return Err(Error::Io { path, source }),
            }
        }
        Ok(release)
    }
}

/// Releases already loaded, by distribution folder and version: a periodic reconcile
/// builds from memory. Artifacts unpack into a folder per digest, so a folder's releases
/// never change under the same key.
#[derive(Debug, Default)]
pub struct ReleaseCache(Mutex<HashMap<(PathBuf, Version), Arc<Release>>>);

/// Releases kept; past it the cache starts over (a few versions' worth of about 1 MB each).
const CACHED_RELEASES: usize = 8;

impl ReleaseCache {
    /// The release of `version`, loaded on a blocking thread the first time.
    pub async fn get(&self, distribution: &Distribution, version: &Version) -> Result<Arc<Release>, Error> {
        let key = (distribution.root().to_path_buf(), version.clone());
        if let Some(hit) = self.lock().get(&key) {
            return Ok(Arc::clone(hit));
        }
        let (folder, wanted) = (distribution.clone(), version.clone());
        let loaded = tokio::task::spawn_blocking(move || folder.release(&wanted))
            .await
            .map_err(|e| Error::Folder {
                path: key.0.clone(),
                message: format!("loading the release was interrupted: {e}"),
            })??;
        let loaded = Arc::new(loaded);
        let mut cache = self.lock();
        if cache.len() >= CACHED_RELEASES {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&loaded));
        Ok(loaded)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(PathBuf, Version), Arc<Release>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real() -> Distribution {
        Distribution::open(&super::super::test_data_root()).expect("the shared distribution")
    }

    #[test]
    fn a_release_has_its_manifests_and_image_lists() {
        let d = real();
        let version = d.versions().last().expect("a version").clone();
        let release = d.release(&version).expect("release");
        assert_eq!(release.version(), &version);
        let source = release
            .manifest("source-controller.yaml")
            .expect("source-controller.yaml");
        assert!(source.iter().any(|doc| doc["kind"] == "Deployment"));
        assert!(release.manifest("no-such-file.yaml").is_none());
        let images = release.images(Variant::UpstreamAlpine).expect("upstream-alpine");
        assert!(images.iter().any(|i| i.component() == "source-controller"));
        let unknown = d.release(&Version::new(9, 9, 9)).unwrap_err();
        assert!(matches!(unknown, Error::UnknownVersion { .. }), "{unknown}");
    }

    #[tokio::test]
    async fn the_cache_loads_a_release_once() {
        let d = real();
        let version = d.versions()[0].clone();
        let cache = ReleaseCache::default();
        let first = cache.get(&d, &version).await.expect("load");
        let again = cache.get(&d, &version).await.expect("hit");
        assert!(Arc::ptr_eq(&first, &again));
    }
}
