//! The lean path: plain HTTP/1.1 connections served without hyper while their requests are
//! plain ones, so that a parked long poll holds no buffer, whether or not its connection
//! carried a REST call or a token request before (a browser's pool shares connections
//! between an app's REST calls and its CometD client's long polls).
//!
//! hyper reserves an 8 KB read buffer and an 8 KB header write buffer per connection for
//! as long as it lives, and a parked `/meta/connect` is mostly that. Here a connection
//! reads a request into a buffer of its size, copies the body out, and frees the buffer
//! before the handler runs; between requests it waits for the socket to be readable with no
//! buffer at all. While the handler runs it watches the socket as hyper does: the client
//! closing (or an error) drops the request. The request goes through the same router, with
//! the same connection facts, as hyper's requests do. A Streaming API request's answer is
//! read whole and written with its length (a parked connect's body is ready later);
//! any other is written as it comes ([`streamed`]).
//!
//! Any other request (`HEAD`, a chunked or large body, HTTP/1.0: [`head::parse`]
//! says which) hands the connection to hyper with the bytes already read ([`rewind`]), and
//! hyper serves it from there on.
//!
//! - [`head`]: reading a request's head, and which requests are served here.
//! - [`reply`]: a response's head.
//! - [`streamed`]: answers written as they come.
//! - [`out`]: bytes queued for the socket, written in vectored writes.
//! - [`rewind`]: a connection handed to hyper with what was read of it.

mod head;
mod out;
mod reply;
mod rewind;
mod streamed;

use std::io;
use std::pin::Pin;
use std::task::Poll;

use axum::body::Body;
use axum::http::response::Parts;
use bytes::Bytes;
use http_body::Body as _;
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tower::ServiceExt as _;

use forcebus_http::ConnInfo;

use super::served::{Drain, HEAD_TIMEOUT, Serving, connection, prepare};

use head::Parsed;

/// Serves a plain connection until it closes, or hands it to hyper at the first request
/// that is not the lean path's. `watcher` keeps a graceful shutdown waiting for this
/// connection; `shutdown` says it began (the connection then closes after the request in
/// flight, as hyper's do).
pub(crate) async fn serve(
    mut io: TcpStream,
    serving: Serving,
    conn: ConnInfo,
    watcher: Watcher,
    mut shutdown: watch::Receiver<bool>,
) {
    // Bytes read of the next request: empty between requests unless a client pipelined.
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // As on hyper's connections, the clock runs from the end of the last answer: a
        // connection idle that long is closed.
        let deadline = tokio::time::Instant::now() + HEAD_TIMEOUT;
        // The waits before a request is whole are boxed (here and for its body): they
        // are over before a connect parks, and inline they would size the connection's
        // task for as long as it lives.
        if buf.is_empty() && !Box::pin(next_request(&io, &mut buf, &mut shutdown, deadline)).await {
            return;
        }
        let reading = tokio::time::timeout_at(deadline, read_head(&io, &mut buf, serving.body_max));
        let head = match Box::pin(reading).await {
            Ok(Ok(Parsed::Lean(head))) => head,
            Ok(Ok(Parsed::Hyper)) => {
                let drain = Drain::new(watcher, *shutdown.borrow());
                return hand_over(io, buf, serving, conn, drain).await;
            }
            // Closed, failed or too slow (hyper closes without an answer too).
            Ok(Ok(Parsed::Partial) | Err(_)) | Err(_) => return,
        };
        let (asked_to_close, streaming_api) = (head.close, head.streaming_api);
        let (call, cut_off) = match Box::pin(request(&io, &serving, conn, head, &mut buf)).await {
            Received::Whole(call) => (call, false),
            // The body never came whole: the handler answers a body that failed, as it
            // does through hyper, and the connection closes after it.
            Received::CutOff(call) => (call, true),
            Received::Gone => return,
        };
        let close = if streaming_api || cut_off {
            let Some((parts, body)) = answer(&io, call, !buf.is_empty()).await else {
                return;
            };
            let close = cut_off || asked_to_close || reply::closes(&parts) || *shutdown.borrow();
            if write_whole(&mut io, &parts, &body, close).await.is_err() {
                return;
            }
            close
        } else {
            // Boxed: a REST answer's writing would otherwise size the task of every
            // parked connect.
            let pipelined = !buf.is_empty();
            let closing = || *shutdown.borrow();
            let written = streamed::write(&io, call, pipelined, asked_to_close, closing);
            match Box::pin(written).await {
                Some(close) => close,
                None => return,
            }
        };
        if close {
            let _ = io.shutdown().await;
            return;
        }
    }
}

/// Writes a response whose body is all here, head and body in one vectored write.
async fn write_whole(
    io: &mut TcpStream,
    parts: &Parts,
    body: &Bytes,
    close: bool,
) -> io::Result<()> {
    let head = reply::head(parts, reply::Framing::Length(body.len() as u64), close);
    let mut reply = bytes::Buf::chain(&head[..], reply::body(parts, body));
    io.write_all_buf(&mut reply).await
}

