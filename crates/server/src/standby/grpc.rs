//! The front door's gRPC side: Pub/Sub calls and their streams passed on over HTTP/2 to
//! the holder's gRPC port, trailers and all, or answered UNAVAILABLE when no node can take
//! them.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{HeaderValue, header};
use bytes::Bytes;
use forcebus_http::ConnInfo;
use http_body_util::BodyExt as _;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;

use super::{Shared, target};

/// The front door's gRPC side: every call passed on to the holder's gRPC port.
#[derive(Clone)]
pub(crate) struct GrpcForward {
    pub(super) shared: Arc<Shared>,
    pub(super) peer: Option<SocketAddr>,
}

/// A response body from the holder or made here.
type GrpcBody = UnsyncBoxBody<Bytes, hyper::Error>;

impl crate::grpc::PerConnection for GrpcForward {
    type Body = GrpcBody;

    fn for_peer(&self, peer: Option<SocketAddr>) -> Self {
        Self {
            shared: self.shared.clone(),
            peer,
        }
    }
}

impl tower::Service<axum::http::Request<Incoming>> for GrpcForward {
    type Response = axum::http::Response<GrpcBody>;
    type Error = Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Infallible>> + Send>,
    >;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: axum::http::Request<Incoming>) -> Self::Future {
        let shared = self.shared.clone();
        let conn = ConnInfo {
            tls: false,
            peer: self.peer,
        };
        Box::pin(async move {
            let passed = pass_grpc_on(&shared, conn, request).await;
            crate::metrics::forwarded("grpc", passed.is_ok());
            Ok(passed.unwrap_or_else(|unavailable| unavailable))
        })
    }
}

/// The serving node's answer to a gRPC call, or this one's when there is none to pass it to.
async fn pass_grpc_on(
    shared: &Arc<Shared>,
    conn: ConnInfo,
    request: axum::http::Request<Incoming>,
) -> Result<axum::http::Response<GrpcBody>, axum::http::Response<GrpcBody>> {
    let Some(holder) = shared.holder() else {
        return Err(grpc_unavailable("no node serves yet"));
    };
    let (mut parts, body) = request.into_parts();
    if crate::forwarded::believe(&mut parts.headers, Some(&shared.key)).is_some() {
        return Err(grpc_unavailable(
            "the nodes disagree on which of them serves",
        ));
    }
    let Ok(uri) = target(&holder.grpc, &parts.uri) else {
        return Err(grpc_unavailable("the serving node's address is not usable"));
    };
    parts.uri = uri;
    crate::forwarded::mark(&mut parts.headers, &shared.key, conn);
    match shared
        .grpc
        .request(axum::http::Request::from_parts(parts, body))
        .await
    {
        Ok(response) => Ok(response.map(|b| b.boxed_unsync())),
        Err(e) => {
            tracing::debug!(error = %e, holder = %holder.node, "Cannot pass a gRPC call on.");
            Err(grpc_unavailable(
                "the node serving this org cannot be reached",
            ))
        }
    }
}

/// A trailers-only gRPC answer: status 14 (UNAVAILABLE), which clients retry.
fn grpc_unavailable(why: &str) -> axum::http::Response<GrpcBody> {
    let mut response = axum::http::Response::new(
        http_body_util::Empty::<Bytes>::new()
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    headers.insert("grpc-status", HeaderValue::from_static("14"));
    if let Ok(message) = HeaderValue::from_str(&why.replace(' ', "%20")) {
        headers.insert("grpc-message", message);
    }
    response
}
