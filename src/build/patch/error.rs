//! Why `spec.kustomize.patches` cannot be applied, patch by patch.

use super::check::{Limit, Problem};
use super::json6902::OpError;
use super::parse::ParseError;
use super::strategic_merge::MergeError;
use super::target::TargetError;
use crate::text::shorten;

/// A patch that cannot be applied; the message starts with `spec.kustomize.patches[<i>]`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The patch text is neither a strategic-merge patch nor a list of operations, or does not
    /// fit its target (several objects with a target, operations without one).
    #[error("spec.kustomize.patches[{index}]: {source}")]
    InvalidPatch {
        index: usize,
        #[source]
        source: ParseError,
    },
    /// A target field is not a valid regular expression or selector.
    #[error("spec.kustomize.patches[{index}]: {source}")]
    InvalidTarget {
        index: usize,
        #[source]
        source: TargetError,
    },
    /// A strategic-merge patch without target names no object: `object` is the patch's.
    #[error(
        "spec.kustomize.patches[{index}]: no object is the patch's {object} (apiVersion {:?}); a patch without \
         target applies to the object of the same apiVersion, kind, name and namespace",
        shorten(api_version)
    )]
    NoMatch {
        index: usize,
        object: String,
        api_version: String,
    },
    /// Applying the patch to an object failed.
    #[error("spec.kustomize.patches[{index}]: {source}")]
    Failed {
        index: usize,
        #[source]
        source: Failure,
    },
    /// Applying the patch would make an object or the render too large.
    #[error("spec.kustomize.patches[{index}]: on {object}: {limit}")]
    TooLarge { index: usize, object: String, limit: Limit },
    /// The patch leaves an object the API server would refuse.
    #[error("spec.kustomize.patches[{index}]: {object} {problem}")]
    InvalidObject {
        index: usize,
        object: String,
        problem: Problem,
    },
}

/// Why a patch could not be applied to the objects it is for; `object` names one.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// A strategic-merge patch without target is the identity of more than one object.
    #[error("several objects are the patch's {object}")]
    SeveralObjects { object: String },
    #[error("merging into {object}: {source}")]
    Merge {
        object: String,
        #[source]
        source: MergeError,
    },
    #[error("on {object}: {source}")]
    Operation {
        object: String,
        /// Boxed because it is large and rare.
        #[source]
        source: Box<OpError>,
    },
    #[error("on {object}: the patched object is no longer an object")]
    NotAnObject { object: String },
}

impl Error {
    /// The status condition reason of this error.
    pub fn reason(&self) -> &'static str {
        crate::api::reason::BUILD_FAILED
    }

    /// The index of the offending patch in `spec.kustomize.patches`.
    pub fn index(&self) -> usize {
        match self {
            Error::InvalidPatch { index, .. }
            | Error::InvalidTarget { index, .. }
            | Error::NoMatch { index, .. }
            | Error::Failed { index, .. }
            | Error::TooLarge { index, .. }
            | Error::InvalidObject { index, .. } => *index,
        }
    }
}
