//! GitHub App authentication: a JWT signed with the App's RSA key (RS256) buys an
//! installation token, which then authenticates as `Bearer`. The installation is given by
//! id, or found by its account's login among the App's installations.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use reqwest::header::AUTHORIZATION;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use serde::Deserialize;
use serde_json::json;

use super::http::{ForgeError, Http, Paging, Tls};

pub const APP_ID: &str = "githubAppID";
pub const PRIVATE_KEY: &str = "githubAppPrivateKey";
pub const INSTALLATION_ID: &str = "githubAppInstallationID";
pub const INSTALLATION_OWNER: &str = "githubAppInstallationOwner";
pub const BASE_URL: &str = "githubAppBaseURL";

/// A GitHub App's credentials from a Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    id: String,
    private_key: String,
    installation: Installation,
    base_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Installation {
    Id(String),
    Owner(String),
}

impl App {
    /// The App of a Secret's (trimmed) values, `None` when it has no `githubApp*` key.
    pub fn from_values(values: &BTreeMap<String, String>) -> Result<Option<Self>, String> {
        if !values.keys().any(|k| k.starts_with("githubApp")) {
            return Ok(None);
        }
        let get = |key: &str| values.get(key).filter(|v| !v.is_empty()).cloned();
        let id = get(APP_ID).ok_or(format!("no '{APP_ID}' key"))?;
        let private_key = get(PRIVATE_KEY).ok_or(format!("no '{PRIVATE_KEY}' key"))?;
        let installation = match (get(INSTALLATION_ID), get(INSTALLATION_OWNER)) {
            (Some(id), None) => Installation::Id(id),
            (None, Some(owner)) => Installation::Owner(owner),
            _ => {
                return Err(format!(
                    "exactly one of '{INSTALLATION_ID}' and '{INSTALLATION_OWNER}' is needed"
                ));
            }
        };
        let base_url = get(BASE_URL);
        Ok(Some(Self {
            id,
            private_key,
            installation,
            base_url,
        }))
    }

