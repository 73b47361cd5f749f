//! An in-process Git forge for the provider scenarios: GitHub (`/api/v3`), GitLab
//! (`/api/v4`) and Gitea (`/api/v1`) lists served from memory, two items a page, paged as
//! each forge does (`Link`, `X-Next-Page`), refusing requests without the expected token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
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
    /// Every request's path and query, in order.
    requests: Vec<String>,
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

    /// The requests so far, as `path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}

async fn serve(State(state): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let mut forge = state.lock().unwrap();
    let path = uri.path().to_owned();
    let url = Url::parse(&format!("http://fake{uri}")).expect("request URL");
    forge
        .requests
        .push(format!("{path}?{}", uri.query().unwrap_or_default()));
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
