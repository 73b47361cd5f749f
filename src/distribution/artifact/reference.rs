//! `oci://host[:port]/repository[:tag][@sha256:<hex>]`, as `spec.distribution.artifact`
//! takes it. Parsed strictly: a typo here is a clear error, not a request to a wrong host.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use super::Error;
use crate::text::shorten;

/// The field that references come from in a FluxInstance.
pub const FIELD: &str = "spec.distribution.artifact";

const SCHEME: &str = "oci://";
/// The tag a reference without tag or digest means, as for container images.
pub const DEFAULT_TAG: &str = "latest";

static HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
        .expect("host pattern")
});
static PATH_COMPONENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$").expect("path pattern"));
static TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$").expect("tag pattern"));
static DIGEST: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^sha256:[a-f0-9]{64}$").expect("digest pattern"));

/// A parsed artifact reference, with the field or flag it came from for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactRef {
    field: String,
    original: String,
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl ArtifactRef {
    /// Parses `value`; errors name `field` (`spec.distribution.artifact`, `--artifact`, ...)
    /// and the value.
    pub fn parse(field: &str, value: &str) -> Result<Self, Error> {
        let fail = |message: &str| Error::Reference {
            field: field.to_owned(),
            value: value.to_owned(),
            message: message.to_owned(),
        };
        let Some(rest) = value.strip_prefix(SCHEME) else {
            return Err(fail("expected oci://host[:port]/repository[:tag][@sha256:digest]"));
        };
        let Some((host, path)) = rest.split_once('/') else {
            return Err(fail("no repository after the registry host"));
        };
        if host.is_empty() {
            return Err(fail("no registry host after oci://"));
        }
        if !HOST.is_match(host) {
            return Err(fail(&format!("invalid registry host {:?}", shorten(host))));
        }
        if let Some((_, port)) = host.rsplit_once(':')
            && !host.ends_with(']')
            && port.parse::<u16>().map_or(true, |p| p == 0)
        {
            return Err(fail(&format!("invalid port {:?}", shorten(port))));
        }
        let (name_and_tag, digest) = match path.split_once('@') {
            Some((name, digest)) => {
                if !DIGEST.is_match(digest) {
                    return Err(fail(&format!(
                        "invalid digest {:?}: expected sha256: and 64 lowercase hex digits",
                        shorten(digest)
                    )));
                }
                (name, Some(digest.to_owned()))
            }
            None => (path, None),
        };
        let (repository, tag) = match name_and_tag.rsplit_once(':') {
            Some((repository, tag)) => {
                if !TAG.is_match(tag) {
                    return Err(fail(&format!(
                        "invalid tag {:?}: letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'",
                        shorten(tag)
                    )));
                }
                (repository, Some(tag.to_owned()))
            }
            None => (name_and_tag, None),
        };
        if repository.is_empty() {
            return Err(fail("no repository after the registry host"));
        }
        if let Some(bad) = repository.split('/').find(|c| !PATH_COMPONENT.is_match(c)) {
            return Err(fail(&format!(
                "invalid repository component {:?}: lowercase letters and digits, separated by '.', '_' or '-'",
                shorten(bad)
            )));
        }
        if repository.len() + host.len() + 1 > 255 {
            return Err(fail("the repository name is longer than 255 characters"));
        }
        Ok(Self {
            field: field.to_owned(),
            original: value.to_owned(),
            registry: host.to_owned(),
            repository: repository.to_owned(),
            tag,
            digest,
        })
    }

    /// The field or flag the reference came from.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// `host[:port]`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host without its port.
    pub fn host(&self) -> &str {
        if self.registry.starts_with('[') {
            return self
                .registry
                .find(']')
                .map_or(self.registry.as_str(), |end| &self.registry[..=end]);
        }
        self.registry.split(':').next().unwrap_or(&self.registry)
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// Whether the reference names a version (a tag or a digest) rather than only a
    /// repository.
    pub fn names_version(&self) -> bool {
        self.tag.is_some() || self.digest.is_some()
    }

    /// The tag; `latest` when neither a tag nor a digest was given.
    pub fn tag(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => Some(tag),
            (None, None) => Some(DEFAULT_TAG),
            (None, Some(_)) => None,
        }
    }

    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The reference as the user wrote it.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// What the registry client asks for: the digest when given (it pins the content),
    /// otherwise the tag.
    pub(crate) fn to_oci(&self) -> oci_client::Reference {
        match &self.digest {
            Some(digest) => {
                oci_client::Reference::with_digest(self.registry.clone(), self.repository.clone(), digest.clone())
            }
            None => oci_client::Reference::with_tag(
                self.registry.clone(),
                self.repository.clone(),
                self.tag().unwrap_or(DEFAULT_TAG).to_owned(),
            ),
        }
    }

    /// The same repository at a digest: what a pull by tag resolved to.
    pub(crate) fn to_oci_digest(&self, digest: &str) -> oci_client::Reference {
        oci_client::Reference::with_digest(self.registry.clone(), self.repository.clone(), digest.to_owned())
    }
}

