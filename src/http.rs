//! The metrics endpoint and the health probes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::metrics::Metrics;

/// Binds `addr`. `:8080` means every interface of both IP families, as in Go: an IPv6
/// socket that also takes IPv4 (so probes work on IPv4, IPv6 and dual-stack clusters), or
/// IPv4 alone where the machine has no IPv6.
pub async fn bind(addr: &str) -> Result<TcpListener, ListenError> {
    let io = |source| ListenError::Io {
        addr: addr.to_owned(),
        source,
    };
    let Some(port) = addr.strip_prefix(':') else {
        return TcpListener::bind(addr).await.map_err(io);
    };
    let port: u16 = port.parse().map_err(|_| ListenError::Port {
        addr: addr.to_owned(),
        port: port.to_owned(),
    })?;
    match dual_stack(port) {
        Ok(listener) => Ok(listener),
        Err(_) => TcpListener::bind(("0.0.0.0", port)).await.map_err(io),
    }
}

/// A listener that cannot be opened; the message names the address.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("cannot listen on {addr}: {source}")]
    Io {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {port:?} is not a port")]
    Port { addr: String, port: String },
}

fn dual_stack(port: u16) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV6, Type::STREAM, None)?;
    socket.set_only_v6(false)?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    let any = std::net::SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port));
    socket.bind(&any.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_port_alone_listens_on_ipv4_and_ipv6() {
        let listener = bind(":0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accept = tokio::spawn(async move {
            for _ in 0..2 {
                listener.accept().await.unwrap();
            }
        });
        tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        tokio::net::TcpStream::connect(("::1", port)).await.unwrap();
        accept.await.unwrap();
    }

    #[tokio::test]
    async fn a_bad_address_is_named() {
        let err = bind(":http").await.unwrap_err().to_string();
        assert!(err.contains(":http"), "{err}");
    }
}
