//! Credentials and TLS material of a forge provider, from Secrets in its namespace
//! (SPEC-resourceset §12.3 "Auth"): `password` is the token, beside a `username`, or for
//! GitHub the `githubApp*` keys of a GitHub App; values are whitespace-trimmed; no
//! `secretRef` means anonymous.

use std::collections::BTreeMap;

use super::github_app::App;
use super::http::{ForgeError, Tls};
use crate::controller::provider::fetch::Call;
use crate::controller::provider::secrets;
use crate::distribution::artifact::chain;

/// How a provider authenticates.
pub enum Credential {
    Anonymous,
    Token(String),
    /// GitHub only.
    GitHubApp(Box<App>),
}

/// The credential of `spec.secretRef`. Only `github` reads GitHub App keys.
pub async fn credential(call: &Call<'_>, github: bool) -> Result<Credential, ForgeError> {
    let Some(reference) = &call.spec().secret_ref else {
        return Ok(Credential::Anonymous);
    };
    let values = secret_values(call, &reference.name).await?;
    let refuse = |why: &str| secret_error(call, &reference.name, why);
    if github && let Some(app) = App::from_values(&values).map_err(|why| refuse(&why))? {
        return Ok(Credential::GitHubApp(Box::new(app)));
    }
    if !values.contains_key("username") {
        return Err(refuse("no 'username' key"));
    }
    match values.get("password") {
        Some(token) if !token.is_empty() => Ok(Credential::Token(token.clone())),
        _ => Err(refuse("no 'password' key with the token")),
    }
}

/// The CA bundle (`ca.crt`) and client certificate (`tls.crt` + `tls.key`) of
/// `spec.certSecretRef`, as PEM text; [`tls`] turns them into client settings.
pub async fn tls_pem(call: &Call<'_>) -> Result<BTreeMap<String, String>, ForgeError> {
    match &call.spec().cert_secret_ref {
        None => Ok(BTreeMap::new()),
        Some(reference) => {
            let mut values = secret_values(call, &reference.name).await?;
            values.retain(|k, _| matches!(k.as_str(), "ca.crt" | "tls.crt" | "tls.key"));
            if values.is_empty() {
                let why = "neither 'ca.crt' nor 'tls.crt' and 'tls.key'";
                return Err(secret_error(call, &reference.name, why));
            }
            Ok(values)
        }
    }
}

/// Client TLS settings from [`tls_pem`]'s values (built anew for each client: reqwest's
/// certificates cannot be cloned).
pub fn tls(pem: &BTreeMap<String, String>) -> Result<Tls, ForgeError> {
    let refuse = |why: String| ForgeError::Setup(format!("certSecretRef: {why}"));
    let mut tls = Tls::default();
    if let Some(ca) = pem.get("ca.crt") {
        tls.roots = reqwest::Certificate::from_pem_bundle(ca.as_bytes())
            .map_err(|e| refuse(format!("ca.crt: {}", chain(&e))))?;
        if tls.roots.is_empty() {
            return Err(refuse("ca.crt has no PEM certificate".to_owned()));
        }
    }
    match (pem.get("tls.crt"), pem.get("tls.key")) {
        (Some(cert), Some(key)) => {
            let both = format!("{cert}\n{key}\n");
            let identity = reqwest::Identity::from_pem(both.as_bytes())
                .map_err(|e| refuse(format!("tls.crt/tls.key: {}", chain(&e))))?;
            tls.identity = Some(identity);
        }
        (None, None) => {}
        _ => return Err(refuse("'tls.crt' and 'tls.key' go together".to_owned())),
    }
    Ok(tls)
}

/// A Secret's values as whitespace-trimmed text.
async fn secret_values(call: &Call<'_>, name: &str) -> Result<BTreeMap<String, String>, ForgeError> {
    let secret = secrets::read(call, name).await.map_err(|e| {
        let why = if secrets::is_not_found(&e) {
            "not found".to_owned()
        } else {
            format!("cannot read it: {}", chain(&e))
        };
        secret_error(call, name, &why)
    })?;
    Ok(secrets::trimmed_values(secret))
}

fn secret_error(call: &Call<'_>, name: &str, why: &str) -> ForgeError {
    ForgeError::Setup(format!("Secret '{}/{name}': {why}", call.namespace()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    /// A self-signed certificate and its key, from the openssl command.
    fn self_signed() -> (String, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
        let out = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=forge",
                "-days",
                "1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let read = |path| std::fs::read_to_string(path).expect("PEM");
        (read(&cert), read(&key))
    }

    #[test]
    fn a_ca_bundle_and_a_client_certificate_make_a_client() {
        let (cert, key) = self_signed();
        let usable = tls(&pem(&[("ca.crt", &cert), ("tls.crt", &cert), ("tls.key", &key)])).expect("usable");
        assert_eq!(usable.roots.len(), 1);
        assert!(usable.identity.is_some());
        let root = reqwest::Url::parse("https://forge.example/api/v3").unwrap();
        assert!(super::super::Http::new(root, None, usable, std::time::Duration::from_secs(5)).is_ok());
        let no_cert = tls(&pem(&[("tls.crt", "junk"), ("tls.key", &key)]))
            .err()
            .expect("refused");
        assert!(
            no_cert.to_string().starts_with("certSecretRef: tls.crt/tls.key: "),
            "{no_cert}"
        );
    }

    #[test]
    fn tls_material_is_checked() {
        assert!(tls(&BTreeMap::new()).is_ok());
        let err = tls(&pem(&[("ca.crt", "nothing")])).err().expect("refused").to_string();
        assert_eq!(err, "certSecretRef: ca.crt has no PEM certificate");
        let err = tls(&pem(&[("tls.crt", "x")])).err().expect("refused").to_string();
        assert_eq!(err, "certSecretRef: 'tls.crt' and 'tls.key' go together");
    }
}
