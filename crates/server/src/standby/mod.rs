//! A standby's front door. While another node holds the database's lease
//! ([`crate::cluster`]), a standby listens on its own ports and passes every request on
//! to the holder, at the addresses of the holder's last heartbeat: REST, OAuth, SOAP, Bulk
//! and the Streaming API's long polls over HTTP/1.1, bodies streamed both ways; Pub/Sub
//! calls and their streams over HTTP/2 to the holder's gRPC port, trailers and all. So a
//! client behind a plain load balancer may reach any node. What it says of the client
//! travels with the cluster's key ([`crate::forwarded`]). `/forcebus/health` and
//! `/forcebus/ready` are answered here: ready while a node holds the lease.
//!
//! When the lease becomes this node's, the listeners go to the server being built
//! ([`Standby::hand_over`]); connections still open on the front door finish what they
//! carry and close, and their clients reconnect to the server itself. A standby on the
//! same ports as the holder (one machine, the ports taken) cannot listen: it waits without
//! listening and binds them once they are free.
//!
//! Layout: here the front door and its HTTP/1.1 side; `grpc`: its gRPC side.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use forcebus_http::ConnInfo;
use forcebus_store::Holder;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ServeTimes;

mod grpc;

use grpc::GrpcForward;

/// How long reaching the holder may take before the request is answered 503.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A node waiting for the lease, and its front door once it listens.
pub(crate) struct Standby {
    listen: (SocketAddr, SocketAddr),
    /// The host other nodes reach this one at, for ports bound on every address.
    host: String,
    tls: (Arc<rustls::ServerConfig>, Arc<rustls::ServerConfig>),
    times: ServeTimes,
    shared: Arc<Shared>,
    front: Option<Front>,
    said_busy: bool,
}

/// What the front door's connections share.
struct Shared {
    key: Arc<str>,
    /// The node that gets the requests: the lease's holder, then this node itself once
    /// the lease is its own.
    holder: RwLock<Option<Holder>>,
    /// Where this standby listens (HTTP, gRPC), as the holder would be found there: a
    /// holder at these addresses is gone (its ports are this node's now) and is not
    /// passed anything, or the requests would come back here for ever.
    own: RwLock<Option<(String, String)>>,
    http: Client<HttpConnector, Body>,
    grpc: Client<HttpConnector, Incoming>,
}

/// The front door's two listeners, running.
struct Front {
    stop: watch::Sender<bool>,
    http: JoinHandle<TcpListener>,
    grpc: JoinHandle<TcpListener>,
    addresses: (String, String),
}

impl Standby {
    /// A standby for `listen` (HTTP, gRPC), showing `key` on what it passes on.
    pub(crate) fn new(
        listen: (SocketAddr, SocketAddr),
        host: String,
        tls: (Arc<rustls::ServerConfig>, Arc<rustls::ServerConfig>),
        times: ServeTimes,
        key: Arc<str>,
    ) -> Self {
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
            listen,
            host,
            tls,
            times,
            shared: Arc::new(Shared {
                key,
                holder: RwLock::new(None),
                own: RwLock::new(None),
                http,
                grpc,
            }),
            front: None,
            said_busy: false,
        }
    }

    /// Where this node serves HTTP and gRPC, as other nodes reach it: the bound ports
    /// once it listens, else the configured ones.
    pub(crate) fn addresses(&self) -> (String, String) {
        match &self.front {
            Some(front) => front.addresses.clone(),
            None => (self.listen.0.to_string(), self.listen.1.to_string()),
        }
    }

    /// One round of waiting: learns which node holds the lease (and so gets the
    /// requests), and listens if it does not yet and the ports are free.
    pub(crate) async fn round(&mut self, holder: Option<Holder>) {
        let changed = *self.shared.holder.read().unwrap_or_else(|p| p.into_inner()) != holder;
        if changed {
            match &holder {
                Some(h) => tracing::info!(
                    holder = %h.node,
                    http = %h.http,
                    grpc = %h.grpc,
                    "Standing by: requests go on to the node that holds the database's lease."
                ),
                None => tracing::info!(
                    "No node holds the database's lease: requests are answered 503 until one does."
                ),
            }
            *self
                .shared
                .holder
                .write()
                .unwrap_or_else(|p| p.into_inner()) = holder;
        }
        if self.front.is_none() {
            self.listen().await;
        }
    }

    async fn listen(&mut self) {
        let bound = async {
            let http = TcpListener::bind(self.listen.0).await?;
            let grpc = TcpListener::bind(self.listen.1).await?;
            std::io::Result::Ok((http, grpc))
        };
        let (http, grpc) = match bound.await {
            Ok(both) => both,
            Err(e) => {
                if !self.said_busy {
                    tracing::info!(error = %e, "Cannot listen yet (the serving node's ports on this machine?): standing by without listening until they are free.");
                    self.said_busy = true;
                }
                return;
            }
        };
        let addresses = match (http.local_addr(), grpc.local_addr()) {
            (Ok(h), Ok(g)) => (
                crate::advertise::advertised(h, &self.host),
                crate::advertise::advertised(g, &self.host),
            ),
            _ => return,
        };
        tracing::info!(http = %addresses.0, grpc = %addresses.1, "Listening as a standby.");
        *self.shared.own.write().unwrap_or_else(|p| p.into_inner()) = Some(addresses.clone());
        let (stop, stopped) = watch::channel(false);
        let times = self.times;
        let router = router(self.shared.clone());
        let key = self.shared.key.clone();
        let tls = self.tls.0.clone();
        let http_stopped = stopped.clone();
        let http = tokio::spawn(async move {
            let (listener, draining) = crate::listener::serve(
                http,
                tls,
                router,
                http_stopped,
                times.shutdown_grace,
                times.request_body_timeout,
                Some(key),
            )
            .await;
            tokio::spawn(draining.finish());
            listener
        });
        let service = GrpcForward {
            shared: self.shared.clone(),
            peer: None,
        };
        let tls = self.tls.1.clone();
        let grace = self.times.shutdown_grace;
        let grpc = tokio::spawn(async move {
            let (listener, draining) = crate::grpc::serve(grpc, tls, service, stopped, grace).await;
            tokio::spawn(draining.finish());
            listener
        });
        self.front = Some(Front {
            stop,
            http,
            grpc,
            addresses,
        });
    }

    /// The lease is this node's (`own`: where it serves): the front door stops taking
    /// connections and hands its listeners over; connections it has open pass their
    /// requests on to this node from now on.
    pub(crate) async fn hand_over(self, own: Holder) -> Option<(TcpListener, TcpListener)> {
        *self
            .shared
            .holder
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(own);
        let front = self.front?;
        let _ = front.stop.send(true);
        match (front.http.await, front.grpc.await) {
            (Ok(http), Ok(grpc)) => Some((http, grpc)),
            _ => None,
        }
    }
}

