use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use semver::Version;

use super::{Error, ImageInfo, images};
use crate::api::Variant;

/// A distribution folder: `flux/vX.Y.Z/*.yaml` and `flux-images/vX.Y.Z/<variant>.yaml`.
#[derive(Debug, Clone)]
pub struct Distribution {
    root: PathBuf,
    versions: Vec<Version>,
}

impl Distribution {
    /// Lists the releases once, so that resolving a version needs no further I/O.
    pub fn open(root: &Path) -> Result<Self, Error> {
        let flux = root.join("flux");
        let entries = std::fs::read_dir(&flux).map_err(|source| match source.kind() {
            ErrorKind::NotFound => Error::Folder {
                path: root.to_path_buf(),
                message: "it has no flux/ folder (expected flux/vX.Y.Z/*.yaml)".into(),
            },
            _ => Error::Io {
                path: flux.clone(),
                source,
            },
        })?;
        let mut versions = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| Error::Io {
                path: flux.clone(),
                source,
            })?;
            let name = entry.file_name();
            // Stray files and folders (README, .git, latest) are not releases.
            let Some(version) = name
                .to_str()
                .and_then(|n| n.strip_prefix('v'))
                .and_then(|n| Version::parse(n).ok())
            else {
                continue;
            };
            if entry.path().is_dir() {
                versions.push(version);
            }
        }
        if versions.is_empty() {
            return Err(Error::Folder {
                path: root.to_path_buf(),
                message: "flux/ holds no release folder named vX.Y.Z".into(),
            });
        }
        versions.sort();
        Ok(Self {
            root: root.to_path_buf(),
            versions,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Versions with a `flux/vX.Y.Z` folder, ascending.
    pub fn versions(&self) -> &[Version] {
        &self.versions
    }

    /// Contents of `flux/vX.Y.Z/<file>`, or None when the release has no such file
    /// (components appear over time, e.g. source-watcher.yaml from v2.7).
    pub fn manifest(&self, version: &Version, file: &str) -> Result<Option<String>, Error> {
        if file.is_empty() || file.contains(['/', '\\']) || file == "." || file == ".." {
            return Err(Error::InvalidFileName { file: file.to_string() });
        }
        if !self.versions.contains(version) {
            return Err(Error::UnknownVersion {
                version: version.clone(),
                root: self.root.clone(),
            });
        }
        let path = self.root.join("flux").join(format!("v{version}")).join(file);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io { path, source }),
        }
    }

    /// The image list of a release for a variant.
    pub fn images(&self, version: &Version, variant: Variant) -> Result<Vec<ImageInfo>, Error> {
        let variant = variant_name(variant);
        let path = self
            .root
            .join("flux-images")
            .join(format!("v{version}"))
            .join(format!("{variant}.yaml"));
        let text = std::fs::read_to_string(&path).map_err(|source| match source.kind() {
            ErrorKind::NotFound => Error::VariantUnavailable {
                variant: variant.to_string(),
                version: version.clone(),
                path: path.clone(),
            },
            _ => Error::Io {
                path: path.clone(),
                source,
            },
        })?;
        images::parse(&text, &path)
    }
}

