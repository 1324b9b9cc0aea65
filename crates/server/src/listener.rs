//! The HTTP listener: one port, plain HTTP and TLS, told apart by the first byte (0x16
//! opens a TLS handshake). Each connection is served by hyper with the axum router; on
//! shutdown the listener stops accepting and in-flight requests get a grace period.
//! Reading a request is bounded twice: its headers by hyper's `header_read_timeout`, its
//! body by [`DeadlineBody`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tracing::Instrument;

use forcebus_http::{ConnInfo, normalize_path};

use crate::deadline::DeadlineBody;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until `shutdown` flips, then drains for at most `grace`.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    shutdown: watch::Receiver<bool>,
    grace: Duration,
    body_timeout: Duration,
) {
    let acceptor = TlsAcceptor::from(tls);
    accept_loop(listener, shutdown, grace, "HTTP", move |stream, watcher| {
        handle(
            stream,
            acceptor.clone(),
            router.clone(),
            body_timeout,
            watcher,
        )
    })
    .await;
}

/// The accept loop both listeners share: each connection is handed to `handle` on its
/// own task with a graceful-shutdown watcher; once `shutdown` flips, the listener closes
/// and open connections get at most `grace` to finish.
pub(crate) async fn accept_loop<F, Fut>(
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
    what: &'static str,
    handle: F,
) where
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
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => tracing::debug!(listener = what, "Connections drained."),
        _ = tokio::time::sleep(grace) => tracing::warn!(listener = what, "Grace period over; closing open connections."),
    }
}

async fn handle(
    stream: TcpStream,
    acceptor: TlsAcceptor,
    router: Router,
    body_timeout: Duration,
    watcher: Watcher,
) {
    let mut first = [0u8; 1];
    let peeked = tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await;
    if !matches!(peeked, Ok(Ok(1))) {
        return;
    }
    let peer = stream.peer_addr().ok();
    tracing::Span::current().record("tls", first[0] == 0x16);
    if first[0] == 0x16 {
        let conn = ConnInfo { tls: true, peer };
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => connection(tls, router, conn, body_timeout, watcher).await,
            Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed."),
            Err(_) => tracing::debug!("TLS handshake timed out."),
        }
    } else {
        let conn = ConnInfo { tls: false, peer };
        connection(stream, router, conn, body_timeout, watcher).await;
    }
}

async fn connection<I>(
    io: I,
    router: Router,
    conn: ConnInfo,
    body_timeout: Duration,
    watcher: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(conn);
        let req = req.map(|body| DeadlineBody::new(body, body_timeout));
        let req = normalize_path(req);
        router.clone().oneshot(req)
    });
    let conn = http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, "Connection ended with an error.");
    }
}
