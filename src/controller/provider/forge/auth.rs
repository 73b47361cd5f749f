//! Credentials and TLS material of a forge provider, from Secrets in its namespace
//! (SPEC-resourceset §12.3 "Auth"): `password` is the token, beside a `username`; values
//! are whitespace-trimmed; no `secretRef` means anonymous.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use super::http::{ForgeError, Tls};
use crate::controller::provider::fetch::Call;
use crate::distribution::artifact::chain;

/// Keys of GitHub App authentication, which this operator does not implement yet.
const GITHUB_APP_KEYS: [&str; 5] = [
    "githubAppID",
    "githubAppPrivateKey",
    "githubAppInstallationID",
    "githubAppInstallationOwner",
    "githubAppBaseURL",
];

/// The token of `spec.secretRef`, `None` without one. `github` refuses GitHub App keys.
pub async fn token(call: &Call<'_>, github: bool) -> Result<Option<String>, ForgeError> {
    let Some(reference) = &call.spec().secret_ref else {
        return Ok(None);
    };
    let data = secret_data(call, &reference.name).await?;
    let refuse = |why: &str| secret_error(call, &reference.name, why);
    if github && GITHUB_APP_KEYS.iter().any(|k| data.contains_key(*k)) {
        return Err(refuse(
            "GitHub App authentication is not supported by this operator yet",
        ));
    }
    if value(&data, "username").is_none() {
        return Err(refuse("no 'username' key"));
    }
    match value(&data, "password") {
        Some(token) if !token.is_empty() => Ok(Some(token)),
        _ => Err(refuse("no 'password' key with the token")),
    }
}

/// The CA bundle (`ca.crt`) and client certificate (`tls.crt` + `tls.key`) of
/// `spec.certSecretRef`.
pub async fn tls(call: &Call<'_>) -> Result<Tls, ForgeError> {
    let Some(reference) = &call.spec().cert_secret_ref else {
        return Ok(Tls::default());
    };
    let name = &reference.name;
    let data = secret_data(call, name).await?;
    let refuse = |why: String| secret_error(call, name, &why);
    let mut tls = Tls::default();
    if let Some(ca) = value(&data, "ca.crt") {
        tls.roots = reqwest::Certificate::from_pem_bundle(ca.as_bytes())
            .map_err(|e| refuse(format!("ca.crt: {}", chain(&e))))?;
        if tls.roots.is_empty() {
            return Err(refuse("ca.crt has no PEM certificate".to_owned()));
        }
    }
    match (value(&data, "tls.crt"), value(&data, "tls.key")) {
        (Some(cert), Some(key)) => {
            let pem = format!("{cert}\n{key}\n");
            let identity = reqwest::Identity::from_pem(pem.as_bytes())
                .map_err(|e| refuse(format!("tls.crt/tls.key: {}", chain(&e))))?;
            tls.identity = Some(identity);
        }
        (None, None) if !tls.roots.is_empty() => {}
        (None, None) => return Err(refuse("neither 'ca.crt' nor 'tls.crt' and 'tls.key'".to_owned())),
        _ => return Err(refuse("'tls.crt' and 'tls.key' go together".to_owned())),
    }
    Ok(tls)
}

async fn secret_data(call: &Call<'_>, name: &str) -> Result<BTreeMap<String, ByteString>, ForgeError> {
    let api: Api<Secret> = Api::namespaced(call.client.clone(), &call.namespace());
    let secret = api
        .get_opt(name)
        .await
        .map_err(|e| secret_error(call, name, &format!("cannot read it: {}", chain(&e))))?
        .ok_or_else(|| secret_error(call, name, "not found"))?;
    Ok(secret.data.unwrap_or_default())
}

fn value(data: &BTreeMap<String, ByteString>, key: &str) -> Option<String> {
    data.get(key).map(|v| String::from_utf8_lossy(&v.0).trim().to_owned())
}

fn secret_error(call: &Call<'_>, name: &str, why: &str) -> ForgeError {
    ForgeError::Setup(format!("Secret '{}/{name}': {why}", call.namespace()))
}