/// The file name stem of a variant; the same spelling as in the API.
pub fn variant_name(variant: Variant) -> &'static str {
    match variant {
        Variant::UpstreamAlpine => "upstream-alpine",
        Variant::EnterpriseAlpine => "enterprise-alpine",
        Variant::EnterpriseDistroless => "enterprise-distroless",
        Variant::EnterpriseDistrolessFips => "enterprise-distroless-fips",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::test_data_root;

    fn v(text: &str) -> Version {
        Version::parse(text).expect("test version")
    }

    fn real() -> Distribution {
        Distribution::open(&test_data_root()).expect("the shared distribution opens")
    }

    #[test]
    fn lists_versions_ascending_without_the_missing_release() {
        let d = real();
        let versions = d.versions();
        assert_eq!(versions.first(), Some(&v("2.2.3")));
        assert_eq!(versions.last(), Some(&v("2.9.4")));
        assert!(versions.windows(2).all(|w| w[0] < w[1]));
        assert!(!versions.contains(&v("2.8.4")));
        // flux-images has releases that flux/ lacks; they must not be listed.
        assert!(!versions.contains(&v("2.2.0")));
        assert_eq!(versions.len(), 29);
        assert_eq!(d.root(), test_data_root());
    }

    #[test]
    fn manifest_is_none_for_a_component_the_release_lacks() {
        let d = real();
        assert_eq!(d.manifest(&v("2.6.0"), "source-watcher.yaml").expect("reads"), None);
        let text = d
            .manifest(&v("2.9.4"), "source-watcher.yaml")
            .expect("reads")
            .expect("present");
        assert!(text.contains("source-watcher"));
        let text = d
            .manifest(&v("2.6.0"), "source-controller.yaml")
            .expect("reads")
            .expect("present");
        assert!(text.contains("kind: Deployment"));
    }

    #[test]
    fn manifest_refuses_unknown_versions_and_paths() {
        let d = real();
        let err = d.manifest(&v("2.8.4"), "rbac.yaml").expect_err("absent release");
        assert!(
            err.to_string()
                .starts_with("Flux v2.8.4 is not in the distribution folder"),
            "{err}"
        );
        for file in ["../v2.9.4/rbac.yaml", "", "..", "a\\b"] {
            let err = d.manifest(&v("2.9.4"), file).expect_err(file);
            assert!(matches!(err, Error::InvalidFileName { .. }), "{file}: {err}");
        }
    }

    #[test]
    fn images_of_a_release() {
        let images = real().images(&v("2.9.4"), Variant::UpstreamAlpine).expect("images");
        assert_eq!(images.len(), 7);
        assert!(
            images
                .iter()
                .all(|i| i.digest.starts_with("sha256:") && i.digest.len() == 71)
        );
        let source = images
            .iter()
            .find(|i| i.component() == "source-controller")
            .expect("source-controller");
        assert_eq!(source.name, "ghcr.io/fluxcd/source-controller");
        assert_eq!(source.tag, "v1.9.4");
        assert_eq!(
            real()
                .images(&v("2.6.0"), Variant::UpstreamAlpine)
                .expect("images")
                .len(),
            6
        );
    }

    #[test]
    fn a_variant_without_data_is_a_clear_error() {
        let err = real()
            .images(&v("2.9.4"), Variant::EnterpriseAlpine)
            .expect_err("no enterprise data");
        let message = err.to_string();
        assert!(message.contains("\"enterprise-alpine\""), "{message}");
        assert!(message.contains("v2.9.4"), "{message}");
        assert!(
            message.contains("flux-images/v2.9.4/enterprise-alpine.yaml"),
            "{message}"
        );
        assert_eq!(err.reason(), "BuildFailed");
    }

    #[test]
    fn variant_names_match_the_api_spelling() {
        for variant in [
            Variant::UpstreamAlpine,
            Variant::EnterpriseAlpine,
            Variant::EnterpriseDistroless,
            Variant::EnterpriseDistrolessFips,
        ] {
            let json = serde_json::to_value(variant).expect("serializes");
            assert_eq!(json.as_str(), Some(variant_name(variant)));
        }
    }

    #[test]
    fn open_ignores_what_is_not_a_release_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let flux = dir.path().join("flux");
        for name in ["v2.10.0", "v2.9.0", "v3.0.0-rc.1", "latest", "2.8.0", "vnext"] {
            std::fs::create_dir_all(flux.join(name)).expect("mkdir");
        }
        std::fs::write(flux.join("v2.7.0"), "a file, not a release").expect("write");
        let d = Distribution::open(dir.path()).expect("opens");
        assert_eq!(d.versions(), [v("2.9.0"), v("2.10.0"), v("3.0.0-rc.1")]);
    }

    #[test]
    fn open_refuses_folders_without_releases() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Distribution::open(dir.path()).expect_err("no flux/");
        assert!(err.to_string().contains("has no flux/ folder"), "{err}");
        assert!(err.to_string().contains(&dir.path().display().to_string()), "{err}");

        std::fs::create_dir(dir.path().join("flux")).expect("mkdir");
        let err = Distribution::open(dir.path()).expect_err("empty flux/");
        assert!(err.to_string().contains("no release folder"), "{err}");

        let err = Distribution::open(&dir.path().join("missing")).expect_err("no folder");
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
