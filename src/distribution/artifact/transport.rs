//! How to reach registries: TLS roots, plain HTTP for named (loopback) registries, and
//! time limits.

use std::path::Path;
use std::time::Duration;

use oci_client::Client;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::{ArtifactRef, Error};

/// The time limit of one pull, push or digest check, unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

const USER_AGENT: &str = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));

/// Transport settings shared by every registry operation.
#[derive(Debug, Clone)]
pub struct Transport {
    /// DER certificates trusted besides the system's roots.
    extra_roots: Vec<Vec<u8>>,
    /// `host` (any port) or `host:port` entries reached over plain HTTP.
    plain_http: Vec<String>,
    /// Every operation as a whole must finish within this.
    pub timeout: Duration,
}

impl Default for Transport {
    fn default() -> Self {
        Self {
            extra_roots: Vec::new(),
            plain_http: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl Transport {
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            ..Self::default()
        }
    }

    /// Trusts the certificates of a PEM bundle (private registries, air-gapped mirrors)
    /// besides the system's. `field` is the flag or setting that named the file.
    pub fn with_ca_file(self, field: &str, path: &Path) -> Result<Self, Error> {
        let fail = |message: String| Error::CaBundle {
            field: field.to_owned(),
            path: path.to_path_buf(),
            message,
        };
        let pem = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        self.with_ca_pem(&pem).map_err(fail)
    }

    /// Trusts the certificates of a PEM bundle given as bytes (a Secret's `ca.crt`).
    pub fn with_ca_pem(mut self, pem: &[u8]) -> Result<Self, String> {
        let mut roots = Vec::new();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("invalid PEM: {e}"))?;
            roots.push(cert.as_ref().to_vec());
        }
        if roots.is_empty() {
            return Err("no PEM certificate (-----BEGIN CERTIFICATE-----) in the file".to_owned());
        }
        self.extra_roots.extend(roots);
        Ok(self)
    }

    /// Reaches these registries (`host` for any port, or `host:port`) over plain HTTP.
    pub fn with_plain_http<I, S>(mut self, registries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.plain_http.extend(
            registries
                .into_iter()
                .map(|r| r.as_ref().trim().to_ascii_lowercase())
                .filter(|r| !r.is_empty()),
        );
        self
    }

    /// Whether `reference` is reached over plain HTTP.
    pub fn is_plain_http(&self, reference: &ArtifactRef) -> bool {
        let registry = reference.registry().to_ascii_lowercase();
        let host = reference.host().to_ascii_lowercase();
        self.plain_http.iter().any(|entry| *entry == registry || *entry == host)
    }

    /// A plain HTTP client with the same roots and limits, for the requests that the
    /// registry client would read without a size limit.
    pub(crate) fn http_client(&self, reference: &ArtifactRef) -> Result<reqwest::Client, Error> {
        crate::tls::install_crypto_provider();
        let fail = |message: String| Error::Registry {
            field: reference.field().to_owned(),
            reference: reference.original().to_owned(),
            message: format!("cannot set up the registry client: {message}"),
        };
        let roots = self
            .extra_roots
            .iter()
            .map(|der| reqwest::Certificate::from_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(super::error::chain(&e)))?;
        reqwest::Client::builder()
            .tls_certs_merge(roots)
            .connect_timeout(self.timeout.min(Duration::from_secs(10)))
            .read_timeout(self.timeout)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| fail(super::error::chain(&e)))
    }

    /// A registry client for `reference`'s registry.
    pub(crate) fn client(&self, reference: &ArtifactRef) -> Result<Client, Error> {
        crate::tls::install_crypto_provider();
        let protocol = if self.is_plain_http(reference) {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        };
        let config = ClientConfig {
            protocol,
            extra_root_certificates: self
                .extra_roots
                .iter()
                .map(|der| Certificate {
                    encoding: CertificateEncoding::Der,
                    data: der.clone(),
                })
                .collect(),
            // An artifact is one manifest, not a multi-platform image.
            platform_resolver: None,
            connect_timeout: Some(self.timeout.min(Duration::from_secs(10))),
            read_timeout: Some(self.timeout),
            user_agent: USER_AGENT,
            ..ClientConfig::default()
        };
        // Client::new would fall back to a default client (dropping the CA bundle) on error.
        Client::try_from(config).map_err(|e| Error::Registry {
            field: reference.field().to_owned(),
            reference: reference.original().to_owned(),
            message: format!("cannot set up the registry client: {}", super::error::chain(&e)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::artifact::reference::FIELD;

    #[test]
    fn plain_http_matches_host_or_host_and_port() {
        let t = Transport::default().with_plain_http(["127.0.0.1:5000", "LOCALHOST", " "]);
        let r = |v: &str| ArtifactRef::parse(FIELD, v).unwrap();
        assert!(t.is_plain_http(&r("oci://127.0.0.1:5000/flux")));
        assert!(!t.is_plain_http(&r("oci://127.0.0.1:5001/flux")));
        assert!(t.is_plain_http(&r("oci://localhost:1234/flux")));
        assert!(!t.is_plain_http(&r("oci://ghcr.io/flux")));
        assert!(t.client(&r("oci://ghcr.io/flux")).is_ok());
    }

    #[test]
    fn ca_bundle_errors_name_the_flag_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = Transport::default()
            .with_ca_file("--artifact-ca-file", &missing)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("--artifact-ca-file: cannot use the CA bundle"), "{err}");
        assert!(err.contains("missing.pem"), "{err}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = Transport::default()
            .with_ca_file("--artifact-ca-file", &empty)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no PEM certificate"), "{err}");

        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = Transport::default()
            .with_ca_file("--artifact-ca-file", &broken)
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid PEM"), "{err}");
    }
}
