//! Where Flux releases come from: a folder in the layout of `../shared/flux-distribution`
//! (`flux/vX.Y.Z/*.yaml`, `flux-images/vX.Y.Z/<variant>.yaml`), and version resolution.
//!
//! INTERFACE STUB: replaced by the real implementation (helper A).

use std::path::{Path, PathBuf};

use semver::Version;

use crate::api::Variant;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Stub(String),
}

impl Error {
    /// The status condition reason of this error.
    pub fn reason(&self) -> &'static str {
        crate::api::reason::BUILD_FAILED
    }
}

/// One controller image of a release, from `flux-images/vX.Y.Z/<variant>.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Full repository, e.g. `ghcr.io/fluxcd/source-controller`.
    pub name: String,
    pub tag: String,
    /// `sha256:<hex>`.
    pub digest: String,
}

impl ImageInfo {
    /// The last path segment of `name`, e.g. `source-controller`.
    pub fn component(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }
}

/// A distribution folder.
#[derive(Debug, Clone)]
pub struct Distribution {
    root: PathBuf,
    versions: Vec<Version>,
}

impl Distribution {
    pub fn open(root: &Path) -> Result<Self, Error> {
        Err(Error::Stub(format!("not implemented: {}", root.display())))
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// Versions with a `flux/vX.Y.Z` folder, ascending.
    pub fn versions(&self) -> &[Version] {
        &self.versions
    }
    /// Contents of `flux/vX.Y.Z/<file>`, or None when the release has no such file.
    pub fn manifest(&self, _version: &Version, _file: &str) -> Result<Option<String>, Error> {
        Err(Error::Stub("not implemented".into()))
    }
    /// The image list of a release for a variant.
    pub fn images(&self, _version: &Version, _variant: Variant) -> Result<Vec<ImageInfo>, Error> {
        Err(Error::Stub("not implemented".into()))
    }
}

/// The highest of `candidates` matching a Masterminds/semver v3 constraint.
pub fn resolve_version(constraint: &str, _candidates: &[Version]) -> Result<Version, Error> {
    Err(Error::Stub(format!("not implemented: {constraint}")))
}

/// Refuses a move to a lower (major, minor) than what was last applied.
pub fn check_upgrade(_last_applied: &Version, _next: &Version) -> Result<(), Error> {
    Err(Error::Stub("not implemented".into()))
}
