use std::path::PathBuf;

use semver::Version;

use crate::text::shorten;

/// Everything that can go wrong between a distribution folder, a user's version
/// constraint and the version last applied. Each message names the path or the
/// `spec` field at fault, since it ends up verbatim in a status condition.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid distribution folder {}: {message}", path.display())]
    Folder { path: PathBuf, message: String },

    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid manifest {}: {source}", path.display())]
    Manifest {
        path: PathBuf,
        #[source]
        source: crate::yaml::Error,
    },

    #[error("invalid image list {}: {message}", path.display())]
    Images { path: PathBuf, message: String },

    #[error("Flux v{version} is not in the distribution folder {}", root.display())]
    UnknownVersion { version: Version, root: PathBuf },

    #[error("invalid manifest file name {file:?}: expected a plain file name such as source-controller.yaml")]
    InvalidFileName { file: String },

    #[error(
        "spec.distribution.variant: no image digests for variant {variant:?} of Flux v{version} ({} does not exist)",
        path.display()
    )]
    VariantUnavailable {
        variant: String,
        version: Version,
        path: PathBuf,
    },

    #[error(
        "spec.distribution.version: invalid version constraint {:?}: {problem}",
        shorten(constraint)
    )]
    InvalidConstraint {
        constraint: String,
        #[source]
        problem: super::ConstraintProblem,
    },

    #[error("spec.distribution.version: no Flux version matches {constraint:?}; available: {available}")]
    NoMatch { constraint: String, available: String },

    #[error("downgrading from v{from} to v{to} is not supported, reinstall needed")]
    Downgrade { from: Version, to: Version },
}

impl Error {
    /// The status condition reason of this error: all of them stop the build.
    pub fn reason(&self) -> &'static str {
        crate::api::reason::BUILD_FAILED
    }
}
