//! Registry credentials from a docker config JSON (a `kubernetes.io/dockerconfigjson`
//! Secret's `.dockerconfigjson`, the legacy `.dockercfg`, or `~/.docker/config.json`).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use oci_client::secrets::RegistryAuth;
use serde_json::Value;

use crate::text::shorten;

/// `--creds` (or a docker config's decoded `auth`) without a user before a ':'.
#[derive(Debug, thiserror::Error)]
#[error("expected USER:PASSWORD")]
pub struct NotUserPassword;

/// Why a docker config yields no credentials. `key` is the entry's key as written, shortened
/// when shown; no variant carries a secret, which is why the base64 error is dropped (it
/// quotes the offending byte).
#[derive(Debug, thiserror::Error)]
pub enum DockerConfigError {
    #[error("not a docker config JSON document: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("not a docker config JSON document: expected an object")]
    NotAnObject,
    #[error("\"auths\" is not an object")]
    AuthsNotAnObject,
    #[error("the entry for {:?} is not an object", shorten(key))]
    EntryNotAnObject { key: String },
    #[error("the \"auth\" of {:?} is not base64", shorten(key))]
    AuthNotBase64 { key: String },
    #[error("the \"auth\" of {:?} is not UTF-8", shorten(key))]
    AuthNotUtf8 { key: String },
    #[error("the \"auth\" of {:?} does not decode to USER:PASSWORD", shorten(key))]
    AuthNotUserPassword { key: String },
    #[error(
        "the entry for {:?} has only an identitytoken (an OAuth refresh token), which is not supported: use a \
         username and password or a registrytoken",
        shorten(key)
    )]
    IdentityTokenOnly { key: String },
    #[error(
        "the entry for {:?} has no credentials (expected auth, username and password, or registrytoken)",
        shorten(key)
    )]
    NoCredentials { key: String },
}

/// How to authenticate to a registry. Debug output never shows a secret.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Credentials {
    #[default]
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
    /// A registry token (`registrytoken` in a docker config).
    Bearer(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Anonymous => write!(f, "Anonymous"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Credentials::Bearer(_) => write!(f, "Bearer(***)"),
        }
    }
}

impl Credentials {
    /// `USER:PASSWORD`, as `--creds` takes it (the password may contain ':').
    pub fn from_user_password(text: &str) -> Result<Self, NotUserPassword> {
        match text.split_once(':') {
            Some((user, password)) if !user.is_empty() => Ok(Credentials::Basic {
                username: user.to_owned(),
                password: password.to_owned(),
            }),
            _ => Err(NotUserPassword),
        }
    }

    pub(crate) fn to_registry_auth(&self) -> RegistryAuth {
        match self {
            Credentials::Anonymous => RegistryAuth::Anonymous,
            Credentials::Basic { username, password } => RegistryAuth::Basic(username.clone(), password.clone()),
            Credentials::Bearer(token) => RegistryAuth::Bearer(token.clone()),
        }
    }
}

/// The credentials a docker config holds for `registry` (`host[:port]`). `Ok(None)` when
/// the config has no entry for it; errors describe the document, never a secret.
pub fn from_docker_config(json: &[u8], registry: &str) -> Result<Option<Credentials>, DockerConfigError> {
    let doc: Value = serde_json::from_slice(json).map_err(DockerConfigError::NotJson)?;
    let Some(root) = doc.as_object() else {
        return Err(DockerConfigError::NotAnObject);
    };
    // `.dockerconfigjson` nests the entries under "auths"; the legacy `.dockercfg` does not.
    let auths = match root.get("auths") {
        Some(Value::Object(auths)) => auths,
        Some(_) => return Err(DockerConfigError::AuthsNotAnObject),
        None => root,
    };
    let wanted = normalize(registry);
    let Some((key, entry)) = auths.iter().find(|(key, _)| same_registry(&normalize(key), &wanted)) else {
        return Ok(None);
    };
    let key = key.clone();
    let Some(entry) = entry.as_object() else {
        return Err(DockerConfigError::EntryNotAnObject { key });
    };
    let text = |name: &str| entry.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
    if let Some(token) = text("registrytoken") {
        return Ok(Some(Credentials::Bearer(token.to_owned())));
    }
    if let (Some(username), Some(password)) = (text("username"), text("password")) {
        return Ok(Some(Credentials::Basic {
            username: username.to_owned(),
            password: password.to_owned(),
        }));
    }
    if let Some(auth) = text("auth") {
        let Ok(decoded) = STANDARD.decode(auth.trim()) else {
            return Err(DockerConfigError::AuthNotBase64 { key });
        };
        let Ok(decoded) = String::from_utf8(decoded) else {
            return Err(DockerConfigError::AuthNotUtf8 { key });
        };
        return Credentials::from_user_password(&decoded)
            .map(Some)
            .map_err(|NotUserPassword| DockerConfigError::AuthNotUserPassword { key });
    }
    if text("identitytoken").is_some() {
        return Err(DockerConfigError::IdentityTokenOnly { key });
    }
    Err(DockerConfigError::NoCredentials { key })
}

