//! HTTP for the forges: one client per call with the provider's TLS settings and token,
//! bodies read up to 10 MiB, and lists followed page by page through `Link` (GitHub,
//! Gitea) or `X-Next-Page` (GitLab) within one origin.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;

use crate::controller::provider::fetch::USER_AGENT;
use crate::distribution::artifact::chain;
use crate::text::shorten;

/// Items asked per page.
pub const PAGE_SIZE: usize = 100;
/// Pages followed at most for one list.
pub const MAX_PAGES: usize = 1000;
/// Bytes read at most from one response.
pub const MAX_BODY: usize = 10 << 20;

/// Why a forge could not be asked or its answer not used.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// `request` is the method and URL.
    #[error("{request}: {message}")]
    Request { request: String, message: String },
    #[error("{request}: HTTP {status}{detail}")]
    Status {
        request: String,
        status: u16,
        detail: String,
    },
    #[error("{request}: the response is larger than {} MiB", MAX_BODY >> 20)]
    TooLarge { request: String },
    #[error("{request}: unexpected answer: {source}")]
    Decode {
        request: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("GET {url}: {why}")]
    Paging { url: String, why: String },
    #[error("more than {MAX_PAGES} pages from {url}")]
    TooManyPages { url: String },
    #[error("{0}")]
    Setup(String),
}

/// How a list says where its next page is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paging {
    /// `Link: <url>; rel="next"`.
    Link,
    /// `X-Next-Page: <number>`, empty on the last page.
    NextPage,
}

/// A client bound to one API root: it sends the token only there.
pub struct Http {
    client: reqwest::Client,
    root: Url,
    auth: Option<(HeaderName, HeaderValue)>,
}

/// TLS material from `spec.certSecretRef`.
#[derive(Default)]
pub struct Tls {
    pub roots: Vec<reqwest::Certificate>,
    pub identity: Option<reqwest::Identity>,
}

