//! Flux distributions from an OCI artifact (`spec.distribution.artifact`): newer Flux
//! releases than the operator carries, from a registry or a private mirror.
//!
//! The artifact is Flux-style (what `flux push artifact` makes, and what upstream publishes
//! as `flux-operator-manifests`): an OCI image manifest with config media type
//! [`CONFIG_MEDIA_TYPE`] and one [`CONTENT_MEDIA_TYPE`] layer whose tar+gzip holds the
//! distribution layout (`flux/vX.Y.Z/*.yaml`, `flux-images/vX.Y.Z/*.yaml`).
//!
//! - [`ArtifactRef`]: `oci://host[:port]/repository[:tag][@sha256:...]`, parsed strictly.
//! - [`pull`]: manifest, then (on a cache miss) the first layer, checked against its digest
//!   and size, unpacked into [`Cache`] under the manifest digest.
//! - [`resolve_digest`]: the digest a tag points to now, for the poller.
//! - [`push_dir`] / [`pack`]: publish a folder, reproducibly.

mod auth;
mod cache;
mod error;
mod manifest;
mod pull;
mod push;
pub mod reference;
mod transport;
mod unpack;

pub use auth::{Credentials, DockerConfigError, NotUserPassword, from_docker_config, registries_in};
pub use cache::Cache;
pub use error::Error;
/// An error and its sources on one line (reqwest hides the cause in its sources).
pub(crate) use error::chain;
pub use pull::{Pulled, pull, resolve_digest};
pub use push::{Pushed, pack, push_dir, push_layer};
pub use reference::ArtifactRef;
pub use transport::{DEFAULT_TIMEOUT, Transport};

use sha2::{Digest, Sha256};

/// The manifest config media type of Flux artifacts.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.flux.config.v1+json";
/// The layer media type of Flux artifacts: tar+gzip content.
pub const CONTENT_MEDIA_TYPE: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";

/// `sha256:<hex>` of `data`, as OCI digests are written.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}
