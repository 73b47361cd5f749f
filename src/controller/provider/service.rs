//! ExternalService (SPEC-resourceset §12.3): `GET <url>` answers `{"inputs": [...]}`, each
//! input an object with a string `id`, exported as it is. Credentials come from
//! `spec.secretRef` (`token`: Bearer, else `username` and `password`: Basic) and TLS
//! material from `spec.certSecretRef`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;

use super::fetch::{Call, FetchError, Invalid, USER_AGENT};
use super::secrets;
use crate::api::{InputSet, ResourceSetInputProviderSpec};

/// The largest answer read; a service that says more is refused.
pub const MAX_BODY: usize = 900 * 1024;

/// Connection attempts of one call: a service that restarts gets a second chance, a
/// service that answers badly does not.
const ATTEMPTS: u32 = 3;

/// Why an answer cannot be exported.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("response body exceeds {MAX_BODY} bytes")]
    TooLarge,
    #[error("response is not JSON: {0}")]
    Json(String),
    #[error("response has no 'inputs' array")]
    NoInputs,
    #[error("inputs[{0}] has no string 'id'")]
    NoId(usize),
    #[error("inputs[{index}]: duplicate id {id:?}")]
    DuplicateId { index: usize, id: String },
}

/// Why a Secret the spec names cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{field}: Secret {name:?}: {source}")]
    Read {
        field: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("spec.secretRef: Secret {0:?} has neither 'token' nor 'username' and 'password'")]
    NoCredentials(String),
    #[error("spec.certSecretRef: Secret {name:?}: {why}")]
    Tls { name: String, why: String },
}

/// The admission rules of this type, checked again (an object stored before the CRD had
/// them must not reach the network): an `http(s)://` url, plain HTTP only with `insecure`.
pub fn check(spec: &ResourceSetInputProviderSpec) -> Result<(), Invalid> {
    let url = spec.url.as_deref().unwrap_or_default();
    let field = |field, why: String| Err(Invalid::Field { field, why });
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return field("spec.url", format!("{url:?} must start with http:// or https://"));
    }
    if url.starts_with("http://") && !spec.insecure {
        return field("spec.insecure", format!("must be true for the plain HTTP url {url:?}"));
    }
    Ok(())
}

/// The service's input sets, at most `filter.limit` of them, in its order.
pub async fn fetch(call: &Call<'_>) -> Result<Vec<InputSet>, FetchError> {
    let url = call.spec().url.clone().unwrap_or_default();
    let client = http_client(call).await?;
    let mut request = client.get(&url).header(http::header::ACCEPT, "application/json");
    if let Some(auth) = credentials(call).await? {
        request = auth.apply(request);
    }
    let what = format!("GET {url}");
    let mut response = send(request, &what).await?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::failed(what, format!("HTTP {status}")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| failed_read(&what, e))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY {
            return Err(FetchError::failed(what, AnswerError::TooLarge));
        }
    }
    inputs_of(&body, limit(call)).map_err(|e| FetchError::failed(what, e))
}

/// Sends `request`, again after a connection error (the only errors retried).
async fn send(request: reqwest::RequestBuilder, what: &str) -> Result<reqwest::Response, FetchError> {
    let mut attempt = 1;
    loop {
        let this = request.try_clone().expect("a GET has no streamed body");
        match this.send().await {
            Ok(response) => return Ok(response),
            Err(e) if e.is_connect() && attempt < ATTEMPTS => {
                // Short: the pass holds one of the controller's workers meanwhile.
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(e) => return Err(failed_read(what, e)),
        }
    }
}

fn failed_read(what: &str, e: reqwest::Error) -> FetchError {
    FetchError::failed(what, crate::distribution::artifact::chain(&e))
}

fn limit(call: &Call<'_>) -> usize {
    let limit = call.spec().filter.clone().unwrap_or_default().limit;
    usize::try_from(limit).unwrap_or(0)
}

/// The inputs of an answer: `{"inputs": [{"id": "...", ...}, ...]}`, ids unique, the first
/// `limit` kept.
pub fn inputs_of(body: &[u8], limit: usize) -> Result<Vec<InputSet>, AnswerError> {
    let answer: Value = serde_json::from_slice(body).map_err(|e| AnswerError::Json(e.to_string()))?;
    let Some(Value::Array(inputs)) = answer.get("inputs") else {
        return Err(AnswerError::NoInputs);
    };
    let mut ids = BTreeSet::new();
    let mut sets = Vec::with_capacity(inputs.len());
    for (index, input) in inputs.iter().enumerate() {
        let set = input.as_object().ok_or(AnswerError::NoId(index))?;
        let id = set.get("id").and_then(Value::as_str).ok_or(AnswerError::NoId(index))?;
        if !ids.insert(id.to_owned()) {
            return Err(AnswerError::DuplicateId {
                index,
                id: id.to_owned(),
            });
        }
        sets.push(set.clone());
    }
    sets.truncate(limit);
    Ok(sets)
}

enum Credentials {
    Bearer(String),
    Basic(String, String),
}

impl Credentials {
    fn apply(self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Credentials::Bearer(token) => request.bearer_auth(token),
            Credentials::Basic(user, password) => request.basic_auth(user, Some(password)),
        }
    }
}

