//! client-go's `rest_client_requests_total`: every request the operator's kube client makes,
//! by status code, method and API server host. A tower layer on the client's stack sees all
//! of them, watches and discovery included.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use prometheus::IntCounterVec;
use tower_layer::Layer;
use tower_service::Service;

/// client-go's code label of a request that got no response.
const NO_RESPONSE: &str = "<error>";

#[derive(Clone)]
pub struct RestMetricsLayer {
    requests: IntCounterVec,
    host: String,
}

impl RestMetricsLayer {
    /// `host` is the API server's `host:port`, as client-go labels it.
    pub(super) fn new(requests: IntCounterVec, host: String) -> Self {
        Self { requests, host }
    }
}

impl<S> Layer<S> for RestMetricsLayer {
    type Service = RestMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RestMetrics {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RestMetrics<S> {
    inner: S,
    layer: RestMetricsLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RestMetrics<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let method = request.method().clone();
        let layer = self.layer.clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            let code = match &response {
                Ok(r) => r.status().as_str().to_owned(),
                Err(_) => NO_RESPONSE.to_owned(),
            };
            layer
                .requests
                .with_label_values(&[code.as_str(), layer.host.as_str(), method.as_str()])
                .inc();
            response
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::Opts;

    /// A service answering every request with the status its path names.
    #[derive(Clone)]
    struct Echo;

    impl Service<Request<()>> for Echo {
        type Response = Response<()>;
        type Error = &'static str;
        type Future = std::future::Ready<Result<Response<()>, &'static str>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: Request<()>) -> Self::Future {
            let result = match request.uri().path().trim_start_matches('/').parse::<u16>() {
                Ok(code) => Ok(Response::builder().status(code).body(()).unwrap()),
                Err(_) => Err("connection refused"),
            };
            std::future::ready(result)
        }
    }

    #[tokio::test]
    async fn counts_by_code_host_and_method() {
        let requests = IntCounterVec::new(Opts::new("r", "r"), &["code", "host", "method"]).unwrap();
        let mut svc = RestMetricsLayer::new(requests.clone(), "10.0.0.1:6443".into()).layer(Echo);
        for (method, path) in [("GET", "/200"), ("GET", "/200"), ("PATCH", "/409"), ("GET", "/down")] {
            let request = Request::builder().method(method).uri(path).body(()).unwrap();
            let _ = svc.call(request).await;
        }
        let count = |code: &str, method: &str| requests.with_label_values(&[code, "10.0.0.1:6443", method]).get();
        assert_eq!(count("200", "GET"), 2);
        assert_eq!(count("409", "PATCH"), 1);
        assert_eq!(count("<error>", "GET"), 1);
        assert_eq!(count("200", "PATCH"), 0);
    }
}