/// Reads a request's first bytes into `buf`: `false` if the connection closed, failed,
/// stayed idle until `deadline`, or the server is shutting down. While it waits `buf` holds
/// no room: it is reserved for each read and freed when there was nothing to read (the
/// socket's readiness outlives the request read last, so the first read usually finds
/// nothing; the wait after it is the one that sees the shutdown).
async fn next_request(
    io: &TcpStream,
    buf: &mut Vec<u8>,
    shutdown: &mut watch::Receiver<bool>,
    deadline: tokio::time::Instant,
) -> bool {
    loop {
        tokio::select! {
            ready = io.readable() => if ready.is_err() {
                return false;
            },
            _ = shutdown.wait_for(|closing| *closing) => return false,
            () = tokio::time::sleep_until(deadline) => return false,
        }
        buf.reserve(2048);
        match io.try_read_buf(buf) {
            Ok(0) => return false,
            Ok(_) => return true,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => *buf = Vec::new(),
            Err(_) => return false,
        }
    }
}

/// hyper's connection from here on, starting with the bytes already read. Boxed, and made
/// outside the async fn: inline, hyper's connection would size the task of every lean one.
fn hand_over(
    io: TcpStream,
    read: Vec<u8>,
    serving: Serving,
    conn: ConnInfo,
    drain: Drain,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    crate::metrics::connection_served_by("hyper");
    let io = rewind::Rewind::new(Bytes::from(read), io);
    Box::pin(connection(io, serving, conn, drain))
}

/// What became of a request's body.
enum Received {
    /// It came whole: the request is on its way through the router.
    Whole(Call),
    /// It did not come within the body deadline: the request goes through the router
    /// with what came, then a body that fails, as hyper's requests do.
    CutOff(Call),
    /// The client closed, or the connection failed.
    Gone,
}

