//! Answers written as they come: every request but the Streaming API's (a record, a query,
//! a token, a bulk job's results, a stream of server-sent events). The head goes out with
//! the body's framing as hyper chooses it (its length when the body knows it, else
//! chunks), the body's frames follow as the handler yields them, and what is ready at once
//! is written together: a whole body goes out with its head in one write. While the
//! handler or its body waits, the socket is watched as [`super::answer`] watches it.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use axum::body::Body;
use bytes::Bytes;

use http_body::{Body as _, Frame};
use http_body_util::BodyExt as _;
use tokio::net::TcpStream;

use super::out::Out;
use super::reply::{self, Framing};
use super::{Call, watched};

/// Bytes gathered before they are written even though more are ready.
const GATHER: usize = 64 * 1024;
/// Pieces gathered before they are written (a body of many small frames).
const GATHER_PIECES: usize = 64;

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
    let response = watched(io, &mut watching, call).await?;
    let (mut parts, body) = response.into_parts();
    let mut close = close_asked || reply::closes(&parts) || shutting_down();
    if parts.status.is_informational() {
        // Not a final answer (an upgrade's 101 never comes here): a server error, and the
        // connection closes, as hyper answers one.
        parts.status = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
        parts.headers.clear();
        close = true;
        let mut out = Out::default();
        out.push(reply::head(&parts, Framing::Length(0), close).into());
        out.flush(io).await.ok()?;
        return Some(close);
    }
    let framing = match body.size_hint().exact() {
        Some(len) => Framing::Length(len),
        // A body that streams a file of known size says so in its header, which hyper
        // then frames it by.
        None => declared_length(&parts).map_or(Framing::Chunked, |len| Framing::Length(len as u64)),
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
            // Trailers are dropped (hyper sends them to a client that asked with
            // `TE: trailers`; no handler makes any).
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if !data.is_empty() => data,
                _ => continue,
            },
        };
        let len_now = data.len() as u64;
        match framing {
            Framing::Chunked => {
                out.push(format!("{:x}\r\n", data.len()).into());
                out.push(data);
                out.push(Bytes::from_static(b"\r\n"));
            }
            // More than the length said: what it said goes out, and the connection ends
            // (the rest would read as the next answer's head).
            Framing::Length(len) if sent + len_now > len => {
                let owed = usize::try_from(len - sent).unwrap_or(usize::MAX);
                out.push(data.slice(..owed));
                let _ = out.flush(io).await;
                return None;
            }
            Framing::Length(_) => out.push(data),
        }
        sent += len_now;
        if out.bytes() >= GATHER || out.pieces() >= GATHER_PIECES {
            out.flush(io).await.ok()?;
        }
    }
    match framing {
        Framing::Chunked => out.push(Bytes::from_static(b"0\r\n\r\n")),
        // A body shorter than it said would leave the client waiting: the connection
        // ends instead.
        Framing::Length(len) if len != sent => return None,
        Framing::Length(_) => {}
    }
    Some(())
}

/// The handler's `Content-Length`, when it set one valid value.
fn declared_length(parts: &axum::http::response::Parts) -> Option<usize> {
    let mut values = parts
        .headers
        .get_all(axum::http::header::CONTENT_LENGTH)
        .iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    super::head::content_length(value.as_bytes())
}

/// The body's next frame if it is ready now.
fn ready_frame(body: &mut Body) -> Option<Option<Result<Frame<Bytes>, axum::Error>>> {
    match Pin::new(body).poll_frame(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(frame) => Some(frame),
        Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{Request, Response, StatusCode, header};
    use tokio::io::AsyncReadExt as _;

    use super::*;

    fn pieces(n: usize, piece: &'static str) -> Body {
        let frames =
            (0..n).map(move |_| Ok::<_, std::io::Error>(Bytes::from_static(piece.as_bytes())));
        Body::from_stream(tokio_stream::iter(frames.collect::<Vec<_>>()))
    }

    /// What `write` makes of the router's answer to `GET path` on a real socket: its
    /// result, and every byte the client got before the connection closed.
    async fn written(path: &str) -> (Option<bool>, String) {
        let router = axum::Router::new()
            .route(
                "/declared",
                axum::routing::get(|| async {
                    // Says 3 bytes, sends 5.
                    let mut r = Response::new(pieces(1, "hello"));
                    r.headers_mut().insert(
                        header::CONTENT_LENGTH,
                        header::HeaderValue::from_static("3"),
                    );
                    r
                }),
            )
            .route(
                "/chunks",
                axum::routing::get(|| async { Response::new(pieces(200, "x")) }),
            )
            .route(
                "/interim",
                axum::routing::get(|| async { (StatusCode::from_u16(103).unwrap(), "early") }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let request = Request::get(path).body(Body::empty()).unwrap();
        let call: Call = crate::lean::routed(router, request);
        let result = write(&server, call, false, false, || false).await;
        drop(server);
        let mut got = String::new();
        client.read_to_string(&mut got).await.unwrap();
        (result, got)
    }

    #[tokio::test]
    async fn a_body_longer_than_it_said_is_cut_at_its_length_and_ends_the_connection() {
        let (result, got) = written("/declared").await;
        assert_eq!(result, None);
        let (head, body) = got.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("\r\nContent-Length: 3\r\n"), "{head}");
        assert_eq!(body, "hel");
    }

    #[tokio::test]
    async fn many_small_frames_go_out_in_chunks() {
        let (result, got) = written("/chunks").await;
        assert_eq!(result, Some(false));
        let (head, mut body) = got.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains("\r\nTransfer-Encoding: chunked\r\n"),
            "{head}"
        );
        let mut decoded = String::new();
        loop {
            let (size, rest) = body.split_once("\r\n").unwrap();
            let size = usize::from_str_radix(size, 16).unwrap();
            decoded.push_str(&rest[..size]);
            body = &rest[size + 2..];
            if size == 0 {
                break;
            }
        }
        assert_eq!(decoded, "x".repeat(200));
        assert!(body.is_empty(), "{body}");
    }

    #[tokio::test]
    async fn an_interim_status_is_answered_as_a_server_error_that_closes() {
        let (result, got) = written("/interim").await;
        assert_eq!(result, Some(true));
        assert!(
            got.starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
            "{got}"
        );
        assert!(got.contains("\r\nConnection: close\r\n"), "{got}");
        assert!(got.contains("\r\nContent-Length: 0\r\n"), "{got}");
        assert!(got.ends_with("\r\n\r\n"), "{got}");
    }
}
