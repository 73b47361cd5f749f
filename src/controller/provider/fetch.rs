//! Asking a provider for its input sets (SPEC-resourceset §12.3): one function per type
//! family, dispatched on `spec.type`. A mistake in the spec is [`FetchError::Invalid`]
//! (Stalled until the spec changes); a provider that cannot be reached or answers badly is
//! [`FetchError::Failed`] (retried with backoff). Every call is bounded by the provider's
//! `reconcileTimeout` by the caller.

use std::time::Duration;

use kube::ResourceExt;

use crate::api::{InputSet, ProviderType, ResourceSetInputProvider, ResourceSetInputProviderSpec};
use crate::resourceset::exported;

/// The User-Agent of every provider call, as upstream's operator names itself.
pub const USER_AGENT: &str = concat!("flux-operator/", env!("CARGO_PKG_VERSION"));

/// What one call to a provider may use.
pub struct Call<'a> {
    pub obj: &'a ResourceSetInputProvider,
    /// The operator's client, for Secrets in the provider's namespace.
    pub client: &'a kube::Client,
    /// The provider's `reconcileTimeout`.
    pub timeout: Duration,
    /// `--default-service-account`: whom ExternalArtifact lists as without
    /// `serviceAccountName`.
    pub default_service_account: Option<&'a str>,
}

impl Call<'_> {
    pub fn spec(&self) -> &ResourceSetInputProviderSpec {
        &self.obj.spec
    }

    pub fn namespace(&self) -> String {
        self.obj.namespace().unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Retrying cannot help until the spec changes.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The provider could not be asked, or its answer could not be used.
    #[error("{what}: {source}")]
    Failed {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl FetchError {
    pub fn failed(what: impl Into<String>, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Failed {
            what: what.into(),
            source: source.into(),
        }
    }
}

/// A spec this operator cannot act on.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("spec.type: type {0} is not supported by this operator yet")]
    Unsupported(String),
    #[error("{field}: {why}")]
    Field { field: &'static str, why: String },
}

/// The type's name as the API spells it.
pub fn type_name(type_: ProviderType) -> String {
    let value = serde_json::to_value(type_).unwrap_or_default();
    value.as_str().unwrap_or_default().to_owned()
}

/// Whether this operator can ask a provider of this type (the others are Stalled).
pub fn supported(type_: ProviderType) -> bool {
    matches!(
        type_,
        ProviderType::Static
            | ProviderType::ExternalService
            | ProviderType::ExternalArtifact
            | ProviderType::OCIArtifactTag
    ) || super::forge::classify(type_).is_some()
}

/// What can be refused before any call.
pub fn check_spec(spec: &ResourceSetInputProviderSpec) -> Result<(), Invalid> {
    if !supported(spec.type_) {
        return Err(Invalid::Unsupported(type_name(spec.type_)));
    }
    match spec.type_ {
        ProviderType::ExternalService => super::service::check(spec),
        ProviderType::ExternalArtifact => super::artifact::check(spec),
        _ => Ok(()),
    }
}

/// Whether a call leaves the process: such a reconcile first says it is in progress.
pub fn is_remote(type_: ProviderType) -> bool {
    type_ != ProviderType::Static
}

/// The provider's input sets, before `defaultValues` are merged in.
pub async fn fetch(call: &Call<'_>) -> Result<Vec<InputSet>, FetchError> {
    match call.spec().type_ {
        ProviderType::Static => Ok(exported::static_inputs(
            &call.obj.uid().unwrap_or_default(),
            call.spec().default_values.as_ref(),
        )),
        ProviderType::ExternalService => super::service::fetch(call).await,
        ProviderType::ExternalArtifact => super::artifact::fetch(call).await,
        ProviderType::OCIArtifactTag => super::oci::fetch(call).await,
        forge if super::forge::classify(forge).is_some() => super::forge::fetch(call).await,
        other => Err(Invalid::Unsupported(type_name(other)).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(value: serde_json::Value) -> ResourceSetInputProviderSpec {
        serde_json::from_value(value).expect("spec")
    }

    #[test]
    fn only_supported_types_pass() {
        assert_eq!(check_spec(&spec(serde_json::json!({"type": "Static"}))), Ok(()));
        let cloud = spec(serde_json::json!({"type": "ACRArtifactTag", "url": "oci://r.io/a"}));
        assert_eq!(
            check_spec(&cloud).unwrap_err().to_string(),
            "spec.type: type ACRArtifactTag is not supported by this operator yet"
        );
    }
}
