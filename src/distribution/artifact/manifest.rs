//! The manifest requests, made here rather than by the registry client, which reads any
//! answer whole: a manifest is refused past [`MAX_MANIFEST_BYTES`] while it streams in, so
//! a hostile registry cannot make the operator hold hundreds of megabytes.

use http::StatusCode;
use http::header::ACCEPT;
use oci_client::RegistryOperation;
use oci_client::errors::{OciDistributionError, OciEnvelope};
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE,
};

use super::error::chain;
use super::pull::{classify, corrupt};
use super::{ArtifactRef, Credentials, Error, Transport, sha256_digest};
use crate::text::shorten;

/// A Flux artifact's manifest has about 600 bytes; registries commonly refuse to store
/// manifests over 4 MiB, so no real artifact is lost.
pub(super) const MAX_MANIFEST_BYTES: usize = 4 << 20;
/// What an error answer may take: enough for the registry's JSON error document.
const MAX_ERROR_BYTES: usize = 64 << 10;
/// The media types asked for; an index is then refused with a clear message.
const ACCEPTED: [&str; 4] = [
    OCI_IMAGE_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
];

/// The manifest and its digest, checked against the reference's digest and the
/// registry's `Docker-Content-Digest`. `client` keeps the token for the layer download.
pub(super) async fn fetch_manifest(
    transport: &Transport,
    client: &oci_client::Client,
    reference: &ArtifactRef,
    credentials: &Credentials,
) -> Result<(Vec<u8>, String), Error> {
    let mut response = request(transport, client, reference, credentials, http::Method::GET).await?;
    let header = digest_header(&response);
    if let Some(length) = response.content_length()
        && length > MAX_MANIFEST_BYTES as u64
    {
        return Err(too_large(reference, &format!("{length} bytes")));
    }
    let Some(body) = read_at_most(&mut response, MAX_MANIFEST_BYTES, reference).await? else {
        return Err(too_large(
            reference,
            &format!("more than {} MiB", MAX_MANIFEST_BYTES >> 20),
        ));
    };
    let computed = sha256_digest(&body);
    for (who, expected) in [
        ("the reference", reference.digest()),
        ("the registry", header.as_deref()),
    ] {
        if let Some(expected) = expected
            && expected.starts_with("sha256:")
            && expected != computed
        {
            return Err(corrupt(
                reference,
                format!("the manifest's digest is {computed}, {who} says {}", shorten(expected)),
            ));
        }
    }
    Ok((body, computed))
}

/// The digest the reference points to: from a HEAD request's `Docker-Content-Digest`,
/// or, for registries that do not send it, from the manifest itself.
pub(super) async fn manifest_digest(
    transport: &Transport,
    client: &oci_client::Client,
    reference: &ArtifactRef,
    credentials: &Credentials,
) -> Result<String, Error> {
    let response = request(transport, client, reference, credentials, http::Method::HEAD).await?;
    let digest = match digest_header(&response) {
        Some(digest) if digest.starts_with("sha256:") && digest.len() == 71 => digest,
        _ => fetch_manifest(transport, client, reference, credentials).await?.1,
    };
    match reference.digest() {
        Some(expected) if expected != digest => Err(corrupt(
            reference,
            format!("the registry says the manifest's digest is {}", shorten(&digest)),
        )),
        _ => Ok(digest),
    }
}

/// Sends the manifest request with the credentials the registry asks for, and turns an
/// error answer into the error the registry client would have given.
async fn request(
    transport: &Transport,
    client: &oci_client::Client,
    reference: &ArtifactRef,
    credentials: &Credentials,
    method: http::Method,
) -> Result<reqwest::Response, Error> {
    let image = reference.to_oci();
    // Anonymous, basic or a bearer token, as the registry's challenge says.
    let token = client
        .auth(&image, &credentials.to_registry_auth(), RegistryOperation::Pull)
        .await
        .map_err(|e| classify(reference, e))?;
    let scheme = if transport.is_plain_http(reference) {
        "http"
    } else {
        "https"
    };
    let url = format!(
        "{scheme}://{}/v2/{}/manifests/{}",
        image.resolve_registry(),
        image.repository(),
        image.digest().or(image.tag()).unwrap_or(super::reference::DEFAULT_TAG)
    );
    let mut request = transport
        .http_client(reference)?
        .request(method, &url)
        .header(ACCEPT, ACCEPTED.join(", "));
    request = match (token, credentials) {
        (Some(token), _) => request.bearer_auth(token),
        (None, Credentials::Basic { username, password }) => request.basic_auth(username, Some(password)),
        (None, _) => request,
    };
    let mut response = request.send().await.map_err(|e| Error::Unreachable {
        field: reference.field().to_owned(),
        reference: reference.original().to_owned(),
        message: chain(&e),
    })?;
    let status = response.status();
    if status == StatusCode::OK {
        return Ok(response);
    }
    let body = read_at_most(&mut response, MAX_ERROR_BYTES, reference)
        .await?
        .unwrap_or_default();
    Err(classify(reference, answer_error(status, &body, url)))
}

/// The registry client's reading of an error answer (status, then the OCI error document).
fn answer_error(status: StatusCode, body: &[u8], url: String) -> OciDistributionError {
    let message = || String::from_utf8_lossy(body).into_owned();
    match status {
        StatusCode::UNAUTHORIZED => OciDistributionError::UnauthorizedError { url },
        s if s.is_success() => OciDistributionError::SpecViolationError(format!("expected HTTP 200, got {s}")),
        s if s.is_client_error() => match serde_json::from_slice::<OciEnvelope>(body) {
            Ok(envelope) => OciDistributionError::RegistryError { envelope, url },
            Err(_) => OciDistributionError::ServerError {
                code: s.as_u16(),
                url,
                message: message(),
            },
        },
        s => OciDistributionError::ServerError {
            code: s.as_u16(),
            url,
            message: message(),
        },
    }
}

/// The body, or `None` when it has more than `limit` bytes (reading stops there).
async fn read_at_most(
    response: &mut reqwest::Response,
    limit: usize,
    reference: &ArtifactRef,
) -> Result<Option<Vec<u8>>, Error> {
    let mut body = Vec::new();
    loop {
        let chunk = response.chunk().await.map_err(|e| Error::Unreachable {
            field: reference.field().to_owned(),
            reference: reference.original().to_owned(),
            message: format!("reading the manifest: {}", chain(&e)),
        })?;
        let Some(chunk) = chunk else {
            return Ok(Some(body));
        };
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
}

fn digest_header(response: &reqwest::Response) -> Option<String> {
    let value = response.headers().get("docker-content-digest")?;
    value.to_str().ok().map(|v| v.trim().to_owned())
}

fn too_large(reference: &ArtifactRef, size: &str) -> Error {
    Error::TooLarge {
        field: reference.field().to_owned(),
        reference: reference.original().to_owned(),
        message: format!(
            "the manifest has {size}; at most {} MiB are accepted",
            MAX_MANIFEST_BYTES >> 20
        ),
    }
}