impl Http {
    /// `auth` is the header that carries the token, already formatted.
    /// `timeout` bounds each request (the caller bounds the whole call too).
    pub fn new(root: Url, auth: Option<(HeaderName, String)>, tls: Tls, timeout: Duration) -> Result<Self, ForgeError> {
        crate::tls::install_crypto_provider();
        let setup =
            |e: &dyn std::error::Error| ForgeError::Setup(format!("cannot set up the HTTP client: {}", chain(e)));
        let origin = root.origin();
        // Custom headers such as GitLab's PRIVATE-TOKEN survive reqwest's cross-host
        // redirects, so redirects stay within the API's origin.
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 10 || attempt.url().origin() != origin {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::Client::builder()
            .tls_certs_merge(tls.roots)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .redirect(policy)
            .user_agent(USER_AGENT);
        if let Some(identity) = tls.identity {
            builder = builder.identity(identity);
        }
        let client = builder.build().map_err(|e| setup(&e))?;
        let auth = match auth {
            Some((name, token)) => {
                let mut value = HeaderValue::from_str(&token)
                    .map_err(|_| ForgeError::Setup("the token is not a valid HTTP header value".to_owned()))?;
                value.set_sensitive(true);
                Some((name, value))
            }
            None => None,
        };
        Ok(Self { client, root, auth })
    }

    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The URL of `segments` below the API root, each segment percent-encoded whole.
    pub fn endpoint<S: AsRef<str>>(&self, segments: &[S], query: &[(&str, &str)]) -> Url {
        let mut url = self.root.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments.iter().map(AsRef::as_ref));
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// One JSON document.
    pub async fn get_json<T: DeserializeOwned>(&self, url: &Url) -> Result<T, ForgeError> {
        let (body, _) = self.get(url).await?;
        decode("GET", url, &body)
    }

    /// The JSON answer of a POST without a body.
    pub async fn post_json<T: DeserializeOwned>(&self, url: &Url) -> Result<T, ForgeError> {
        let (body, _) = self.send(reqwest::Method::POST, url).await?;
        decode("POST", url, &body)
    }

    /// Every item of a paged list.
    pub async fn get_all<T: DeserializeOwned>(&self, first: Url, paging: Paging) -> Result<Vec<T>, ForgeError> {
        let mut pages = Pages::new(first, paging);
        let mut items = Vec::new();
        while let Some(page) = pages.next(self).await? {
            items.extend(page);
        }
        Ok(items)
    }

    async fn get(&self, url: &Url) -> Result<(Vec<u8>, HeaderMap), ForgeError> {
        self.send(reqwest::Method::GET, url).await
    }

    async fn send(&self, method: reqwest::Method, url: &Url) -> Result<(Vec<u8>, HeaderMap), ForgeError> {
        let shown = format!("{method} {}", shown(url));
        let mut request = self
            .client
            .request(method, url.clone())
            .header("Accept", "application/json");
        if let Some((name, value)) = &self.auth {
            request = request.header(name.clone(), value.clone());
        }
        let mut response = request.send().await.map_err(|e| ForgeError::Request {
            request: shown.clone(),
            message: chain(&e),
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_bounded(&mut response, &shown).await?;
        if !status.is_success() {
            return Err(ForgeError::Status {
                request: shown,
                status: status.as_u16(),
                detail: detail(&body),
            });
        }
        Ok((body, headers))
    }
}

/// A paged list read one page at a time; a page seen twice or a next page in another
/// origin ends it with an error.
pub struct Pages {
    next: Option<Url>,
    paging: Paging,
    seen: HashSet<String>,
}

impl Pages {
    pub fn new(first: Url, paging: Paging) -> Self {
        Self {
            next: Some(first),
            paging,
            seen: HashSet::new(),
        }
    }

    pub async fn next<T: DeserializeOwned>(&mut self, http: &Http) -> Result<Option<Vec<T>>, ForgeError> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        if self.seen.len() >= MAX_PAGES {
            return Err(ForgeError::TooManyPages { url: shown(&url) });
        }
        if !self.seen.insert(url.to_string()) {
            let why = "the next page is one already read".to_owned();
            return Err(ForgeError::Paging { url: shown(&url), why });
        }
        let (body, headers) = http.get(&url).await?;
        let items = decode("GET", &url, &body)?;
        let next = match self.paging {
            Paging::Link => link_next(&headers, &url),
            Paging::NextPage => next_page(&headers, &url),
        };
        let paging_error = |why: String| ForgeError::Paging { url: shown(&url), why };
        self.next = next.map_err(paging_error)?;
        if let Some(next) = &self.next
            && next.origin() != http.root.origin()
        {
            return Err(paging_error(format!(
                "the next page {} is on another server",
                shown(next)
            )));
        }
        Ok(Some(items))
    }
}

/// The `rel="next"` target of a `Link` header, resolved against the page's URL.
fn link_next(headers: &HeaderMap, url: &Url) -> Result<Option<Url>, String> {
    for value in headers.get_all("link") {
        let text = value.to_str().map_err(|_| "the Link header is not text".to_owned())?;
        for link in text.split(',') {
            let Some((target, params)) = link.trim().strip_prefix('<').and_then(|l| l.split_once('>')) else {
                continue;
            };
            let is_next = params.split(';').any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            if is_next {
                let next = url
                    .join(target)
                    .map_err(|e| format!("bad next link {:?}: {e}", shorten(target)))?;
                return Ok(Some(next));
            }
        }
    }
    Ok(None)
}

/// The URL of the page `X-Next-Page` names, `None` when it is absent or empty.
fn next_page(headers: &HeaderMap, url: &Url) -> Result<Option<Url>, String> {
    let Some(value) = headers.get("x-next-page") else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text.is_empty() {
        return Ok(None);
    }
    let page: u32 = text
        .parse()
        .map_err(|_| format!("X-Next-Page {:?} is not a page number", shorten(text)))?;
    let others: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut next = url.clone();
    next.query_pairs_mut()
        .clear()
        .extend_pairs(others)
        .append_pair("page", &page.to_string());
    Ok(Some(next))
}

async fn read_bounded(response: &mut reqwest::Response, request: &str) -> Result<Vec<u8>, ForgeError> {
    let too_large = || ForgeError::TooLarge {
        request: request.to_owned(),
    };
    if response.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| ForgeError::Request {
        request: request.to_owned(),
        message: format!("reading the response: {}", chain(&e)),
    })? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn decode<T: DeserializeOwned>(method: &str, url: &Url, body: &[u8]) -> Result<T, ForgeError> {
    serde_json::from_slice(body).map_err(|source| ForgeError::Decode {
        request: format!("{method} {}", shown(url)),
        source,
    })
}

/// What an error answer says: the forges' JSON `message`, else the start of the text.
fn detail(body: &[u8]) -> String {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let message = json
        .as_ref()
        .and_then(|v| v.get("message").or_else(|| v.get("error")))
        .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned));
    let text = message.unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    if text.is_empty() {
        String::new()
    } else {
        format!(": {}", shorten(&text))
    }
}

