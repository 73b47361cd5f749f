//! Pulling an artifact: the manifest (its digest is the cache key and the revision), then,
//! on a cache miss, the first layer, checked against its digest and size, unpacked.

use std::time::Instant;

use futures::StreamExt;
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::OciImageManifest;

use super::error::chain;
use super::manifest::{fetch_manifest, manifest_digest};
use super::{ArtifactRef, Cache, Credentials, Error, Transport, sha256_digest};
use crate::distribution::Distribution;
use crate::text::shorten;

/// A layer larger than this is refused before download: it is held in memory while its
/// digest is checked, and the real distribution is under 2 MiB.
const MAX_LAYER_BYTES: i64 = 128 << 20;

/// What a pull produced.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The manifest digest, `sha256:<hex>`.
    pub digest: String,
    pub distribution: Distribution,
    /// True when the layer came from the cache, with no download.
    pub cached: bool,
    /// Time spent, for logs and measurements.
    pub elapsed: std::time::Duration,
}

/// The digest the reference points to now (a HEAD request; no download). The poller
/// compares it with `status.lastArtifactRevision`.
pub async fn resolve_digest(
    transport: &Transport,
    reference: &ArtifactRef,
    credentials: &Credentials,
) -> Result<String, Error> {
    with_timeout(transport, reference, async {
        let client = transport.client(reference)?;
        manifest_digest(transport, &client, reference, credentials).await
    })
    .await
}

/// Pulls `reference` into `cache` (a hit needs only the manifest) and opens it.
pub async fn pull(
    transport: &Transport,
    reference: &ArtifactRef,
    credentials: &Credentials,
    cache: &Cache,
) -> Result<Pulled, Error> {
    let started = Instant::now();
    let (digest, layer) = with_timeout(transport, reference, fetch(transport, reference, credentials, cache)).await?;
    let Some(layer) = layer else {
        let distribution = cache.get(&digest).ok_or_else(|| Error::Cache {
            path: cache.root().to_path_buf(),
            message: format!("the cached artifact {digest} vanished"),
        })?;
        return Ok(Pulled {
            digest,
            distribution,
            cached: true,
            elapsed: started.elapsed(),
        });
    };
    let store_cache = cache.clone();
    let store_digest = digest.clone();
    let distribution = tokio::task::spawn_blocking(move || store_cache.store(&store_digest, &layer))
        .await
        .map_err(|e| Error::Cache {
            path: cache.root().to_path_buf(),
            message: format!("unpacking stopped: {e}"),
        })?
        .map_err(|e| e.into_error(cache, reference.field(), reference.original()))?;
    Ok(Pulled {
        digest,
        distribution,
        cached: false,
        elapsed: started.elapsed(),
    })
}

