//! [`Pages`] and the body bound against a small server on loopback whose answers each
//! test chooses: where the next page is, and how large a body is.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::*;

/// What the server answers to a request for `uri`, given its own base URL.
type Answer = Arc<dyn Fn(&str, &Uri) -> Response + Send + Sync>;

/// A server on loopback answering with `answer`; its base URL.
async fn server(answer: Answer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let own = base.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let answer = answer.clone();
        let own = own.clone();
        async move { answer(&own, &uri) }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

fn json_page(items: &str, headers: &[(&str, String)]) -> Response {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(
            reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    (StatusCode::OK, map, items.to_owned()).into_response()
}

fn client(base: &str) -> Http {
    Http::new(Url::parse(base).unwrap(), None, Tls::default(), Duration::from_secs(5)).unwrap()
}

async fn list(base: &str, path: &str, paging: Paging) -> Result<Vec<u32>, ForgeError> {
    let http = client(base);
    http.get_all(Url::parse(&format!("{base}{path}")).unwrap(), paging)
        .await
}

#[tokio::test]
async fn link_pages_are_followed_until_there_is_no_next() {
    let base = server(Arc::new(|own, uri| match uri.query() {
        None => json_page("[1, 2]", &[("link", format!("<{own}/x?page=2>; rel=\"next\""))]),
        Some(_) => json_page("[3]", &[]),
    }))
    .await;
    assert_eq!(list(&base, "/x", Paging::Link).await.unwrap(), [1, 2, 3]);
}

#[tokio::test]
async fn a_page_seen_twice_is_an_error() {
    let base = server(Arc::new(|own, _| {
        json_page("[1]", &[("link", format!("<{own}/x?page=2>; rel=\"next\""))])
    }))
    .await;
    let err = list(&base, "/x", Paging::Link).await.unwrap_err().to_string();
    assert!(err.ends_with("/x?page=2: the next page is one already read"), "{err}");
    let base = server(Arc::new(|_, _| json_page("[1]", &[("x-next-page", "2".to_owned())]))).await;
    let err = list(&base, "/x?per_page=100", Paging::NextPage)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("the next page is one already read"), "{err}");
}

#[tokio::test]
async fn next_pages_stay_on_the_api_server() {
    let base = server(Arc::new(|_, _| {
        json_page(
            "[1]",
            &[("link", "<http://127.0.0.2:1/x?page=2>; rel=\"next\"".to_owned())],
        )
    }))
    .await;
    let err = list(&base, "/x", Paging::Link).await.unwrap_err().to_string();
    assert!(
        err.contains("the next page http://127.0.0.2:1/x?page=2 is on another server"),
        "{err}"
    );
}

#[tokio::test]
async fn bodies_past_the_bound_are_refused() {
    let base = server(Arc::new(|_, uri| {
        // A stream without Content-Length, so that the bound is met while reading.
        let size = if uri.path() == "/large" { MAX_BODY + 1 } else { MAX_BODY };
        let body = format!("[{}]", " ".repeat(size - 2));
        let chunks = futures::stream::iter(
            body.into_bytes()
                .chunks(64 << 10)
                .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                .collect::<Vec<_>>(),
        );
        axum::body::Body::from_stream(chunks).into_response()
    }))
    .await;
    assert_eq!(list(&base, "/exact", Paging::Link).await.unwrap(), Vec::<u32>::new());
    let err = list(&base, "/large", Paging::Link).await.unwrap_err().to_string();
    assert!(err.ends_with("/large: the response is larger than 10 MiB"), "{err}");
}

#[tokio::test]
async fn error_statuses_and_bad_json_name_the_request() {
    let base = server(Arc::new(|_, uri| match uri.path() {
        "/missing" => (StatusCode::NOT_FOUND, r#"{"message": "Not Found"}"#).into_response(),
        _ => json_page(r#"{"not": "a list"}"#, &[]),
    }))
    .await;
    let err = list(&base, "/missing", Paging::Link).await.unwrap_err().to_string();
    assert_eq!(err, format!("GET {base}/missing: HTTP 404: Not Found"));
    let err = list(&base, "/object", Paging::Link).await.unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("GET {base}/object: unexpected answer: ")),
        "{err}"
    );
}
