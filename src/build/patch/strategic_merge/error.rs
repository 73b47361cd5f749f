//! Why a strategic-merge patch does not merge into an object.

/// What stopped the merge. `path` is where in the object: dotted field names, a list element
/// as its merge key values in brackets, `the object` at the top.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// The patch has a map where the object has a scalar, or the other way round.
    #[error("at {path}: cannot merge {patch} into {object}")]
    ShapeMismatch {
        path: String,
        patch: &'static str,
        object: &'static str,
    },
    /// A `$patch` value other than `delete`, `replace` and `merge`.
    #[error("at {path}: unknown patch strategy {directive:?}")]
    UnknownDirective { path: String, directive: String },
    /// A list element does not fit the list's merge keys.
    #[error("at {path}: {source}")]
    Element {
        path: String,
        #[source]
        source: ElementError,
    },
    /// The patch's top level is no map to merge.
    #[error("the patch replaces the object")]
    ReplacesObject,
}

/// A list element that merge keys cannot be read from or written to; `shape` is what it is.
#[derive(Debug, thiserror::Error)]
pub enum ElementError {
    #[error("cannot set {key:?} on {shape}")]
    CannotSet { key: String, shape: &'static str },
    /// A list of scalars holds a map or a list.
    #[error("cannot compare {shape} with a scalar")]
    NotAScalar { shape: &'static str },
    #[error("cannot look up {key:?} in {shape}")]
    NotAMap { key: String, shape: &'static str },
}
