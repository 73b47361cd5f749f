//! `spec.sync.url` and `spec.sync.ref`, which become a Flux source's address and reference,
//! and `spec.distribution.registry`, which prefixes every controller image: the forms the
//! Flux source kinds and image references take, so that a typo is named at build time
//! rather than by the API server or by source-controller later.

use std::sync::LazyLock;

use regex::Regex;

use super::{invalid, re};
use crate::api::{SyncKind, SyncSpec};
use crate::build::Error;
use crate::text::shorten;

/// Far above any real repository address.
pub const URL_MAX: usize = 2048;
/// Far above any real branch, tag or bucket name.
pub const REF_MAX: usize = 1024;
/// An image name is at most 255 characters (the image reference grammar's limit); the
/// registry leaves room for `/image-automation-controller`.
pub const REGISTRY_MAX: usize = 255 - "/image-automation-controller".len();

/// `host[:port]`: DNS name, IPv4 or bracketed IPv6, in any case (URLs' hosts are).
static HOST_PORT: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$"));
/// A registry: lower-case host[:port], then lower-case path components as image names have.
static REGISTRY: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$"));

/// Neither whitespace nor control characters, and not longer than `max`.
fn check_text(field: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.is_empty() {
        return Err(invalid(format!("{field} must not be empty")));
    }
    if value.len() > max {
        return Err(invalid(format!(
            "{field} {:?} is longer than {max} characters",
            shorten(value)
        )));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(format!(
            "{field} {:?} must not contain whitespace or control characters",
            shorten(value)
        )));
    }
    Ok(())
}

/// The host of `scheme://[user@]host[:port][/path]` for one of `schemes`.
fn url_host<'a>(value: &'a str, schemes: &[&str]) -> Option<&'a str> {
    let (scheme, rest) = value.split_once("://")?;
    if !schemes.contains(&scheme) {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    HOST_PORT.is_match(host).then_some(host)
}

fn sync_url(kind: SyncKind, url: &str) -> Result<(), Error> {
    check_text("spec.sync.url", url, URL_MAX)?;
    let (ok, expected) = match kind {
        SyncKind::GitRepository => (
            url_host(url, &["http", "https", "ssh"]).is_some(),
            "an http://, https:// or ssh:// URL with a host, as GitRepository takes \
             (for git@host:path write ssh://git@host/path)",
        ),
        SyncKind::OCIRepository => (
            url_host(url, &["oci"]).is_some(),
            "an oci:// URL with a registry host, as OCIRepository takes",
        ),
        SyncKind::Bucket => (
            HOST_PORT.is_match(url) || url_host(url, &["http", "https"]).is_some(),
            "a host[:port] endpoint (or an http(s):// URL, as for Azure), as Bucket takes",
        ),
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(format!("spec.sync.url {:?} is not {expected}", shorten(url))))
    }
}

pub fn sync(sync: &SyncSpec) -> Result<(), Error> {
    sync_url(sync.kind, &sync.url)?;
    check_text("spec.sync.ref", &sync.ref_, REF_MAX)
}

pub fn registry(registry: &str) -> Result<(), Error> {
    let field = "spec.distribution.registry";
    check_text(field, registry, REGISTRY_MAX)?;
    if registry.contains("://") {
        return Err(invalid(format!(
            "{field} {:?} must not contain a scheme, e.g. ghcr.io/fluxcd",
            shorten(registry)
        )));
    }
    if !REGISTRY.is_match(registry.trim_end_matches('/')) {
        return Err(invalid(format!(
            "{field} {:?} is not a valid image repository prefix: lower-case host[:port][/path], e.g. ghcr.io/fluxcd",
            shorten(registry)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries() {
        for ok in [
            "ghcr.io/fluxcd",
            "fluxcd",
            "localhost:5000/flux",
            "my.registry/a/b-c",
            "ghcr.io/fluxcd/",
            "ghcr.io/controlplaneio-fluxcd/distroless-fips",
            "127.0.0.1:5000/a__b",
        ] {
            assert!(registry(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ghcr.io/flux cd",
            "https://ghcr.io/fluxcd",
            "ghcr.io/FluxCD",
            "GHCR.io/fluxcd",
            "ghcr.io//x",
            "-a/b",
            "ghcr.io/fluxcd\n",
            &format!("ghcr.io/{}", "a".repeat(REGISTRY_MAX)),
        ] {
            assert!(registry(bad).is_err(), "{bad}");
        }
        let e = registry(&"A".repeat(10 << 20)).expect_err("huge");
        assert!(e.to_string().len() < 200, "{e}");
    }

    #[test]
    fn sync_urls_per_kind() {
        let git = SyncKind::GitRepository;
        let oci = SyncKind::OCIRepository;
        let bucket = SyncKind::Bucket;
        for (kind, ok) in [
            (git, "https://github.com/example/fleet.git"),
            (git, "http://gitea.example.com:3000/a/b"),
            (git, "ssh://git@github.com/c5c3/c5c3-gitops.git"),
            (git, "ssh://git@[fd00::1]:2222/repo"),
            (git, "https://user@dev.azure.com/org/project/_git/repo"),
            (oci, "oci://ghcr.io/example/fleet"),
            (oci, "oci://localhost:5000/fleet"),
            (bucket, "s3.amazonaws.com"),
            (bucket, "minio.example.com:9000"),
            (bucket, "10.0.0.1:9000"),
            (bucket, "https://account.blob.core.windows.net"),
        ] {
            assert!(sync_url(kind, ok).is_ok(), "{kind:?} {ok}");
        }
        for (kind, bad) in [
            (git, "git@github.com:example/fleet.git"),
            (git, "https://github.com/a\nb"),
            (git, "https://"),
            (git, "ftp://example.com/a"),
            (git, "oci://ghcr.io/a"),
            (oci, "ghcr.io/example/fleet"),
            (oci, "https://ghcr.io/example/fleet"),
            (bucket, "s3.amazonaws.com/bucket path"),
            (bucket, "oci://x"),
            (bucket, ""),
            (git, "https://github.com/a b"),
            (git, "https://github.com/\u{7}"),
        ] {
            assert!(sync_url(kind, bad).is_err(), "{kind:?} {bad:?}");
        }
        let e = sync_url(git, "git@github.com:example/fleet.git").expect_err("scp-like");
        assert!(e.to_string().contains("ssh://git@host/path"), "{e}");
    }

    #[test]
    fn long_values_are_refused_with_a_short_message() {
        let e = sync_url(SyncKind::GitRepository, &format!("https://x/{}", "a".repeat(10 << 20))).expect_err("long");
        assert!(e.to_string().len() < 200, "{e}");
        let e = check_text("spec.sync.ref", &"r".repeat(REF_MAX + 1), REF_MAX).expect_err("long");
        assert!(e.to_string().contains("longer than 1024"), "{e}");
        assert!(check_text("spec.sync.ref", "refs/heads/main", REF_MAX).is_ok());
        assert!(check_text("spec.sync.ref", "main\u{0}", REF_MAX).is_err());
    }
}