/// The registries a docker config has entries for, to tell the user which ones exist.
pub fn registries_in(json: &[u8]) -> Vec<String> {
    let Ok(doc) = serde_json::from_slice::<Value>(json) else {
        return Vec::new();
    };
    let auths = doc.get("auths").unwrap_or(&doc);
    let mut names: Vec<String> = auths
        .as_object()
        .map(|m| m.keys().map(|k| normalize(k)).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// `https://host:port/v1/` -> `host:port`, lowercased.
fn normalize(key: &str) -> String {
    let key = key.trim();
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key).to_ascii_lowercase()
}

/// Docker Hub answers to several names.
fn same_registry(a: &str, b: &str) -> bool {
    const HUB: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];
    a == b || (HUB.contains(&a) && HUB.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> Credentials {
        Credentials::Basic {
            username: user.into(),
            password: password.into(),
        }
    }

    #[test]
    fn dockerconfigjson_auth_and_username_password() {
        let auth = STANDARD.encode("flux:s3cr:et");
        let json = format!(
            r#"{{"auths": {{"https://127.0.0.1:5000/v1/": {{"auth": "{auth}"}},
                             "ghcr.io": {{"username": "u", "password": "p", "auth": "ignored"}}}}}}"#
        );
        assert_eq!(
            from_docker_config(json.as_bytes(), "127.0.0.1:5000").unwrap(),
            Some(basic("flux", "s3cr:et"))
        );
        assert_eq!(
            from_docker_config(json.as_bytes(), "GHCR.io").unwrap(),
            Some(basic("u", "p"))
        );
        assert_eq!(from_docker_config(json.as_bytes(), "127.0.0.1:5001").unwrap(), None);
        assert_eq!(registries_in(json.as_bytes()), ["127.0.0.1:5000", "ghcr.io"]);
    }

    #[test]
    fn legacy_dockercfg_docker_hub_aliases_and_tokens() {
        let json = r#"{"https://index.docker.io/v1/": {"registrytoken": "tok"}}"#;
        assert_eq!(
            from_docker_config(json.as_bytes(), "docker.io").unwrap(),
            Some(Credentials::Bearer("tok".into()))
        );
    }

    #[test]
    fn bad_documents_are_described_without_secrets() {
        let cases: [(&str, &str); 6] = [
            ("not json", "not a docker config JSON document"),
            ("[]", "expected an object"),
            (r#"{"auths": []}"#, "\"auths\" is not an object"),
            (r#"{"auths": {"r": {"auth": "%%%"}}}"#, "is not base64"),
            (r#"{"auths": {"r": {"identitytoken": "x"}}}"#, "identitytoken"),
            (r#"{"auths": {"r": {"email": "a@b"}}}"#, "has no credentials"),
        ];
        for (json, expected) in cases {
            let err = from_docker_config(json.as_bytes(), "r").expect_err(json);
            let err = err.to_string();
            assert!(err.contains(expected), "{json}: {err}");
            assert!(!err.contains("%%%"), "{err}");
        }
        let no_colon = format!(
            r#"{{"auths": {{"r": {{"auth": "{}"}}}}}}"#,
            STANDARD.encode("secretonly")
        );
        let err = from_docker_config(no_colon.as_bytes(), "r").unwrap_err().to_string();
        assert!(err.contains("USER:PASSWORD") && !err.contains("secretonly"), "{err}");
    }

    #[test]
    fn debug_hides_secrets() {
        assert_eq!(format!("{:?}", basic("u", "hunter2")), "Basic(u, ***)");
        assert!(Credentials::from_user_password("nocolon").is_err());
        assert!(Credentials::from_user_password(":p").is_err());
    }
}