    /// An installation token, asked of `githubAppBaseURL` or else of `api_root`.
    pub async fn token(&self, api_root: &Url, tls: Tls, timeout: Duration) -> Result<String, ForgeError> {
        let refuse = |why: String| ForgeError::Setup(format!("GitHub App: {why}"));
        let root = match &self.base_url {
            Some(base) => Url::parse(base).map_err(|_| refuse(format!("'{BASE_URL}' is not a URL")))?,
            None => api_root.clone(),
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let jwt = jwt(&self.id, &self.private_key, now).map_err(refuse)?;
        let http = Http::new(root, Some((AUTHORIZATION, format!("Bearer {jwt}"))), tls, timeout)?;
        let installation = match &self.installation {
            Installation::Id(id) => id.clone(),
            Installation::Owner(owner) => find_installation(&http, owner).await?,
        };
        let url = http.endpoint(&["app", "installations", &installation, "access_tokens"], &[]);
        let answer: AccessToken = http.post_json(&url).await?;
        Ok(answer.token)
    }
}

#[derive(Deserialize)]
struct AccessToken {
    token: String,
}

#[derive(Deserialize)]
struct AppInstallation {
    id: u64,
    account: Option<Account>,
}

#[derive(Deserialize)]
struct Account {
    login: String,
}

async fn find_installation(http: &Http, owner: &str) -> Result<String, ForgeError> {
    let url = http.endpoint(&["app", "installations"], &[("per_page", "100")]);
    let installations: Vec<AppInstallation> = http.get_all(url, Paging::Link).await?;
    installations
        .iter()
        .find(|i| i.account.as_ref().is_some_and(|a| a.login.eq_ignore_ascii_case(owner)))
        .map(|i| i.id.to_string())
        .ok_or_else(|| ForgeError::Setup(format!("GitHub App: no installation for the owner '{owner}'")))
}

/// The App's JWT: issued a minute ago (clock drift), valid nine minutes more, signed RS256.
fn jwt(app_id: &str, pem: &str, now: u64) -> Result<String, String> {
    let key = PrivateKeyDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| format!("'{PRIVATE_KEY}' is not a PEM private key: {e}"))?;
    let pair = match &key {
        PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
        PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
        _ => return Err(format!("'{PRIVATE_KEY}' is not an RSA key")),
    }
    .map_err(|e| format!("'{PRIVATE_KEY}' is not a usable RSA key: {e}"))?;
    // The App ID is a number; newer Apps may be identified by their client ID instead.
    let issuer = app_id.parse::<u64>().map_or_else(|_| json!(app_id), |n| json!(n));
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "typ": "JWT"}).to_string());
    let claims = json!({"iat": now.saturating_sub(60), "exp": now + 540, "iss": issuer});
    let message = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut signature = vec![0; pair.public().modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        message.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "signing the JWT failed".to_owned())?;
    Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn app_keys_need_an_id_a_key_and_one_installation() {
        assert_eq!(App::from_values(&values(&[("username", "u")])), Ok(None));
        let app = App::from_values(&values(&[(APP_ID, "1"), (PRIVATE_KEY, "k"), (INSTALLATION_OWNER, "o")]));
        assert!(matches!(
            app,
            Ok(Some(App {
                installation: Installation::Owner(_),
                ..
            }))
        ));
        let both = values(&[
            (APP_ID, "1"),
            (PRIVATE_KEY, "k"),
            (INSTALLATION_ID, "2"),
            (INSTALLATION_OWNER, "o"),
        ]);
        assert!(App::from_values(&both).unwrap_err().contains("exactly one of"));
        let no_key = values(&[(APP_ID, "1"), (INSTALLATION_ID, "2")]);
        assert_eq!(App::from_values(&no_key).unwrap_err(), "no 'githubAppPrivateKey' key");
    }

    /// An RSA key from the openssl command, as PKCS#8 or with `-traditional` as PKCS#1.
    fn rsa_key(traditional: bool) -> String {
        let mut args = vec!["genrsa"];
        if traditional {
            args.push("-traditional");
        }
        args.push("2048");
        let out = std::process::Command::new("openssl")
            .args(&args)
            .output()
            .expect("openssl");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("PEM")
    }

    #[test]
    fn the_jwt_is_signed_rs256_by_the_apps_key() {
        for (traditional, marker) in [(true, "RSA PRIVATE KEY"), (false, "BEGIN PRIVATE KEY")] {
            let pem = rsa_key(traditional);
            assert!(pem.contains(marker), "{pem}");
            let token = jwt("42", &pem, 1000).expect("signed");
            let (message, signature) = token.rsplit_once('.').expect("three parts");
            let (header, claims) = message.split_once('.').expect("three parts");
            let decode = |part: &str| -> serde_json::Value {
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
            };
            assert_eq!(decode(header), json!({"alg": "RS256", "typ": "JWT"}));
            assert_eq!(decode(claims), json!({"iat": 940, "exp": 1540, "iss": 42}));
            let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap();
            let pair = match &der {
                PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()).unwrap(),
                PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()).unwrap(),
                _ => panic!("not RSA"),
            };
            let public = ring::signature::UnparsedPublicKey::new(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                pair.public().as_ref(),
            );
            let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
            public.verify(message.as_bytes(), &signature).expect("verifies");
            let tampered = message.replace('e', "f");
            assert!(public.verify(tampered.as_bytes(), &signature).is_err());
        }
        let client_id = jwt("Iv1.abc", &rsa_key(true), 1000).unwrap();
        let claims = client_id.split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        assert_eq!(claims["iss"], "Iv1.abc");
    }

    #[test]
    fn a_key_that_is_not_rsa_pem_is_refused() {
        let err = jwt("1", "not a key", 0).unwrap_err();
        assert!(
            err.starts_with("'githubAppPrivateKey' is not a PEM private key"),
            "{err}"
        );
    }
}
