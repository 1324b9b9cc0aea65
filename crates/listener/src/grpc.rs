//! The gRPC listener: one port, TLS (ALPN `h2`) and plaintext HTTP/2 (prior knowledge),
//! told apart by the first byte (0x16 opens a TLS handshake), each connection served by
//! hyper's HTTP/2 server with the Pub/Sub service (which passes a call on to the node
//! serving its org, on a shared database). On shutdown it stops accepting and open streams get the
//! grace period.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::Draining;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A gRPC service, made for each connection with the client's address.
pub trait PerConnection:
    tower::Service<
        Request<Incoming>,
        Response = Response<Self::Body>,
        Error = std::convert::Infallible,
        Future: Send,
    > + Clone
    + Send
    + Sync
    + 'static
{
    /// What its responses carry.
    type Body: http_body::Body<Data = bytes::Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + 'static;

    /// The service for the connection of the client at `peer`.
    fn for_peer(&self, peer: Option<std::net::SocketAddr>) -> Self;
}

/// Accepts connections until `shutdown` flips; then returns the listener and the open
/// connections, which get at most `grace` to finish.
pub async fn serve<S: PerConnection>(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    service: S,
    shutdown: watch::Receiver<bool>,
    grace: Duration,
) -> (TcpListener, Draining) {
    let acceptor = TlsAcceptor::from(tls);
    crate::accept_loop(listener, shutdown, grace, "gRPC", move |stream, watcher| {
        handle(stream, acceptor.clone(), service.clone(), watcher)
    })
    .await
}

async fn handle<S: PerConnection>(
    stream: TcpStream,
    acceptor: TlsAcceptor,
    service: S,
    watcher: Watcher,
) {
    let service = service.for_peer(stream.peer_addr().ok());
    let mut first = [0u8; 1];
    let peeked = tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await;
    if !matches!(peeked, Ok(Ok(1))) {
        return;
    }
    if first[0] == 0x16 {
        // Boxed, as in the HTTP listener: TLS state inline would size every plain
        // connection's task too.
        Box::pin(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => connection(tls, service, watcher).await,
                Ok(Err(e)) => tracing::debug!(error = %e, "gRPC TLS handshake failed."),
                Err(_) => tracing::debug!("gRPC TLS handshake timed out."),
            }
        })
        .await;
    } else {
        connection(stream, service, watcher).await;
    }
}

/// Serves one HTTP/2 connection.
pub async fn connection<I, S: PerConnection>(io: I, service: S, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        // Pings keep idle streams alive through middleboxes and notice dead peers.
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(20))
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, "gRPC connection ended with an error.");
    }
}