/// The manifest digest, and the layer bytes unless the cache has the artifact already.
async fn fetch(
    transport: &Transport,
    reference: &ArtifactRef,
    credentials: &Credentials,
    cache: &Cache,
) -> Result<(String, Option<Vec<u8>>), Error> {
    let client = transport.client(reference)?;
    let (body, digest) = fetch_manifest(transport, &client, reference, credentials).await?;
    if cache.get(&digest).is_some() {
        return Ok((digest, None));
    }
    let layout = |message: String| Error::Layout {
        field: reference.field().to_owned(),
        reference: reference.original().to_owned(),
        message,
    };
    let probe: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| layout(format!("the manifest is not JSON: {e}")))?;
    if probe.get("manifests").is_some() {
        return Err(layout(
            "it is an image index (a multi-platform image), expected an artifact manifest with one tar+gzip layer"
                .to_owned(),
        ));
    }
    let manifest: OciImageManifest =
        serde_json::from_slice(&body).map_err(|e| layout(format!("invalid manifest: {e}")))?;
    let Some(layer) = manifest.layers.first() else {
        return Err(layout("the manifest has no layer".to_owned()));
    };
    if !is_tar_gzip(&layer.media_type) {
        return Err(layout(format!(
            "its first layer has media type {:?}, expected {} (or another tar+gzip type)",
            layer.media_type,
            super::CONTENT_MEDIA_TYPE
        )));
    }
    if layer.size < 0 {
        return Err(layout(format!("its first layer declares {} bytes", layer.size)));
    }
    if layer.size > MAX_LAYER_BYTES {
        return Err(Error::TooLarge {
            field: reference.field().to_owned(),
            reference: reference.original().to_owned(),
            message: format!(
                "its first layer declares {} bytes; at most {} MiB are accepted",
                layer.size,
                MAX_LAYER_BYTES >> 20
            ),
        });
    }
    // By digest from here on: a tag moved during the pull must not mix two artifacts.
    let pinned = reference.to_oci_digest(&digest);
    let mut stream = client
        .pull_blob_stream(&pinned, layer)
        .await
        .map_err(|e| classify(reference, e))?;
    let mut data = Vec::with_capacity(usize::try_from(layer.size).unwrap_or(0));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            match e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<oci_client::errors::DigestError>())
            {
                Some(digest_error) => corrupt(reference, format!("layer {}: {digest_error}", layer.digest)),
                None => Error::Unreachable {
                    field: reference.field().to_owned(),
                    reference: reference.original().to_owned(),
                    message: format!("downloading layer {}: {}", layer.digest, chain(&e)),
                },
            }
        })?;
        if data.len() + chunk.len() > usize::try_from(layer.size).unwrap_or(0) {
            return Err(corrupt(
                reference,
                format!(
                    "layer {} is larger than the {} bytes its descriptor declares",
                    layer.digest, layer.size
                ),
            ));
        }
        data.extend_from_slice(&chunk);
    }
    let actual = sha256_digest(&data);
    if actual != layer.digest {
        return Err(corrupt(
            reference,
            format!(
                "layer digest mismatch: the manifest says {}, the blob is {actual}",
                layer.digest
            ),
        ));
    }
    if data.len() as i64 != layer.size {
        return Err(corrupt(
            reference,
            format!(
                "layer {} has {} bytes, its descriptor declares {}",
                layer.digest,
                data.len(),
                layer.size
            ),
        ));
    }
    Ok((digest, Some(data)))
}

fn is_tar_gzip(media_type: &str) -> bool {
    media_type.ends_with("tar+gzip") || media_type.ends_with("tar.gzip")
}

pub(super) fn corrupt(reference: &ArtifactRef, message: String) -> Error {
    Error::CorruptLayer {
        field: reference.field().to_owned(),
        reference: reference.original().to_owned(),
        message,
    }
}

pub(super) async fn with_timeout<T>(
    transport: &Transport,
    reference: &ArtifactRef,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match tokio::time::timeout(transport.timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(Error::Timeout {
            field: reference.field().to_owned(),
            reference: reference.original().to_owned(),
            limit: transport.timeout,
        }),
    }
}

/// A registry client error as a message a user can act on.
pub(crate) fn classify(reference: &ArtifactRef, error: OciDistributionError) -> Error {
    let field = reference.field().to_owned();
    let value = reference.original().to_owned();
    let what = match (reference.tag(), reference.digest()) {
        (_, Some(digest)) => format!("digest {digest}"),
        (Some(tag), None) => format!("tag {tag:?}"),
        (None, None) => "the artifact".to_owned(),
    };
    let repository = format!("{}/{}", reference.registry(), reference.repository());
    let not_found = |detail: &str| Error::NotFound {
        field: field.clone(),
        reference: value.clone(),
        message: format!("{what} not found in {repository}{detail}"),
    };
    let unauthorized = || Error::Unauthorized {
        field: field.clone(),
        reference: value.clone(),
        message: format!(
            "the registry {} refused the credentials (unauthorized)",
            reference.registry()
        ),
    };
    match error {
        OciDistributionError::ImageManifestNotFoundError(_) => not_found(""),
        OciDistributionError::UnauthorizedError { .. } | OciDistributionError::AuthenticationFailure(_) => {
            unauthorized()
        }
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                unauthorized()
            } else if codes.iter().any(|c| matches!(c, OciErrorCode::NameUnknown)) {
                not_found(" (no such repository)")
            } else if codes.iter().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown | OciErrorCode::BlobUnknown | OciErrorCode::NotFound
                )
            }) {
                not_found("")
            } else {
                let messages: Vec<String> = envelope
                    .errors
                    .iter()
                    .map(|e| format!("{:?}: {}", e.code, shorten(&e.message)))
                    .collect();
                Error::Registry {
                    field,
                    reference: value,
                    message: format!("the registry answered: {}", messages.join("; ")),
                }
            }
        }
        OciDistributionError::ServerError { code: 404, .. } => not_found(""),
        OciDistributionError::ServerError { code: 401 | 403, .. } => unauthorized(),
        OciDistributionError::ServerError { code, message, .. } => Error::Registry {
            field,
            reference: value,
            message: format!("the registry answered HTTP {code}: {}", shorten(message.trim())),
        },
        OciDistributionError::DigestError(e) => corrupt(reference, e.to_string()),
        OciDistributionError::RequestError(e) => Error::Unreachable {
            field,
            reference: value,
            message: describe_request_error(&e),
        },
        other => Error::Registry {
            field,
            reference: value,
            message: shorten(&chain(&other)).into_owned(),
        },
    }
}

