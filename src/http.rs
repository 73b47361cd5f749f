//! The metrics endpoint and the health probes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::metrics::Metrics;

/// `:8080` means every interface, as in Go.
pub fn socket_addr(addr: &str) -> String {
    if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_owned()
    }
}

pub async fn bind(addr: &str) -> Result<TcpListener, String> {
    let addr = socket_addr(addr);
    TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))
}

pub async fn serve_metrics(listener: TcpListener, metrics: Arc<Metrics>) {
    let app = Router::new()
        .route(
            "/metrics",
            get(|State(m): State<Arc<Metrics>>| async move { m.encode() }),
        )
        .with_state(metrics);
    if let Err(error) = axum::serve(listener, app).await {
        tracing::error!(%error, "metrics server");
    }
}

/// `/healthz` answers while the process runs; `/readyz` once the operator has started
/// (as leader, or as a standby waiting for the Lease).
pub async fn serve_probes(listener: TcpListener, ready: Arc<AtomicBool>) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(ready): State<Arc<AtomicBool>>| async move {
                if ready.load(Ordering::Relaxed) {
                    (StatusCode::OK, "ok")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "starting")
                }
            }),
        )
        .with_state(ready);
    if let Err(error) = axum::serve(listener, app).await {
        tracing::error!(%error, "probe server");
    }
}
