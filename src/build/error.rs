/// Why a FluxInstance could not be built. Every message names the field and the value
/// at fault, because it ends up verbatim in the BuildFailed condition.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec asks for something invalid or impossible with the chosen release.
    #[error("{0}")]
    Spec(String),

    /// Version resolution or the release data.
    #[error("{0}")]
    Distribution(#[from] crate::distribution::Error),

    /// `spec.kustomize.patches`.
    #[error("{0}")]
    Patch(#[from] super::patch::Error),

    /// The release files are not what the builder expects.
    #[error("distribution data: {0}")]
    Data(String),

    /// The objects together are larger than the render limit.
    #[error(
        "the {objects} rendered objects are larger than {} together (spec.commonMetadata counted in each)",
        super::size::human(super::size::RENDER_LIMIT)
    )]
    RenderTooLarge { objects: usize },

    /// A FluxInstance document that cannot be read (CLI input).
    #[error("{0}")]
    Input(String),
}

impl Error {
    /// The status condition reason of this error.
    pub fn reason(&self) -> &'static str {
        crate::api::reason::BUILD_FAILED
    }
}
