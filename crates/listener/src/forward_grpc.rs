//! Pub/Sub calls and their streams passed on over HTTP/2 to the gRPC port of the node
//! that serves their org, trailers and all, or answered UNAVAILABLE (which clients retry)
//! when it cannot be reached.

use axum::http::{HeaderValue, header};
use bytes::Bytes;
use forcebus_http::ConnInfo;
use forcebus_store::Holder;
use http_body_util::BodyExt as _;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;

use super::forward::{Forward, target};

/// A gRPC response body from another node or made here.
pub type GrpcBody = UnsyncBoxBody<Bytes, hyper::Error>;

impl Forward {
    /// Passes a gRPC call on to `to`'s gRPC port, for the client of `conn`, the call's
    /// `hops`-th pass (counting this one): `to`'s answer, or (`Err`) UNAVAILABLE when it
    /// cannot be reached.
    pub async fn grpc(
        &self,
        request: axum::http::Request<Incoming>,
        conn: ConnInfo,
        hops: u8,
        to: &Holder,
    ) -> Result<axum::http::Response<GrpcBody>, axum::http::Response<GrpcBody>> {
        let passed = self.pass_grpc_on(request, conn, hops, to).await;
        crate::metrics::forwarded("grpc", passed.is_ok());
        passed
    }

    async fn pass_grpc_on(
        &self,
        request: axum::http::Request<Incoming>,
        conn: ConnInfo,
        hops: u8,
        to: &Holder,
    ) -> Result<axum::http::Response<GrpcBody>, axum::http::Response<GrpcBody>> {
        let (mut parts, body) = request.into_parts();
        let Ok(uri) = target(&to.grpc, &parts.uri) else {
            return Err(grpc_unavailable("the serving node's address is not usable"));
        };
        parts.uri = uri;
        crate::forwarded::mark(&mut parts.headers, &self.key, conn, hops);
        let answered = tokio::select! {
            answered = self.grpc.request(axum::http::Request::from_parts(parts, body)) => answered,
            () = self.until_gone(&to.node) => {
                return Err(grpc_unavailable("the node serving this org stopped answering"));
            }
        };
        match answered {
            Ok(response) => Ok(response.map(|b| b.boxed_unsync())),
            Err(e) => {
                tracing::debug!(error = %e, node = %to.node, "Cannot pass a gRPC call on.");
                Err(grpc_unavailable(
                    "the node serving this org cannot be reached",
                ))
            }
        }
    }
}

/// A trailers-only gRPC answer: status 14 (UNAVAILABLE), which clients retry.
pub fn grpc_unavailable(why: &str) -> axum::http::Response<GrpcBody> {
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
