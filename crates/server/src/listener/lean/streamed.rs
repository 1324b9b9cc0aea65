//! Answers written as they come: every request but the Streaming API's (a record, a query,
//! a token, a bulk job's results, a stream of server-sent events). The head goes out with
//! the body's framing as hyper chooses it (its length when the body knows it, else
//! chunks), the body's frames follow as the handler yields them, and what is ready at once
//! is written together: a whole body goes out with its head in one write. While the
//! handler or its body waits, the socket is watched as [`super::answer`] watches it.

use std::collections::VecDeque;
use std::io::{self, IoSlice};

use axum::body::Body;
use bytes::{Buf as _, Bytes};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use http_body::{Body as _, Frame};
use http_body_util::BodyExt as _;
use tokio::net::TcpStream;

use super::reply::{self, Framing};
use super::{Call, watched};

/// Bytes gathered before they are written even though more are ready.
const GATHER: usize = 64 * 1024;

/// Writes the router's answer to `call`: `Some(close)` once written (`close`: the
/// connection closes after it, as the client, the handler or a shutdown asked), `None` if
/// the client left, the body failed or it was not the length it declared (the connection
/// then closes, as hyper's does).
pub(super) async fn write(
    io: &TcpStream,
    call: Call,
    pipelined: bool,
    close_asked: bool,
    shutting_down: impl Fn() -> bool,
) -> Option<bool> {
    let mut watching = !pipelined;
    let response = match watched(io, &mut watching, call).await? {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let close = close_asked || reply::closes(&parts) || shutting_down();
    let framing = match body.size_hint().exact() {
        Some(len) => Framing::Length(len),
        // A body that streams a file of known size says so in its header, which hyper
        // then frames it by.
        None => declared_length(&parts).map_or(Framing::Chunked, Framing::Length),
    };
    let mut out = Out::default();
    out.push(reply::head(&parts, framing, close).into());
    if !reply::bodiless(&parts) {
        frames(io, body, framing, &mut out, &mut watching).await?;
    }
    out.flush(io).await.ok()?;
    Some(close)
}

/// Queues the body's frames, writing whenever the body waits or enough is gathered.
async fn frames(
    io: &TcpStream,
    mut body: Body,
    framing: Framing,
    out: &mut Out,
    watching: &mut bool,
) -> Option<()> {
    let mut sent: u64 = 0;
    loop {
        let frame = match ready_frame(&mut body) {
            Some(frame) => frame,
            None => {
                // The body waits: what is queued goes out first (a head with nothing
                // after it yet, the events so far).
                out.flush(io).await.ok()?;
                watched(io, watching, body.frame()).await?
            }
        };
        let data = match frame {
            None => break,
            Some(Err(_)) => return None,
            // Trailers are dropped, as hyper drops them for a client that did not ask.
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if !data.is_empty() => data,
                _ => continue,
            },
        };
        sent += data.len() as u64;
        if framing == Framing::Chunked {
            out.push(format!("{:x}\r\n", data.len()).into());
            out.push(data);
            out.push(Bytes::from_static(b"\r\n"));
        } else {
            out.push(data);
        }
        if out.len >= GATHER {
            out.flush(io).await.ok()?;
        }
    }
    match framing {
        Framing::Chunked => out.push(Bytes::from_static(b"0\r\n\r\n")),
        // A body shorter or longer than it said would leave the client misreading the
        // connection: it ends instead.
        Framing::Length(len) if len != sent => return None,
        Framing::Length(_) => {}
    }
    Some(())
}

/// The handler's `Content-Length`, when it set one valid value.
fn declared_length(parts: &axum::http::response::Parts) -> Option<u64> {
    let mut values = parts
        .headers
        .get_all(axum::http::header::CONTENT_LENGTH)
        .iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let digits = value.to_str().ok()?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The body's next frame if it is ready now.
fn ready_frame(body: &mut Body) -> Option<Option<Result<Frame<Bytes>, axum::Error>>> {
    match Pin::new(body).poll_frame(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(frame) => Some(frame),
        Poll::Pending => None,
    }
}

/// Bytes waiting to be written, in order.
#[derive(Default)]
struct Out {
    queue: VecDeque<Bytes>,
    len: usize,
}

impl Out {
    fn push(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        self.len += bytes.len();
        self.queue.push_back(bytes);
    }

    /// Writes everything queued, as few writes as the socket takes.
    async fn flush(&mut self, io: &TcpStream) -> io::Result<()> {
        while !self.queue.is_empty() {
            io.writable().await?;
            let written = {
                let slices: Vec<IoSlice<'_>> = self
                    .queue
                    .iter()
                    .take(64)
                    .map(|b| IoSlice::new(b))
                    .collect();
                match io.try_write_vectored(&slices) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            };
            self.consume(written);
        }
        Ok(())
    }

    fn consume(&mut self, mut written: usize) {
        self.len -= written;
        while written > 0 {
            let Some(front) = self.queue.front_mut() else {
                return;
            };
            if written < front.len() {
                front.advance(written);
                return;
            }
            written -= front.len();
            self.queue.pop_front();
        }
    }
}

/// Writes `bytes` whole (an interim `100 Continue`).
pub(super) async fn send(io: &TcpStream, bytes: &'static [u8]) -> io::Result<()> {
    let mut out = Out::default();
    out.push(Bytes::from_static(bytes));
    out.flush(io).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consuming_a_partial_write_keeps_the_rest_in_order() {
        let mut out = Out::default();
        for piece in ["head", "", "body", "tail"] {
            out.push(Bytes::from(piece));
        }
        out.consume(7);
        assert_eq!(out.len, 5);
        let rest: Vec<&[u8]> = out.queue.iter().map(|b| &b[..]).collect();
        assert_eq!(rest, [&b"y"[..], b"tail"]);
        out.consume(5);
        assert!(out.queue.is_empty());
        assert_eq!(out.len, 0);
    }
}
