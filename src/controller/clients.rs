//! The operator's two Kubernetes clients. Calls get a timeout each, so that an API server
//! that accepts a connection and never answers fails the call instead of holding a worker
//! (and the leader's Lease renewal) forever. Watches cannot have a read timeout: a watch of
//! objects that do not change is silent for minutes; kube's watcher guards them with its
//! own idle timeout (the server's watch timeout plus a margin) instead.

use std::time::Duration;

use kube::client::ClientBuilder;
use kube::{Client, Config};

use super::error::RunError;
use crate::metrics::Metrics;

/// The limits of one API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallTimeouts {
    pub connect: Duration,
    /// Without a byte of the answer for this long, the call fails. A large list is
    /// answered in many reads, each within it.
    pub read: Duration,
    pub write: Duration,
}

impl Default for CallTimeouts {
    /// Far above any answer of a healthy API server (a server-side apply of a CRD takes
    /// well under a second) and below controller-runtime's 30 s renew deadline share.
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(30),
            write: Duration::from_secs(30),
        }
    }
}

/// The client for calls and the client for watches, both counted in
/// `rest_client_requests_total`.
pub struct Clients {
    pub call: Client,
    pub watch: Client,
}

impl Clients {
    pub fn new(config: Config, timeouts: CallTimeouts, metrics: &Metrics) -> Result<Self, RunError> {
        let host = config
            .cluster_url
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let layer = metrics.rest_layer(host);
        let watch_config = config.clone();
        let call = ClientBuilder::try_from(with_timeouts(config, timeouts))
            .map_err(RunError::Client)?
            .with_layer(&layer)
            .build();
        let watch = ClientBuilder::try_from(watch_config)
            .map_err(RunError::Client)?
            .with_layer(&layer)
            .build();
        Ok(Self { call, watch })
    }
}

/// `config` with a timeout on each call; the read timeout counts from when the request
/// was sent, not from when its pooled connection went idle.
pub fn with_timeouts(mut config: Config, timeouts: CallTimeouts) -> Config {
    config.connect_timeout = Some(timeouts.connect);
    config.read_timeout = Some(timeouts.read);
    config.write_timeout = Some(timeouts.write);
    config.reset_reader_on_write = true;
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An API server that accepts connections and never answers: the call must fail
    /// within its read timeout, not hang.
    #[tokio::test]
    async fn a_call_to_a_silent_server_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url: http::Uri = format!("http://{}", listener.local_addr().expect("addr"))
            .parse()
            .expect("url");
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        let timeouts = CallTimeouts {
            read: Duration::from_millis(500),
            ..CallTimeouts::default()
        };
        let client = Client::try_from(with_timeouts(Config::new(url), timeouts)).expect("client");
        let request = http::Request::get("/version").body(Vec::new()).expect("request");
        let started = std::time::Instant::now();
        let outcome = tokio::time::timeout(Duration::from_secs(10), client.request_text(request)).await;
        held.abort();
        let result = outcome.expect("the call hung past its read timeout");
        assert!(result.is_err(), "a silent server cannot answer: {result:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    }
}
