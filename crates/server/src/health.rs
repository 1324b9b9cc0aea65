//! Liveness and readiness, unauthenticated, for container orchestrators and scripts:
//! `GET /forcebus/health` answers 200 while the process serves HTTP at all;
//! `GET /forcebus/ready` answers 200 while the server takes work and 503 once it is
//! shutting down. Also the client side, `forcebus health`, for a Docker `HEALTHCHECK` in
//! an image without curl.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

/// Whether the server takes work; flipped off when shutdown begins.
#[derive(Debug, Default)]
pub(crate) struct Readiness(AtomicBool);

impl Readiness {
    /// Every listener accepts: ready.
    pub(crate) fn set_ready(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Shutdown has begun: not ready any more.
    pub(crate) fn set_stopping(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// `/forcebus/health` and `/forcebus/ready`.
pub(crate) fn router(readiness: Arc<Readiness>) -> Router {
    Router::new()
        .route("/forcebus/health", get(health))
        .route("/forcebus/ready", get(ready))
        .with_state(readiness)
}

fn json(status: StatusCode, body: &'static str) -> axum::response::Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn health() -> axum::response::Response {
    json(StatusCode::OK, r#"{"status":"ok"}"#)
}

async fn ready(State(r): State<Arc<Readiness>>) -> axum::response::Response {
    if r.0.load(Ordering::SeqCst) {
        json(StatusCode::OK, r#"{"status":"ready"}"#)
    } else {
        json(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"stopping"}"#)
    }
}

/// `forcebus health`: asks the server at `addr` (`host:port`) for `/forcebus/health` over
/// plain HTTP and fails unless it answers 200 within `timeout`.
pub(crate) fn probe(addr: &str, timeout: Duration) -> anyhow::Result<()> {
    let target: SocketAddr = addr
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {addr}"))?
        .next()
        .with_context(|| format!("{addr} resolves to no address"))?;
    let mut stream = TcpStream::connect_timeout(&target, timeout)
        .with_context(|| format!("nothing answers at {addr}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET /forcebus/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut reply = Vec::new();
    stream
        .take(64 * 1024)
        .read_to_end(&mut reply)
        .with_context(|| format!("no answer from {addr}"))?;
    let text = String::from_utf8_lossy(&reply);
    let status = text.lines().next().unwrap_or("");
    if status.split_whitespace().nth(1) != Some("200") {
        bail!("{addr} answered {status:?} to GET /forcebus/health");
    }
    Ok(())
}
