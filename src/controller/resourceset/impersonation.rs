//! A client that acts as a ServiceAccount (SPEC-resourceset §11.6 step 7): the operator's
//! own client with `Impersonate-User: system:serviceaccount:<ns>:<name>` on every
//! request, so that a set applies only what its ServiceAccount may.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use kube::Client;
use kube::client::Body;

/// `client` acting as the ServiceAccount `name` of `namespace`; None when the names
/// cannot make a header (the API server refuses such names anyway).
pub fn as_service_account(client: &Client, namespace: &str, name: &str) -> Option<Client> {
    let user = HeaderValue::from_str(&format!("system:serviceaccount:{namespace}:{name}")).ok()?;
    let service = Impersonating {
        inner: client.clone(),
        user,
    };
    Some(Client::new(service, namespace))
}

/// `client` acting as a user that has no rights at all.
pub fn nobody(client: &Client) -> Client {
    let service = Impersonating {
        inner: client.clone(),
        user: HeaderValue::from_static("system:serviceaccount:invalid:invalid"),
    };
    Client::new(service, "default")
}

#[derive(Clone)]
struct Impersonating {
    inner: Client,
    user: HeaderValue,
}

impl tower_service::Service<Request<Body>> for Impersonating {
    type Response = Response<Body>;
    type Error = kube::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, kube::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The inner client queues requests itself.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        request.headers_mut().insert("Impersonate-User", self.user.clone());
        let inner = self.inner.clone();
        Box::pin(async move { inner.send(request).await })
    }
}