impl Shared {
    /// The node to pass requests on to: none while nobody holds the lease, or while the
    /// holder last said it serves where this standby now listens (it is gone).
    fn holder(&self) -> Option<Holder> {
        let holder = self
            .holder
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()?;
        let own = self.own.read().unwrap_or_else(|p| p.into_inner());
        match &*own {
            Some((http, grpc)) if *http == holder.http || *grpc == holder.grpc => None,
            _ => Some(holder),
        }
    }
}

/// The front door's HTTP side: health and readiness here, everything else on.
fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/forcebus/health", get(health))
        .route("/forcebus/ready", get(ready))
        .route("/metrics", get(crate::metrics::serve_standby))
        .fallback(forward)
        .with_state(shared)
}

async fn health() -> Response {
    json(
        StatusCode::OK,
        r#"{"status":"ok","role":"standby"}"#.to_owned(),
    )
}

/// Ready while a node holds the lease: requests reach it through this one.
async fn ready(State(shared): State<Arc<Shared>>) -> Response {
    match shared.holder() {
        Some(h) => json(
            StatusCode::OK,
            serde_json::json!({"status": "ready", "role": "standby", "forwardingTo": h.node})
                .to_string(),
        ),
        None => json(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"status":"unavailable","role":"standby"}"#.to_owned(),
        ),
    }
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Salesforce's answer while no node can take the request.
fn unavailable(why: &str) -> Response {
    let body = serde_json::json!([{
        "message": format!("The server is unavailable: {why}. Try again shortly."),
        "errorCode": "SERVER_UNAVAILABLE",
    }]);
    json(StatusCode::SERVICE_UNAVAILABLE, body.to_string())
}

/// Passes an HTTP request on to the holder, as the client sent it (its `Host` too, so the
/// URLs the holder hands out point back here).
async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let passed = pass_on(&shared, request).await;
    crate::metrics::forwarded("http", passed.is_ok());
    passed.unwrap_or_else(|unavailable| unavailable)
}

/// The serving node's answer, or this one's when there is none to pass the request to.
async fn pass_on(shared: &Arc<Shared>, request: Request) -> Result<Response, Response> {
    if request
        .extensions()
        .get::<crate::forwarded::PassedOn>()
        .is_some()
    {
        // Another node passed it here, believing this one serves: never round again.
        return Err(unavailable(
            "the nodes disagree on which of them serves (a takeover is under way)",
        ));
    }
    let Some(holder) = shared.holder() else {
        return Err(unavailable("no node serves yet (a takeover is under way)"));
    };
    let conn = request
        .extensions()
        .get::<ConnInfo>()
        .copied()
        .unwrap_or_default();
    let (mut parts, body) = request.into_parts();
    let Ok(uri) = target(&holder.http, &parts.uri) else {
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
    crate::forwarded::mark(&mut parts.headers, &shared.key, conn);
    match shared.http.request(Request::from_parts(parts, body)).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            drop_hop_by_hop(&mut parts.headers);
            Ok(Response::from_parts(parts, Body::new(body)))
        }
        Err(e) => {
            tracing::debug!(error = %e, holder = %holder.node, "Cannot pass a request on.");
            Err(unavailable("the node serving this org cannot be reached"))
        }
    }
}

/// `uri`'s path and query on `address`.
fn target(address: &str, uri: &Uri) -> Result<Uri, axum::http::Error> {
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
