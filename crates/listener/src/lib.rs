//! The server's front door: one HTTP port, plain HTTP and TLS, told apart by the first
//! byte (0x16 opens a TLS handshake), the gRPC port, and the passing of a request on to
//! the node of the cluster that serves its org.
//!
//! A plain connection starts on the lean path ([`lean`]), which serves plain HTTP/1.1
//! requests itself and hands the connection to hyper at any other (`HEAD`, a chunked or
//! large body, HTTP/1.0); a TLS connection is hyper's ([`served`]). Both serve requests
//! with the axum router they are given (a Streaming API request on the lean path with the
//! [`StreamingApi`] handler, when there is one); on shutdown the listener stops accepting and
//! in-flight requests get a grace period. A request another node passed on carries what
//! that node says of the client ([`forwarded`]), believed with the cluster's key only.
//!
//! - [`lean`]: plain connections while their requests are plain HTTP/1.1 ones.
//! - [`served`]: what connections serve requests with, and hyper's connection.
//! - [`spelling`]: response header names as Salesforce writes them, on both paths.
//! - [`deadline`]: the deadline on reading a request body.
//! - [`grpc`]: the gRPC listener (TLS and plaintext HTTP/2).
//! - [`tls`]: certificate generation and the rustls configuration.
//! - [`forwarded`]: what a node passing a request on says of the client.
//! - [`forward`], [`forward_grpc`]: passing HTTP requests and gRPC calls on to another node.
//! - [`metrics`]: the connections and forwarded requests this crate counts.
//!
//! It knows nothing of orgs: the router it serves and the node a request goes to are its
//! caller's (the host's) answers.

mod deadline;
pub mod forward;
pub mod forward_grpc;
pub mod forwarded;
pub mod grpc;
mod lean;
pub mod metrics;
mod served;
mod spelling;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use forcebus_http::ConnInfo;

use served::{Drain, Serving, connection};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a listener serves requests with: the router, and optionally a handler that
/// takes the lean path's Streaming API requests straight from it.
#[derive(Clone)]
pub struct Handlers {
    /// Every request (hyper's, and the lean path's when there is no `streaming_api`).
    pub router: Router,
    /// A plain connection's Streaming API request (`/cometd/…`) whose body came whole.
    pub streaming_api: Option<Arc<dyn StreamingApi>>,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handlers")
            .field("streaming_api", &self.streaming_api.is_some())
            .finish_non_exhaustive()
    }
}

/// Serves the lean path's Streaming API requests without the router's layers: a long
/// poll is most of a busy server's requests, and taking each one through the routers and
/// the middleware cost 14% of the server's CPU a delivery at 10k/s (docs/performance.md). The
/// request comes with its connection facts in its extensions, as the router's do; the
/// handler answers it whole (a connect's wait included), or passes it to the router.
pub trait StreamingApi: Send + Sync + 'static {
    /// The response to `request`.
    fn call(
        &self,
        request: axum::http::Request<bytes::Bytes>,
    ) -> std::pin::Pin<Box<dyn Future<Output = axum::response::Response> + Send>>;
}

/// How a request's body is bounded: the time it may take to arrive once the head has,
/// and the largest a handler takes (`max_body_bytes`).
#[derive(Debug, Clone, Copy)]
pub struct BodyBounds {
    /// How long a body may take once the head has arrived.
    pub timeout: Duration,
    /// The largest body a handler takes.
    pub max: usize,
}

/// Accepts connections until `shutdown` flips; then returns the listener (to close, or
/// to hand over) and the open connections, which get at most `grace` to finish.
/// `forward_key`: the cluster's key, with which forwarded requests are believed.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    handlers: Handlers,
    shutdown: watch::Receiver<bool>,
    grace: Duration,
    bodies: BodyBounds,
    forward_key: Option<Arc<str>>,
) -> (TcpListener, Draining) {
    let BodyBounds {
        timeout: body_timeout,
        max: body_max,
    } = bodies;
    let acceptor = TlsAcceptor::from(tls);
    let closing = shutdown.clone();
    accept_loop(listener, shutdown, grace, "HTTP", move |stream, watcher| {
        handle(
            stream,
            acceptor.clone(),
            Serving {
                router: handlers.router.clone(),
                streaming_api: handlers.streaming_api.clone(),
                body_timeout,
                body_max,
                forward_key: forward_key.clone(),
            },
            watcher,
            closing.clone(),
        )
    })
    .await
}

/// A listener's connections still open after it stopped accepting.
pub struct Draining {
    graceful: GracefulShutdown,
    grace: Duration,
    what: &'static str,
}

impl std::fmt::Debug for Draining {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Draining")
            .field("what", &self.what)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

impl Draining {
    /// Lets them finish, for at most the grace period.
    pub async fn finish(self) {
        let what = self.what;
        tokio::select! {
            _ = self.graceful.shutdown() => tracing::debug!(listener = what, "Connections drained."),
            _ = tokio::time::sleep(self.grace) => tracing::warn!(listener = what, "Grace period over; closing open connections."),
        }
    }
}

/// The accept loop both listeners share: each connection is handed to `handle` on its
/// own task with a graceful-shutdown watcher, until `shutdown` flips.
pub(crate) async fn accept_loop<F, Fut>(
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
    what: &'static str,
    handle: F,
) -> (TcpListener, Draining)
where
    F: Fn(TcpStream, Watcher) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let span = tracing::debug_span!(
                        "connection",
                        listener = what,
                        %peer,
                        tls = tracing::field::Empty
                    );
                    tracing::trace!(parent: &span, "Connection accepted.");
                    tokio::spawn(handle(stream, graceful.watcher()).instrument(span));
                }
                Err(e) => {
                    tracing::warn!(error = %e, listener = what, "Accept failed.");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
    (
        listener,
        Draining {
            graceful,
            grace,
            what,
        },
    )
}

async fn handle(
    stream: TcpStream,
    acceptor: TlsAcceptor,
    serving: Serving,
    watcher: Watcher,
    closing: watch::Receiver<bool>,
) {
    let mut first = [0u8; 1];
    let peeked = tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await;
    if !matches!(peeked, Ok(Ok(1))) {
        return;
    }
    let peer = stream.peer_addr().ok();
    tracing::Span::current().record("tls", first[0] == 0x16);
    if first[0] == 0x16 {
        // Boxed: a TLS session's state is kilobytes, and inline it would size the task of
        // every plain connection too (a parked long-poll is mostly this task).
        crate::metrics::connection_served_by("hyper");
        Box::pin(async move {
            let conn = ConnInfo {
                tls: true,
                peer,
                whole_replies: false,
            };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => connection(tls, serving, conn, Drain::new(watcher, false)).await,
                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed."),
                Err(_) => tracing::debug!("TLS handshake timed out."),
            }
        })
        .await;
    } else {
        let conn = ConnInfo {
            tls: false,
            peer,
            whole_replies: false,
        };
        crate::metrics::connection_served_by("lean");
        lean::serve(stream, serving, conn, watcher, closing).await;
    }
}
