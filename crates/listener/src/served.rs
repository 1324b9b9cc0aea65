//! What a connection serves requests with, the router's view of a request from either
//! path ([`prepare`]), and hyper's connection ([`connection`]): TLS connections, and plain
//! ones from the first request the lean path does not serve. Reading a request is bounded
//! twice there: its headers by hyper's `header_read_timeout`, its body by
//! [`DeadlineBody`]. Its response header names are Title-Case, and Salesforce's own
//! spelling where that differs ([`super::spelling`], through [`spellings`]).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite};
use tower::ServiceExt;

use forcebus_http::{ConnInfo, normalize_path};
use forcebus_sync::prelude::*;

use crate::deadline::DeadlineBody;
use crate::spelling;

/// How long a request's head may take to arrive, on either path, idle time before it
/// included (hyper's `header_read_timeout`).
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// What each connection serves requests with.
pub(crate) struct Serving {
    pub(crate) router: Router,
    /// The lean path's Streaming API requests, when set.
    pub(crate) streaming_api: Option<Arc<dyn crate::StreamingApi>>,
    pub(crate) body_timeout: Duration,
    /// The largest request body a handler takes (`max_body_bytes`): the lean path reads
    /// none larger, leaving it to hyper, which stops reading at the handler's limit.
    pub(crate) body_max: usize,
    pub(crate) forward_key: Option<Arc<str>>,
}

/// How a hyper connection takes part in a graceful shutdown.
pub(crate) struct Drain {
    watcher: Watcher,
    /// The shutdown began before the connection was handed to hyper: rather than be
    /// watched (which, with nothing read yet, would close it unanswered), it serves the
    /// request it was given and closes, holding the watcher so the drain waits for it.
    closing: bool,
}

impl Drain {
    pub(crate) fn new(watcher: Watcher, closing: bool) -> Self {
        Self { watcher, closing }
    }
}

/// Serves a connection with hyper until it closes.
pub(crate) async fn connection<I>(io: I, serving: Serving, conn: ConnInfo, drain: Drain)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Serving {
        router,
        body_timeout,
        forward_key,
        ..
    } = serving;
    let spellings = spellings().await;
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let req = req.map(|body| DeadlineBody::new(body, body_timeout));
        let answer = router
            .clone()
            .oneshot(prepare(req, conn, forward_key.as_deref()));
        async move {
            let mut resp = answer.await?;
            resp.extensions_mut().extend(spellings.clone());
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .title_case_headers(true)
        .keep_alive(!drain.closing);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    let served = if drain.closing {
        let served = conn.await;
        drop(drain.watcher);
        served
    } else {
        drain.watcher.watch(conn).await
    };
    if let Err(e) = served {
        tracing::debug!(error = %e, "Connection ended with an error.");
    }
}

/// What a response carries for hyper to spell [`spelling::OWN`]'s names as Salesforce
/// does: hyper writes a response's header names as a header-case map in its extensions
/// says (documented with `preserve_header_case`), Title-Case the others. hyper makes such
/// a map only as it reads a message, so it is made once by reading a request that holds
/// those names through hyper, in memory.
async fn spellings() -> &'static axum::http::Extensions {
    static SPELLINGS: tokio::sync::OnceCell<axum::http::Extensions> =
        tokio::sync::OnceCell::const_new();
    SPELLINGS
        .get_or_init(|| async {
            read_spellings().await.unwrap_or_else(|| {
                tracing::warn!("Header spellings not made; hyper writes Title-Case only.");
                axum::http::Extensions::new()
            })
        })
        .await
}

async fn read_spellings() -> Option<axum::http::Extensions> {
    use tokio::io::AsyncWriteExt as _;
    let (mut client, server) = tokio::io::duplex(4096);
    let mut request = String::from("GET / HTTP/1.1\r\nHost: spellings\r\n");
    for name in spelling::OWN {
        request.push_str(name);
        request.push_str(": x\r\n");
    }
    request.push_str("Connection: close\r\n\r\n");
    client.write_all(request.as_bytes()).await.ok()?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let extensions = req.extensions().clone();
        if let Some(tx) = tx.locked().take() {
            let _ = tx.send(extensions);
        }
        async { Ok::<_, std::convert::Infallible>(hyper::Response::new(String::new())) }
    });
    let serving = http1::Builder::new()
        .preserve_header_case(true)
        .serve_connection(TokioIo::new(server), service);
    let read = async {
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut client, &mut sink).await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        tokio::join!(serving, read)
    })
    .await;
    rx.await.ok()
}

/// A request as the router takes it from either path: what the connection knows of the
/// client (or what the node that passed it on says, believed with the cluster's key), and
/// its path made canonical.
pub(crate) fn prepare<B>(
    mut req: hyper::Request<B>,
    conn: ConnInfo,
    forward_key: Option<&str>,
) -> hyper::Request<B> {
    let conn = match crate::forwarded::believe(req.headers_mut(), forward_key) {
        Some((client, passed)) => {
            req.extensions_mut().insert(passed);
            // How replies are written is this connection's, whoever the client is.
            ConnInfo {
                whole_replies: conn.whole_replies,
                ..client
            }
        }
        None => conn,
    };
    req.extensions_mut().insert(conn);
    normalize_path(req)
}
