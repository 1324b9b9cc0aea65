//! A response's head as the lean path writes it: what hyper would write (the status line,
//! the handler's headers, `Date`, the body's framing or none where a status has no body,
//! `Connection: close` when the connection closes after it), each name spelled as
//! Salesforce writes it ([`spelling`]).

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use axum::http::response::Parts;

use crate::spelling;

/// How a response's body is framed, as hyper frames it: by its length when the body
/// knows it, else in chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Length(u64),
    Chunked,
}

/// The head of a response whose body is framed so; [`body`] says which of a whole body's
/// bytes follow it.
pub(crate) fn head(parts: &Parts, framing: Framing, close: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(parts.status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(
        parts
            .status
            .canonical_reason()
            .unwrap_or("<none>")
            .as_bytes(),
    );
    out.extend_from_slice(b"\r\n");
    // The framing goes where the handler put a framing header, else after its headers.
    // hyper keeps a handler's `content-length` in place as here; a handler's own
    // `transfer-encoding` it would extend (`gzip, chunked`) where this replaces it, and
    // no handler sets one.
    let mut framed = bodiless(parts);
    for (name, value) in &parts.headers {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            if !framed {
                frame(&mut out, framing);
                framed = true;
            }
            continue;
        }
        // Written below when the connection closes.
        if name == CONNECTION {
            continue;
        }
        header(&mut out, name.as_str().as_bytes(), value.as_bytes());
    }
    if close {
        header(&mut out, b"Connection", b"close");
    }
    if !framed {
        frame(&mut out, framing);
    }
    if !parts.headers.contains_key(DATE) {
        out.extend_from_slice(b"Date: ");
        now(&mut out);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn frame(out: &mut Vec<u8>, framing: Framing) {
    match framing {
        Framing::Length(len) => header(out, b"Content-Length", len.to_string().as_bytes()),
        Framing::Chunked => header(out, b"Transfer-Encoding", b"chunked"),
    }
}

/// What of `body` is written after the head: nothing for a status without a body.
pub(crate) fn body<'a>(parts: &Parts, body: &'a [u8]) -> &'a [u8] {
    if bodiless(parts) { &[] } else { body }
}

/// A status whose response has no body.
pub(crate) fn bodiless(parts: &Parts) -> bool {
    parts.status.is_informational()
        || parts.status == axum::http::StatusCode::NO_CONTENT
        || parts.status == axum::http::StatusCode::NOT_MODIFIED
}

/// Head and body as written.
#[cfg(test)]
fn encode(parts: &Parts, body_bytes: &[u8], close: bool) -> Vec<u8> {
    let mut out = head(parts, Framing::Length(body_bytes.len() as u64), close);
    out.extend_from_slice(body(parts, body_bytes));
    out
}

/// Whether the handler's headers ask for the connection to close after the response.
pub(crate) fn closes(parts: &Parts) -> bool {
    parts
        .headers
        .get_all(CONNECTION)
        .iter()
        .any(|v| super::head::asks_to_close(v.as_bytes()))
}

/// A header line, its name spelled as Salesforce writes it.
fn header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    spelling::write(out, name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

thread_local! {
    /// The `Date` value of the current second, made once a second per thread.
    static TODAY: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

fn now(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    TODAY.with(|d| {
        let mut d = d.borrow_mut();
        if d.0 != second {
            *d = (second, httpdate::fmt_http_date(now));
        }
        out.extend_from_slice(d.1.as_bytes());
    });
}

#[cfg(test)]
mod tests {
    use axum::http::{Response, StatusCode, header};

    use super::*;

    fn parts(status: StatusCode, headers: &[(&str, &str)]) -> Parts {
        let mut r = Response::builder().status(status);
        for (n, v) in headers {
            r = r.header(*n, *v);
        }
        r.body(()).unwrap().into_parts().0
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn a_reply_has_its_length_a_date_and_the_handlers_headers() {
        let p = parts(
            StatusCode::OK,
            &[
                ("Content-Type", "application/json"),
                ("content-length", "999"),
                ("Sforce-Limit-Info", "api-usage=1/15000"),
            ],
        );
        let out = text(&encode(&p, b"[1]", false));
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert_eq!(body, "[1]");
        let lines: Vec<_> = head.split("\r\n").collect();
        assert_eq!(lines[0], "HTTP/1.1 200 OK");
        assert_eq!(lines[1], "Content-Type: application/json");
        // In the handler's place for it, with the body's length.
        assert_eq!(lines[2], "Content-Length: 3");
        assert_eq!(lines[3], "Sforce-Limit-Info: api-usage=1/15000");
        assert!(
            lines[4].starts_with("Date: ") && lines[4].ends_with(" GMT"),
            "{head}"
        );
        assert_eq!(lines.len(), 5, "{head}");
        assert!(!closes(&p));
    }

    #[test]
    fn close_no_content_and_an_unknown_status() {
        let p = parts(StatusCode::NO_CONTENT, &[("connection", "Close")]);
        assert!(closes(&p));
        let out = text(&encode(&p, b"", true));
        assert!(
            out.starts_with("HTTP/1.1 204 No Content\r\nConnection: close\r\nDate: "),
            "{out}"
        );
        assert!(!out.contains("Content-Length"), "{out}");
        assert!(out.ends_with(" GMT\r\n\r\n"), "{out}");
        let odd = parts(StatusCode::from_u16(599).unwrap(), &[]);
        assert!(text(&encode(&odd, b"x", false)).starts_with("HTTP/1.1 599 <none>\r\n"));
        // Replaced, not extended as hyper would (no handler sets one).
        let chunked = parts(StatusCode::OK, &[("transfer-encoding", "gzip")]);
        let out = text(&head(&chunked, Framing::Chunked, false));
        assert!(
            out.starts_with("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nDate: "),
            "{out}"
        );
        let dated = parts(StatusCode::OK, &[(header::DATE.as_str(), "then")]);
        let out = text(&encode(&dated, b"", false));
        assert_eq!(out.matches("Date: ").count(), 1, "{out}");
    }
}