async fn credentials(call: &Call<'_>) -> Result<Option<Credentials>, FetchError> {
    let Some(reference) = &call.spec().secret_ref else {
        return Ok(None);
    };
    let mut values = read_secret(call, "spec.secretRef", &reference.name).await?;
    if let Some(token) = values.remove("token") {
        return Ok(Some(Credentials::Bearer(token)));
    }
    match (values.remove("username"), values.remove("password")) {
        (Some(user), Some(password)) => Ok(Some(Credentials::Basic(user, password))),
        _ => Err(FetchError::failed(
            "credentials",
            SecretError::NoCredentials(reference.name.clone()),
        )),
    }
}

/// The values of the Secret `field` names, as trimmed text.
async fn read_secret(call: &Call<'_>, field: &'static str, name: &str) -> Result<BTreeMap<String, String>, FetchError> {
    let secret = secrets::read(call, name).await.map_err(|source| {
        let error = SecretError::Read {
            field,
            name: name.to_owned(),
            source,
        };
        FetchError::failed("credentials", error)
    })?;
    Ok(secrets::trimmed_values(secret))
}

/// A client that trusts `ca.crt` besides the system's roots and presents `tls.crt` with
/// `tls.key`, when `spec.certSecretRef` names a Secret with them.
async fn http_client(call: &Call<'_>) -> Result<reqwest::Client, FetchError> {
    crate::tls::install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(call.timeout.min(Duration::from_secs(10)));
    if let Some(reference) = &call.spec().cert_secret_ref {
        let values = read_secret(call, "spec.certSecretRef", &reference.name).await?;
        let tls = |why: String| {
            let error = SecretError::Tls {
                name: reference.name.clone(),
                why,
            };
            FetchError::failed("TLS", error)
        };
        if let Some(ca) = values.get("ca.crt") {
            let roots =
                reqwest::Certificate::from_pem_bundle(ca.as_bytes()).map_err(|e| tls(format!("ca.crt: {e}")))?;
            builder = builder.tls_certs_merge(roots);
        }
        if let (Some(cert), Some(key)) = (values.get("tls.crt"), values.get("tls.key")) {
            let pem = format!("{cert}\n{key}\n");
            let identity =
                reqwest::Identity::from_pem(pem.as_bytes()).map_err(|e| tls(format!("tls.crt/tls.key: {e}")))?;
            builder = builder.identity(identity);
        }
    }
    builder
        .build()
        .map_err(|e| FetchError::failed("HTTP client", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(sets: &[InputSet]) -> Vec<&str> {
        sets.iter().map(|s| s["id"].as_str().unwrap()).collect()
    }

    #[test]
    fn plain_http_needs_insecure() {
        let spec = |value| serde_json::from_value(value).expect("spec");
        let url = |url: &str, insecure: bool| {
            check(&spec(
                serde_json::json!({"type": "ExternalService", "url": url, "insecure": insecure}),
            ))
        };
        assert_eq!(url("https://svc/x", false), Ok(()));
        assert_eq!(url("http://svc/x", true), Ok(()));
        let refused = url("http://svc/x", false).unwrap_err().to_string();
        assert_eq!(
            refused,
            "spec.insecure: must be true for the plain HTTP url \"http://svc/x\""
        );
        assert!(
            url("oci://svc/x", true)
                .unwrap_err()
                .to_string()
                .starts_with("spec.url: ")
        );
    }

    #[test]
    fn inputs_are_exported_as_they_are_up_to_the_limit() {
        let body = br#"{"inputs": [{"id": "a", "n": 1, "x": {"y": true}}, {"id": "b"}, {"id": "c"}]}"#;
        let sets = inputs_of(body, 100).unwrap();
        assert_eq!(ids(&sets), ["a", "b", "c"]);
        assert_eq!(sets[0]["x"]["y"], Value::Bool(true));
        assert_eq!(ids(&inputs_of(body, 1).unwrap()), ["a"]);
        assert!(inputs_of(br#"{"inputs": []}"#, 100).unwrap().is_empty());
    }

    #[test]
    fn answers_that_cannot_be_exported() {
        let error = |body: &[u8]| inputs_of(body, 100).unwrap_err();
        assert!(matches!(error(b"<html>"), AnswerError::Json(_)));
        assert_eq!(error(b"[]"), AnswerError::NoInputs);
        assert_eq!(error(br#"{"inputs": {"id": "a"}}"#), AnswerError::NoInputs);
        assert_eq!(
            error(br#"{"inputs": [{"id": "a"}, {"name": "b"}]}"#),
            AnswerError::NoId(1)
        );
        assert_eq!(error(br#"{"inputs": [{"id": 7}]}"#), AnswerError::NoId(0));
        assert_eq!(error(br#"{"inputs": ["a"]}"#), AnswerError::NoId(0));
        assert_eq!(
            error(br#"{"inputs": [{"id": "a"}, {"id": "b"}, {"id": "a"}]}"#).to_string(),
            "inputs[2]: duplicate id \"a\""
        );
        // Duplicates past the limit still fail: the answer as a whole is wrong.
        assert!(inputs_of(br#"{"inputs": [{"id": "a"}, {"id": "a"}]}"#, 1).is_err());
    }
}
