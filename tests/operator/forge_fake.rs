//! An in-process Git forge for the provider scenarios: GitHub (`/api/v3`), GitLab
//! (`/api/v4`) and Gitea (`/api/v1`) lists served from memory, two items a page, paged as
//! each forge does (`Link`, `X-Next-Page`), refusing requests without the expected token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use serde_json::{Value, json};

/// Items a page.
const PAGE: usize = 2;

#[derive(Default)]
struct Forge {
    /// Raw request path (percent-encoded as sent) → the whole list.
    lists: HashMap<String, Vec<Value>>,
    /// API prefix (`/api/v3`) → the header and value a request must carry.
    tokens: HashMap<String, (String, String)>,
    /// Paths answered with HTTP 500.
    broken: Vec<String>,
    /// A GitHub App: its id, its installation's id and owner, and the token it grants.
    app: Option<App>,
    /// Every request's path and query, in order.
    requests: Vec<String>,
}

#[derive(Clone)]
struct App {
    id: u64,
    installation: u64,
    owner: String,
    token: String,
}

type Shared = Arc<Mutex<Forge>>;

pub struct FakeForge {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    state: Shared,
}

impl FakeForge {
    pub async fn start() -> FakeForge {
        let state: Shared = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let app = axum::Router::new().fallback(serve).with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeForge { base, state }
    }

    /// Serves `items` (a JSON list) at `path`.
    pub fn set(&self, path: &str, items: Value) {
        let items = items.as_array().cloned().expect("a list");
        self.state.lock().unwrap().lists.insert(path.to_owned(), items);
    }

    /// Requests below `prefix` must carry `header: value`.
    pub fn require(&self, prefix: &str, header: &str, value: &str) {
        let token = (header.to_ascii_lowercase(), value.to_owned());
        self.state.lock().unwrap().tokens.insert(prefix.to_owned(), token);
    }

    /// `path` answers HTTP 500.
    pub fn break_path(&self, path: &str) {
        self.state.lock().unwrap().broken.push(path.to_owned());
    }

    /// A GitHub App `id` installed for `owner`, whose installation token is `token`.
    pub fn app(&self, id: u64, installation: u64, owner: &str, token: &str) {
        let app = App {
            id,
            installation,
            owner: owner.to_owned(),
            token: token.to_owned(),
        };
        self.state.lock().unwrap().app = Some(app);
    }

    /// The requests so far, as `path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}

async fn serve(State(state): State<Shared>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let mut forge = state.lock().unwrap();
    let path = uri.path().to_owned();
    let url = Url::parse(&format!("http://fake{uri}")).expect("request URL");
    forge
        .requests
        .push(format!("{path}?{}", uri.query().unwrap_or_default()));
    if let Some(app_path) = path.strip_prefix("/api/v3/app/") {
        return app(forge.app.clone(), &method, app_path, &headers);
    }
    let prefix = path.get(..7).unwrap_or_default();
    if let Some((header, value)) = forge.tokens.get(prefix) {
        let sent = headers.get(header.as_str()).and_then(|v| v.to_str().ok());
        if sent != Some(value.as_str()) {
            return answer(StatusCode::UNAUTHORIZED, json!({"message": "Bad credentials"}));
        }
    }
    if forge.broken.contains(&path) {
        return answer(StatusCode::INTERNAL_SERVER_ERROR, json!({"message": "boom"}));
    }
    if path == "/api/v1/version" {
        return answer(StatusCode::OK, json!({"version": "1.23.0"}));
    }
    let Some(all) = forge.lists.get(&path) else {
        return answer(StatusCode::NOT_FOUND, json!({"message": "404 Not Found"}));
    };
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    let items: Vec<&Value> = all.iter().filter(|item| server_side(item, &query)).collect();
    let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let chunk: Vec<&Value> = items.chunks(PAGE).nth(page - 1).unwrap_or_default().to_vec();
    let mut response = answer(StatusCode::OK, json!(chunk));
    let more = page * PAGE < items.len();
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or_default();
    let mut next = Url::parse(&format!("http://{host}{path}")).expect("next URL");
    let headers = response.headers_mut();
    if prefix == "/api/v4" {
        let next = if more { (page + 1).to_string() } else { String::new() };
        headers.insert("x-next-page", HeaderValue::from_str(&next).unwrap());
    } else if more {
        let others: Vec<(String, String)> = query.into_iter().filter(|(k, _)| k != "page").collect();
        next.query_pairs_mut()
            .clear()
            .extend_pairs(others)
            .append_pair("page", &(page + 1).to_string());
        let link = format!("<{next}>; rel=\"next\", <{next}>; rel=\"last\"");
        headers.insert("link", HeaderValue::from_str(&link).unwrap());
    }
    response
}

/// The App endpoints: the caller must present a JWT whose issuer is the App (its signature
/// is checked by the unit tests of the signer, not here).
fn app(app: Option<App>, method: &Method, path: &str, headers: &HeaderMap) -> Response {
    let Some(app) = app else {
        return answer(StatusCode::NOT_FOUND, json!({"message": "Not Found"}));
    };
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let claims = bearer
        .and_then(|jwt| jwt.split('.').nth(1))
        .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok());
    let claims: Value = claims.and_then(|c| serde_json::from_slice(&c).ok()).unwrap_or_default();
    if claims["iss"] != app.id {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"message": "A JSON web token could not be decoded"}),
        );
    }
    if path.starts_with("installations") && path.ends_with("/access_tokens") {
        if path != format!("installations/{}/access_tokens", app.installation) || method != Method::POST {
            return answer(StatusCode::NOT_FOUND, json!({"message": "Not Found"}));
        }
        return answer(
            StatusCode::CREATED,
            json!({"token": app.token, "expires_at": "2099-01-01T00:00:00Z"}),
        );
    }
    let installations = json!([{"id": app.installation + 1, "account": {"login": "someone-else"}},
        {"id": app.installation, "account": {"login": app.owner}}]);
    answer(StatusCode::OK, installations)
}

/// GitLab's server-side filters: all `labels`, the deployments of one `environment`.
fn server_side(item: &Value, query: &HashMap<String, String>) -> bool {
    let labels_ok = query.get("labels").is_none_or(|wanted| {
        let have = item["labels"].as_array().cloned().unwrap_or_default();
        wanted.split(',').all(|w| have.iter().any(|h| h == w))
    });
    let environment_ok = query
        .get("environment")
        .is_none_or(|name| item["environment"]["name"] == name.as_str());
    labels_ok && environment_ok
}

fn answer(status: StatusCode, body: Value) -> Response {
    let headers = [("content-type", "application/json")];
    (status, headers, body.to_string()).into_response()
}