/// A URL as messages show it: without user info.
fn shown(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(name, HeaderValue::from_str(value).unwrap());
        map
    }

    #[test]
    fn the_next_link_is_found_among_others() {
        let url = Url::parse("https://h/api/v3/repos/o/r/tags?per_page=100").unwrap();
        let link = "<https://h/api/v3/repos/o/r/tags?page=1>; rel=\"prev\", <https://h/api/v3/repos/o/r/tags?page=3>; rel=\"next\"";
        let next = link_next(&headers("link", link), &url).unwrap();
        assert_eq!(next.unwrap().as_str(), "https://h/api/v3/repos/o/r/tags?page=3");
        let last = "<https://h/x?page=1>; rel=\"first\"";
        assert_eq!(link_next(&headers("link", last), &url).unwrap(), None);
        let relative = link_next(&headers("link", "</api/v1/x?page=2>; rel=next"), &url).unwrap();
        assert_eq!(relative.unwrap().as_str(), "https://h/api/v1/x?page=2");
    }

    #[test]
    fn the_next_page_number_replaces_the_page_parameter() {
        let url = Url::parse("https://h/api/v4/x?per_page=100&page=1").unwrap();
        let next = next_page(&headers("x-next-page", "2"), &url).unwrap().unwrap();
        assert_eq!(next.as_str(), "https://h/api/v4/x?per_page=100&page=2");
        assert_eq!(next_page(&headers("x-next-page", ""), &url).unwrap(), None);
        assert_eq!(next_page(&HeaderMap::new(), &url).unwrap(), None);
        let err = next_page(&headers("x-next-page", "two"), &url).unwrap_err();
        assert_eq!(err, "X-Next-Page \"two\" is not a page number");
    }

    #[test]
    fn error_answers_show_their_message() {
        assert_eq!(detail(br#"{"message": "Bad credentials"}"#), ": Bad credentials");
        assert_eq!(detail(b"  oops \n"), ": oops");
        assert_eq!(detail(b""), "");
        assert!(detail("x".repeat(10_000).as_bytes()).ends_with("(10000 bytes)"));
    }

    #[test]
    fn endpoints_encode_each_segment_whole() {
        let http = Http::new(
            Url::parse("https://git.example/api/v4").unwrap(),
            None,
            Tls::default(),
            Duration::from_secs(5),
        )
        .unwrap();
        let url = http.endpoint(
            &["projects", "group/sub/repo", "merge_requests"],
            &[("state", "opened")],
        );
        assert_eq!(
            url.as_str(),
            "https://git.example/api/v4/projects/group%2Fsub%2Frepo/merge_requests?state=opened"
        );
        let github = Http::new(
            Url::parse("https://api.github.com").unwrap(),
            None,
            Tls::default(),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(
            github.endpoint(&["repos", "o", "r"], &[]).as_str(),
            "https://api.github.com/repos/o/r"
        );
        let shown = shown(&Url::parse("https://u:p@h/x").unwrap());
        assert_eq!(shown, "https://h/x");
    }
}

#[cfg(test)]
#[path = "http_paging_tests.rs"]
mod paging_tests;