/// reqwest's top-level message is "error sending request for url (...)"; the cause is in
/// its sources.
fn describe_request_error(e: &(dyn std::error::Error + 'static)) -> String {
    let text = chain(e);
    if text.contains("UnknownIssuer") || text.contains("certificate") {
        format!(
            "{text} (trust a private registry's CA with the operator's --artifact-ca-file, or --ca-file of the CLI)"
        )
    } else if text.contains("InvalidContentType") {
        format!(
            "{text} (the registry seems to speak plain HTTP: list it in the operator's --artifact-plain-http-registries, or use --plain-http of the CLI)"
        )
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::artifact::reference::FIELD;
    use oci_client::errors::{OciEnvelope, OciError};

    fn r(value: &str) -> ArtifactRef {
        ArtifactRef::parse(FIELD, value).unwrap()
    }

    fn envelope(code: OciErrorCode) -> OciDistributionError {
        OciDistributionError::RegistryError {
            envelope: OciEnvelope {
                errors: vec![OciError {
                    code,
                    message: "m".into(),
                    detail: serde_json::Value::Null,
                }],
            },
            url: "http://x".into(),
        }
    }

    #[test]
    fn registry_errors_read_as_user_facing_messages() {
        let reference = r("oci://127.0.0.1:5000/flux:missing");
        let err = classify(&reference, envelope(OciErrorCode::ManifestUnknown));
        assert!(matches!(err, Error::NotFound { .. }));
        assert_eq!(
            err.to_string(),
            "spec.distribution.artifact \"oci://127.0.0.1:5000/flux:missing\": tag \"missing\" not found in 127.0.0.1:5000/flux"
        );
        let err = classify(&reference, envelope(OciErrorCode::NameUnknown));
        assert!(err.to_string().ends_with("(no such repository)"), "{err}");
        let err = classify(&reference, OciDistributionError::UnauthorizedError { url: "u".into() });
        assert!(err.to_string().contains("refused the credentials"), "{err}");
        let err = classify(&reference, envelope(OciErrorCode::Denied));
        assert!(matches!(err, Error::Unauthorized { .. }));
        let err = classify(
            &reference,
            OciDistributionError::ServerError {
                code: 500,
                url: "u".into(),
                message: "boom\n".into(),
            },
        );
        assert!(
            err.to_string().ends_with("the registry answered HTTP 500: boom"),
            "{err}"
        );
        assert_eq!(err.reason(), "ArtifactFailed");
    }

    #[test]
    fn tar_gzip_media_types() {
        assert!(is_tar_gzip(super::super::CONTENT_MEDIA_TYPE));
        assert!(is_tar_gzip("application/vnd.oci.image.layer.v1.tar+gzip"));
        assert!(is_tar_gzip("application/vnd.docker.image.rootfs.diff.tar.gzip"));
        assert!(!is_tar_gzip("application/vnd.oci.image.layer.v1.tar"));
    }
}
