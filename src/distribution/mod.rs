//! Where Flux releases come from: a folder in the layout of `../shared/flux-distribution`
//! (`flux/vX.Y.Z/*.yaml`, `flux-images/vX.Y.Z/<variant>.yaml`), and the choice of a
//! release from the user's Masterminds/semver constraint.

pub mod artifact;
mod constraint;
mod error;
mod folder;
mod images;
mod release;
mod resolve;
mod upgrade;

pub use constraint::{Constraint, ConstraintProblem};
pub use error::Error;
pub use folder::{Distribution, variant_name};
pub use images::ImageInfo;
pub use release::{Release, ReleaseCache};
pub use resolve::{latest_for_major, on_known_lines, resolve_version};
pub use upgrade::check_upgrade;

/// The real release data shared by the project's tests; kept outside the repository.
#[cfg(test)]
pub(crate) fn test_data_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/flux-distribution")
}
