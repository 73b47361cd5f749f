//! Where a forge's API is, from `spec.url`: GitHub at `https://api.github.com` for
//! github.com, else `<scheme>://<host>/api/v3`; GitLab at `/api/v4` with the project path
//! as one segment; Gitea at `/api/v1`.

use reqwest::Url;
use reqwest::header::{AUTHORIZATION, HeaderName};

use super::Forge;
use crate::controller::provider::fetch::Invalid;
use crate::text::shorten;

/// A repository (GitLab: a project) and its API root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub forge: Forge,
    pub root: Url,
    /// The URL path: `owner/repo`, or GitLab's `group/sub/project`.
    pub path: String,
}

impl Repo {
    pub fn parse(forge: Forge, text: &str) -> Result<Self, Invalid> {
        let invalid = |why: &str| Invalid::Field {
            field: "spec.url",
            why: format!("{:?} {why}", shorten(text)),
        };
        let url = Url::parse(text).map_err(|_| invalid("is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("does not start with http:// or https://"));
        }
        let host = url.host_str().ok_or_else(|| invalid("has no host"))?;
        let segments: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
        let fits = match forge {
            Forge::GitLab => segments.len() >= 2,
            Forge::GitHub | Forge::Gitea => segments.len() == 2,
        };
        if !fits {
            let shape = match forge {
                Forge::GitLab => "must name a project as <group>/<project>",
                _ => "must name a repository as <owner>/<repo>",
            };
            return Err(invalid(shape));
        }
        let origin = match url.port() {
            Some(port) => format!("{}://{host}:{port}", url.scheme()),
            None => format!("{}://{host}", url.scheme()),
        };
        let root = match forge {
            Forge::GitHub if host.eq_ignore_ascii_case("github.com") => "https://api.github.com".to_owned(),
            Forge::GitHub => format!("{origin}/api/v3"),
            Forge::GitLab => format!("{origin}/api/v4"),
            Forge::Gitea => format!("{origin}/api/v1"),
        };
        let root = Url::parse(&root).map_err(|_| invalid("gives no API address"))?;
        let path = segments.iter().map(|s| percent_decode(s)).collect::<Vec<_>>().join("/");
        Ok(Self { forge, root, path })
    }

    /// The path segments of the repository below the API root.
    pub fn segments(&self) -> Vec<&str> {
        match self.forge {
            Forge::GitLab => vec!["projects", self.path.as_str()],
            Forge::GitHub | Forge::Gitea => {
                let mut segments = vec!["repos"];
                segments.extend(self.path.split('/'));
                segments
            }
        }
    }

    /// The URL of `tail` below the repository, with `query` and the page-size parameter.
    pub fn endpoint(&self, http: &super::Http, tail: &[&str], query: &[(&str, &str)]) -> Url {
        let mut segments = self.segments();
        segments.extend_from_slice(tail);
        let size = super::http::PAGE_SIZE.to_string();
        let page_size = match self.forge {
            Forge::Gitea => "limit",
            Forge::GitHub | Forge::GitLab => "per_page",
        };
        let mut all = query.to_vec();
        all.push((page_size, &size));
        http.endpoint(&segments, &all)
    }

    /// The header that carries a token to this forge.
    pub fn auth_header(&self, token: &str) -> (HeaderName, String) {
        match self.forge {
            Forge::GitHub => (AUTHORIZATION, format!("Bearer {token}")),
            Forge::GitLab => (HeaderName::from_static("private-token"), token.to_owned()),
            Forge::Gitea => (AUTHORIZATION, format!("token {token}")),
        }
    }
}

/// `%xx` escapes of a URL path segment decoded (the API encodes the segment again).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(forge: Forge, url: &str) -> Repo {
        Repo::parse(forge, url).expect("parses")
    }

    #[test]
    fn api_roots_follow_the_forge_and_host() {
        let gh = parse(Forge::GitHub, "https://github.com/o/r");
        assert_eq!((gh.root.as_str(), gh.path.as_str()), ("https://api.github.com/", "o/r"));
        let ghe = parse(Forge::GitHub, "http://127.0.0.1:8080/o/r/");
        assert_eq!(ghe.root.as_str(), "http://127.0.0.1:8080/api/v3");
        let gl = parse(Forge::GitLab, "https://user:pw@gitlab.com/group/sub/project");
        assert_eq!(gl.root.as_str(), "https://gitlab.com/api/v4");
        assert_eq!(gl.segments(), ["projects", "group/sub/project"]);
        let gt = parse(Forge::Gitea, "https://gitea.io/o/r%20x");
        assert_eq!(gt.root.as_str(), "https://gitea.io/api/v1");
        assert_eq!(gt.segments(), ["repos", "o", "r x"]);
    }

    #[test]
    fn urls_that_name_no_repository_are_refused() {
        for (forge, url) in [
            (Forge::GitHub, "https://github.com/o"),
            (Forge::GitHub, "https://github.com/o/r/tree"),
            (Forge::GitLab, "https://gitlab.com/project"),
            (Forge::Gitea, "ftp://gitea.io/o/r"),
            (Forge::Gitea, "not a url"),
        ] {
            let err = Repo::parse(forge, url).unwrap_err().to_string();
            assert!(err.starts_with("spec.url: "), "{err}");
        }
    }

    #[test]
    fn tokens_go_in_each_forges_header() {
        let header = |forge, url| parse(forge, url).auth_header("t");
        assert_eq!(
            header(Forge::GitHub, "https://github.com/o/r"),
            (AUTHORIZATION, "Bearer t".into())
        );
        let gitlab = header(Forge::GitLab, "https://gitlab.com/o/r");
        assert_eq!((gitlab.0.as_str(), gitlab.1.as_str()), ("private-token", "t"));
        assert_eq!(
            header(Forge::Gitea, "https://gitea.io/o/r"),
            (AUTHORIZATION, "token t".into())
        );
    }
}