impl fmt::Display for ArtifactRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        if self.tag.is_none() && self.digest.is_none() {
            write!(f, ":{DEFAULT_TAG}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parse(value: &str) -> Result<ArtifactRef, Error> {
        ArtifactRef::parse(FIELD, value)
    }

    #[test]
    fn tags_digests_ports_and_nested_repositories() {
        let r = parse("oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests:latest").unwrap();
        assert_eq!(r.registry(), "ghcr.io");
        assert_eq!(r.host(), "ghcr.io");
        assert_eq!(r.repository(), "controlplaneio-fluxcd/flux-operator-manifests");
        assert_eq!(r.tag(), Some("latest"));
        assert_eq!(r.digest(), None);
        assert_eq!(
            r.to_oci().to_string(),
            "ghcr.io/controlplaneio-fluxcd/flux-operator-manifests:latest"
        );

        let r = parse("oci://127.0.0.1:5000/flux-manifests").unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.host(), "127.0.0.1");
        assert_eq!(r.tag(), Some("latest"), "no tag means latest");
        assert_eq!(r.to_string(), "oci://127.0.0.1:5000/flux-manifests:latest");

        let pinned = format!("oci://registry.local:5000/a/b_c/d-e:v2.9.4@sha256:{HEX}");
        let r = parse(&pinned).unwrap();
        assert_eq!(r.tag(), Some("v2.9.4"));
        assert_eq!(r.digest(), Some(format!("sha256:{HEX}").as_str()));
        assert_eq!(r.to_string(), pinned);
        assert_eq!(r.to_oci().digest(), r.digest(), "a digest pins the pull");

        let r = parse(&format!("oci://[::1]:5000/flux@sha256:{HEX}")).unwrap();
        assert_eq!(r.host(), "[::1]");
        assert_eq!(r.tag(), None);
    }

    #[test]
    fn every_error_names_the_field_and_the_value() {
        let cases = [
            ("ghcr.io/flux:latest", "expected oci://"),
            ("https://ghcr.io/flux", "expected oci://"),
            ("oci://ghcr.io", "no repository"),
            ("oci:///flux", "no registry host"),
            ("oci://ghcr.io/", "no repository"),
            ("oci://bad_host/flux", "invalid registry host"),
            ("oci://host:99999/flux", "invalid port"),
            ("oci://host:0/flux", "invalid port"),
            ("oci://ghcr.io/Flux", "invalid repository component \"Flux\""),
            ("oci://ghcr.io/a//b", "invalid repository component \"\""),
            ("oci://ghcr.io/flux:", "invalid tag \"\""),
            ("oci://ghcr.io/flux:-x", "invalid tag"),
            ("oci://ghcr.io/flux@sha256:abc", "invalid digest"),
            ("oci://ghcr.io/flux@md5:abc", "invalid digest"),
            ("oci://ghcr.io/flux x", "invalid repository component"),
        ];
        for (value, expected) in cases {
            let err = parse(value).expect_err(value).to_string();
            assert!(err.starts_with("spec.distribution.artifact: "), "{value}: {err}");
            assert!(err.contains(&format!("{value:?}")), "{value}: {err}");
            assert!(err.contains(expected), "{value}: {err}");
        }
        let err = ArtifactRef::parse("--artifact", "nope").unwrap_err();
        assert!(err.to_string().starts_with("--artifact: "), "{err}");
        assert_eq!(err.reason(), "ArtifactFailed");
    }

    #[test]
    fn huge_values_are_quoted_by_their_start_and_length() {
        let long = "a".repeat(1 << 20);
        for value in [
            format!("oci://{long}"),
            format!("oci://{long}_/flux"),
            format!("oci://ghcr.io/{long}A"),
            format!("oci://ghcr.io/flux:{long}"),
            format!("oci://ghcr.io/flux@sha256:{long}"),
        ] {
            let err = parse(&value).expect_err("invalid").to_string();
            assert!(err.len() < 600, "{} bytes: {}", err.len(), &err[..600]);
            assert!(err.contains(&format!("({} bytes)", value.len())), "{err}");
        }
    }
}
