//! Kustomize-compatible patches for `spec.kustomize.patches`.
//!
//! INTERFACE STUB: replaced by the real implementation (helper B).

use serde_json::Value;

use crate::api::Patch;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("spec.kustomize.patches[{index}]: {message}")]
    Stub { index: usize, message: String },
}

impl Error {
    /// The status condition reason of this error.
    pub fn reason(&self) -> &'static str {
        crate::api::reason::BUILD_FAILED
    }
}

/// Applies every patch, in order, to the objects it targets. All or nothing: on error the
/// objects are left as they were.
pub fn apply_patches(objects: &mut [Value], patches: &[Patch]) -> Result<(), Error> {
    match patches.first() {
        None => Ok(()),
        Some(_) => Err(Error::Stub { index: 0, message: format!("not implemented ({} objects)", objects.len()) }),
    }
}