/// Reads the body of the request `head` begins (first telling a client that waits for it
/// to go on) and takes the request to the router. `buf` keeps what the client sent after
/// the request.
async fn request(
    io: &TcpStream,
    serving: &Serving,
    conn: ConnInfo,
    head: Box<head::Head>,
    buf: &mut Vec<u8>,
) -> Received {
    let end = head.len + head.body_len;
    if head.expects_continue
        && buf.len() < end
        && out::write_all(io, b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .is_err()
    {
        return Received::Gone;
    }
    let read = tokio::time::timeout(serving.body_timeout, read_to(io, buf, end)).await;
    match read {
        Ok(Ok(())) => Received::Whole(call(serving, conn, head, buf, None)),
        Ok(Err(_)) => Received::Gone,
        Err(_) => Received::CutOff(call(serving, conn, head, buf, Some(serving.body_timeout))),
    }
}

/// The router's answer to a request and its body, read whole (a parked connect's body is
/// ready later, `whole_replies`: it waits here); `None` if the client closed the connection
/// (or it failed) first, which drops the request. Polled by hand, not through
/// [`watched`], so that a parked connect's wait holds no more than it needs (`loadgen
/// idle`: 5.1–5.3 KB per parked connect against 5.4–5.6 for an `async` version through
/// `watched`, a margin near the VM's noise).
async fn answer(io: &TcpStream, call: Call, pipelined: bool) -> Option<(Parts, Bytes)> {
    let mut call = Some(call);
    let mut watching = !pipelined;
    let mut reply: Option<(Parts, Body)> = None;
    let mut chunks: Vec<Bytes> = Vec::new();
    std::future::poll_fn(|cx| {
        loop {
            if let Some(pending) = call.as_mut() {
                let Poll::Ready(response) = pending.as_mut().poll(cx) else {
                    break;
                };
                call = None;
                reply = Some(response.into_parts());
            }
            let Some((_, body)) = reply.as_mut() else {
                break;
            };
            match Pin::new(body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => chunks.extend(frame.into_data().ok()),
                Poll::Ready(Some(Err(_))) => return Poll::Ready(None),
                Poll::Ready(None) => {
                    let Some((parts, _)) = reply.take() else {
                        return Poll::Ready(None);
                    };
                    let body = match chunks.len() {
                        1 => chunks.pop().unwrap_or_default(),
                        _ => Bytes::from(chunks.concat()),
                    };
                    return Poll::Ready(Some((parts, body)));
                }
                Poll::Pending => break,
            }
        }
        if left(io, cx, &mut watching) {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

/// `fut`'s output, or `None` if the client closed the connection (or it failed) first.
async fn watched<F: Future + Unpin>(
    io: &TcpStream,
    watching: &mut bool,
    mut fut: F,
) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = Pin::new(&mut fut).poll(cx) {
            return Poll::Ready(Some(out));
        }
        if left(io, cx, watching) {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

/// Whether the client closed the connection (or it failed) while its answer is awaited;
/// `cx` is woken when that may have changed. Once the client sent more (a pipelined
/// request), the connection is no longer watched (`watching` turns false): those bytes
/// are read after the answer.
fn left(io: &TcpStream, cx: &mut std::task::Context<'_>, watching: &mut bool) -> bool {
    if !*watching {
        return false;
    }
    let mut byte = [0u8; 1];
    match io.poll_peek(cx, &mut ReadBuf::new(&mut byte)) {
        Poll::Ready(Ok(0) | Err(_)) => true,
        Poll::Ready(Ok(_)) => {
            *watching = false;
            false
        }
        Poll::Pending => false,
    }
}

/// A request on its way through the router (or the Streaming API's handler).
type Call = Pin<Box<dyn Future<Output = axum::response::Response> + Send>>;

/// Takes the request (`head`, and its body from `buf`, which keeps only what follows) to
/// the router; `cut_off`: the body stopped short, failing after what came, as
/// [`crate::deadline::DeadlineBody`] fails on hyper's connections. Not async, so that the
/// request's parts take no room in the connection's future; the router's future is
/// boxed, being large and, for a connect, short-lived (it answers at once with a body
/// that waits).
fn call(
    serving: &Serving,
    conn: ConnInfo,
    head: Box<head::Head>,
    buf: &mut Vec<u8>,
    cut_off: Option<std::time::Duration>,
) -> Call {
    let head::Head {
        request,
        len,
        body_len,
        streaming_api: head_is_streaming_api,
        ..
    } = *head;
    let end = (len + body_len).min(buf.len());
    let body = Bytes::copy_from_slice(&buf[len..end]);
    // What a parked request holds of the connection: nothing read, unless pipelined.
    *buf = buf
        .get(end..)
        .filter(|rest| !rest.is_empty())
        .map_or_else(Vec::new, <[u8]>::to_vec);
    let conn = ConnInfo {
        whole_replies: head_is_streaming_api,
        ..conn
    };
    let forward_key = serving.forward_key.as_deref();
    if head_is_streaming_api
        && cut_off.is_none()
        && let Some(direct) = &serving.streaming_api
    {
        return direct.call(prepare(request.map(|()| body), conn, forward_key));
    }
    let body = match cut_off {
        None => Body::from(body),
        Some(limit) => crate::deadline::cut_off(body, limit),
    };
    let req = prepare(request.map(|()| body), conn, forward_key);
    routed(serving.router.clone(), req)
}

/// `req` on its way through `router`.
fn routed(router: axum::Router, req: axum::http::Request<Body>) -> Call {
    let answer = router.oneshot(req);
    Box::pin(async move {
        match answer.await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    })
}

/// Reads until `buf` holds a whole head (or the bytes say it is hyper's); `Partial` means
/// the client closed first.
async fn read_head(io: &TcpStream, buf: &mut Vec<u8>, max_other_body: usize) -> io::Result<Parsed> {
    loop {
        if !buf.is_empty() {
            match head::parse(buf, max_other_body) {
                Parsed::Partial => {}
                done => return Ok(done),
            }
        }
        if read_some(io, buf, head::MAX_HEAD).await? == 0 {
            return Ok(Parsed::Partial);
        }
    }
}

/// Reads until `buf` holds `end` bytes. Room grows with what arrives, not with what the
/// head declared (a client that declares 64 KB and sends nothing holds little), and never
/// past `end`.
async fn read_to(io: &TcpStream, buf: &mut Vec<u8>, end: usize) -> io::Result<()> {
    while buf.len() < end {
        if read_some(io, buf, end).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(())
}

/// One read into `buf`'s spare room (doubled when little is left, up to `end` bytes in
/// all when that is more than it holds): the bytes read, 0 at the end of the stream.
async fn read_some(io: &TcpStream, buf: &mut Vec<u8>, end: usize) -> io::Result<usize> {
    loop {
        io.readable().await?;
        if buf.capacity() - buf.len() < 512 {
            let wanted = end.saturating_sub(buf.len()).max(512);
            buf.reserve_exact(buf.len().max(2048).min(wanted));
        }
        match io.try_read_buf(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            read => return read,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A parked connect is mostly its connection's task: its future's size is what each
    /// one holds beyond the socket (`loadgen idle` measures the whole).
    #[tokio::test]
    async fn a_lean_connection_s_future_stays_small() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let io = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let (_tx, rx) = watch::channel(false);
        let serving = Serving {
            router: axum::Router::new(),
            streaming_api: None,
            body_timeout: std::time::Duration::from_secs(1),
            body_max: 1 << 20,
            forward_key: None,
        };
        let fut = serve(io, serving, ConnInfo::default(), graceful.watcher(), rx);
        // 912 bytes when written (rustc 1.95).
        let size = std::mem::size_of_val(&fut);
        assert!(size <= 1024, "{size} bytes");
    }
}
