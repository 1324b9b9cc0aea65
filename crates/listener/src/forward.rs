//! Passing a request on to the node that serves its org, so a client behind a plain load
//! balancer may reach any node: REST, OAuth, SOAP, Bulk and the Streaming API's long polls
//! over HTTP/1.1, bodies streamed both ways, the client's `Host` kept (the URLs the
//! serving node hands out point back where the client connected); Pub/Sub calls and their
//! streams over HTTP/2 to the serving node's gRPC port, trailers and all
//! ([`super::forward_grpc`]). What this node says of the client travels with the
//! cluster's key ([`crate::forwarded`]).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use forcebus_http::ConnInfo;
use forcebus_store::Holder;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::forwarded::PassedOn;

/// How long reaching another node may take before the request is answered 503.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The connections to the other nodes, and the key this node shows them.
pub struct Forward {
    pub(super) key: Arc<str>,
    http: Client<HttpConnector, Body>,
    pub(super) grpc: Client<HttpConnector, Incoming>,
    /// The live nodes, as this node last read them.
    live: Live,
}

/// The ids of the live nodes, renewed at every round of this node's.
pub type Live = tokio::sync::watch::Receiver<Arc<std::collections::HashSet<String>>>;

/// Resolves once a round of this node's finds `node` no longer live (killed, paused past
/// its lease): a request passed on to it is answered 503 then rather than waiting on it
/// for ever.
pub(super) async fn gone(mut live: Live, node: String) {
    // Only what rounds find from now on.
    live.borrow_and_update();
    loop {
        if live.changed().await.is_err() {
            return std::future::pending().await;
        }
        if !live.borrow().contains(&node) {
            return;
        }
    }
}

impl std::fmt::Debug for Forward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forward").finish_non_exhaustive()
    }
}

impl Forward {
    /// Passing requests on with `key`, given up on when a node is found dead in `live`.
    pub fn new(key: Arc<str>, live: Live) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        // A long poll to a machine that vanished is noticed by the kernel's probes.
        connector.set_keepalive(Some(Duration::from_secs(15)));
        let http = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .build(connector.clone());
        let grpc = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .http2_only(true)
            .http2_keep_alive_interval(Duration::from_secs(10))
            .http2_keep_alive_timeout(Duration::from_secs(10))
            .http2_keep_alive_while_idle(true)
            .build(connector);
        Self {
            key,
            http,
            grpc,
            live,
        }
    }

    /// Resolves once `node` is found dead.
    pub(super) fn until_gone(&self, node: &str) -> impl std::future::Future<Output = ()> + use<> {
        gone(self.live.clone(), node.to_owned())
    }

    /// The key the nodes share.
    pub fn key(&self) -> &Arc<str> {
        &self.key
    }

    /// Passes an HTTP request on to `to`, as the client sent it: `to`'s answer, or
    /// (`Err`) 503 when it cannot be reached.
    pub async fn http(&self, request: Request, to: &Holder) -> Result<Response, Response> {
        let passed = self.pass_on(request, to).await;
        crate::metrics::forwarded("http", passed.is_ok());
        passed
    }

    async fn pass_on(&self, request: Request, to: &Holder) -> Result<Response, Response> {
        let hops = request.extensions().get::<PassedOn>().map_or(0, |p| p.hops);
        let conn = request
            .extensions()
            .get::<ConnInfo>()
            .copied()
            .unwrap_or_default();
        let (mut parts, body) = request.into_parts();
        let Ok(uri) = target(&to.http, &parts.uri) else {
            return Err(unavailable("the serving node's address is not usable"));
        };
        if !parts.headers.contains_key(header::HOST)
            && let Some(authority) = parts.uri.authority()
            && let Ok(host) = HeaderValue::from_str(authority.as_str())
        {
            parts.headers.insert(header::HOST, host);
        }
        parts.uri = uri;
        parts.version = axum::http::Version::HTTP_11;
        drop_hop_by_hop(&mut parts.headers);
        crate::forwarded::mark(&mut parts.headers, &self.key, conn, hops + 1);
        let answered = tokio::select! {
            answered = self.http.request(Request::from_parts(parts, body)) => answered,
            () = self.until_gone(&to.node) => {
                return Err(unavailable("the node serving this org stopped answering"));
            }
        };
        match answered {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                drop_hop_by_hop(&mut parts.headers);
                Ok(Response::from_parts(parts, Body::new(body)))
            }
            Err(e) => {
                tracing::debug!(error = %e, node = %to.node, "Cannot pass a request on.");
                Err(unavailable("the node serving this org cannot be reached"))
            }
        }
    }

    /// Calls `to` itself (this node asks it something): its status and body.
    pub async fn call(
        &self,
        to: &Holder,
        method: Method,
        path: &str,
        bearer: &str,
        body: bytes::Bytes,
    ) -> Result<(StatusCode, bytes::Bytes), String> {
        let uri = target(&to.http, &path.parse::<Uri>().map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, to.http.as_str())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
            .body(Body::from(body))
            .map_err(|e| e.to_string())?;
        crate::forwarded::mark(request.headers_mut(), &self.key, ConnInfo::default(), 1);
        let answered = tokio::select! {
            answered = tokio::time::timeout(CALL_TIMEOUT, self.http.request(request)) => answered,
            () = self.until_gone(&to.node) => return Err(format!("{} stopped answering", to.node)),
        };
        let response = answered
            .map_err(|_| format!("{} did not answer in time", to.node))?
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body))
    }
}

/// Longest a call this node makes of another may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// Salesforce's answer while no node can take the request.
pub fn unavailable(why: &str) -> Response {
    let entry = forcebus_http::error::ErrorEntry {
        message: format!("The server is unavailable: {why}. Try again shortly."),
        error_code: "SERVER_UNAVAILABLE",
        fields: None,
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(&[entry]).unwrap_or_default(),
    )
        .into_response()
}

/// The same answer to a Streaming API request: a plain-text body. Bayeux clients read any
/// JSON body as the server's replies whatever its status (faye, aiocometd), and would wait
/// for ever for the reply to the connect they sent; a body that is not JSON they take as
/// the transport failing, and retry: the connect, which the org's next node answers
/// `403::Unknown client`, then a handshake and their subscriptions again.
pub fn unavailable_to_bayeux(why: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("The server is unavailable: {why}. Try again shortly."),
    )
        .into_response()
}

/// `uri`'s path and query on `address`.
pub(super) fn target(address: &str, uri: &Uri) -> Result<Uri, axum::http::Error> {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    Uri::builder()
        .scheme("http")
        .authority(address)
        .path_and_query(path)
        .build()
}

/// Removes the headers that belong to one connection, not to the request.
fn drop_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect();
    for name in named {
        headers.remove(name.as_str());
    }
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_stay_behind() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, X-Secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("3"));
        drop_hop_by_hop(&mut h);
        let left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(left, ["content-type", "content-length"]);
    }

    #[test]
    fn the_target_keeps_path_and_query() {
        let uri: Uri = "/services/data/v68.0/query?q=SELECT+Id+FROM+Account"
            .parse()
            .unwrap();
        assert_eq!(
            target("10.0.0.2:8080", &uri).unwrap().to_string(),
            "http://10.0.0.2:8080/services/data/v68.0/query?q=SELECT+Id+FROM+Account"
        );
        let absolute: Uri = "http://lb.example:80/x".parse().unwrap();
        assert_eq!(
            target("[::1]:9", &absolute).unwrap().to_string(),
            "http://[::1]:9/x"
        );
        assert!(target("not an address", &uri).is_err());
    }
}
