//! The gRPC listener: one port, TLS (ALPN `h2`) and plaintext HTTP/2 (prior knowledge),
//! told apart by the first byte (0x16 opens a TLS handshake), each connection served by
//! hyper's HTTP/2 server with the Pub/Sub service. On shutdown it stops accepting and open
//! streams get the grace period.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::dispatch::GrpcDispatch as Grpc;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until `shutdown` flips, then drains for at most `grace`.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    service: Grpc,
    shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let acceptor = TlsAcceptor::from(tls);
    crate::listener::accept_loop(listener, shutdown, grace, "gRPC", move |stream, watcher| {
        handle(stream, acceptor.clone(), service.clone(), watcher)
    })
    .await;
}

async fn handle(stream: TcpStream, acceptor: TlsAcceptor, service: Grpc, watcher: Watcher) {
    let service = Grpc {
        peer: stream.peer_addr().ok(),
        ..service
    };
    let mut first = [0u8; 1];
    let peeked = tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await;
    if !matches!(peeked, Ok(Ok(1))) {
        return;
    }
    if first[0] == 0x16 {
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => connection(tls, service, watcher).await,
            Ok(Err(e)) => tracing::debug!(error = %e, "gRPC TLS handshake failed."),
            Err(_) => tracing::debug!("gRPC TLS handshake timed out."),
        }
    } else {
        connection(stream, service, watcher).await;
    }
}

/// Serves one HTTP/2 connection.
pub(crate) async fn connection<I>(io: I, service: Grpc, watcher: Watcher)
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
