//! The Secrets a provider's spec names (`secretRef`, `certSecretRef`), read from the
//! provider's namespace with the operator's client. Each caller says what a Secret that
//! cannot be read means for it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use super::fetch::Call;

/// The Secret `name` in the provider's namespace; a missing one is an error that
/// [`is_not_found`] recognises.
pub async fn read(call: &Call<'_>, name: &str) -> Result<Secret, kube::Error> {
    let api: Api<Secret> = Api::namespaced(call.client.clone(), &call.namespace());
    api.get(name).await
}

/// Whether [`read`] failed because the Secret does not exist.
pub fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.is_not_found())
}

/// A Secret's values as whitespace-trimmed text.
pub fn trimmed_values(secret: Secret) -> BTreeMap<String, String> {
    let data = secret.data.unwrap_or_default();
    data.into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::ByteString;
    use kube::core::Status;

    use super::*;

    #[test]
    fn values_are_trimmed_text() {
        let data =
            [("token", &b"  s3cret\n"[..]), ("ca.crt", b"PEM")].map(|(k, v)| (k.to_owned(), ByteString(v.to_vec())));
        let secret = Secret {
            data: Some(data.into_iter().collect()),
            ..Secret::default()
        };
        let values = trimmed_values(secret);
        assert_eq!(values["token"], "s3cret");
        assert_eq!(values["ca.crt"], "PEM");
        assert!(trimmed_values(Secret::default()).is_empty());
    }

    #[test]
    fn only_a_missing_secret_is_not_found() {
        let api = |reason: &str, code| kube::Error::Api(Status::failure("", reason).with_code(code).boxed());
        assert!(is_not_found(&api("NotFound", 404)));
        assert!(!is_not_found(&api("Forbidden", 403)));
    }
}
