//! A request's head as the lean path reads it: which requests it serves (HTTP/1.1 ones
//! with a body of known length, or none), and the `http::Request` it makes of them.
//! Everything else (`HEAD`, `CONNECT` and other methods, HTTP/1.0, a chunked body, an
//! `Expect` other than `100-continue`, a head or body past the bounds below, anything
//! malformed) is hyper's, which then serves the connection.
//!
//! An `Upgrade` request is served here like any other: no route of this server switches
//! protocols, so the answer is an ordinary one (the Streaming API refuses faye's and the
//! CometD client's WebSocket probes with a 400) and the connection stays HTTP/1.1, as RFC
//! 9110 §7.8 lets a server do, and as hyper does when the handler does not upgrade.

use axum::http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, TRANSFER_ENCODING};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};

/// The largest head read here; a longer one is hyper's.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// The largest Streaming API body read here; a larger one is hyper's (a Bayeux request is
/// a few hundred bytes; the Streaming API's own limit answers anything bigger, through
/// hyper).
pub(crate) const MAX_STREAMING_API_BODY: usize = 64 * 1024;
/// The largest body of any other request read here (a record, a query, a token request,
/// a composite call), or the configured `max_body_bytes` when that is less; a larger one
/// (a bulk upload, a file) is hyper's, which streams it to the handler and stops at the
/// handler's limit.
pub(crate) const MAX_OTHER_BODY: usize = 1024 * 1024;
/// Headers read here; a request with more is hyper's.
const MAX_HEADERS: usize = 32;

/// What the bytes read so far of a request say.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// The head is not all here yet.
    Partial,
    /// Not for the lean path: hyper serves the connection from this request on.
    Hyper,
    /// A request the lean path serves (boxed: it moves through the connection's future,
    /// which would otherwise keep room for it at every step).
    Lean(Box<Head>),
}

/// A complete head the lean path serves.
#[derive(Debug)]
pub(crate) struct Head {
    /// Method, path, version and headers; the body is read next.
    pub(crate) request: Request<()>,
    /// Bytes of the head, blank line included: the body starts here.
    pub(crate) len: usize,
    /// Bytes of the body (`Content-Length`, 0 without one).
    pub(crate) body_len: usize,
    /// The client asked for the connection to close after this request.
    pub(crate) close: bool,
    /// A Streaming API request (`/cometd/…`): its answer is read whole before any of it
    /// is written (`ConnInfo::whole_replies`); any other is written as it comes.
    pub(crate) streaming_api: bool,
    /// The client waits for `100 Continue` before it sends the body.
    pub(crate) expects_continue: bool,
}

/// Reads a request's head from the start of `buf`; a body other than the Streaming API's
/// over `max_other_body` bytes (at most [`MAX_OTHER_BODY`]) is hyper's.
pub(crate) fn parse(buf: &[u8], max_other_body: usize) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD => {
            let max_other_body = max_other_body.min(MAX_OTHER_BODY);
            lean(&req, len, max_other_body).map_or(Parsed::Hyper, |h| Parsed::Lean(Box::new(h)))
        }
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => Parsed::Partial,
        _ => Parsed::Hyper,
    }
}

fn lean(req: &httparse::Request<'_, '_>, len: usize, max_other_body: usize) -> Option<Head> {
    if req.version != Some(1) {
        return None;
    }
    let method = match req.method? {
        "POST" => Method::POST,
        "GET" => Method::GET,
        "PATCH" => Method::PATCH,
        "PUT" => Method::PUT,
        "DELETE" => Method::DELETE,
        "OPTIONS" => Method::OPTIONS,
        _ => return None,
    };
    let path = req.path?;
    // Origin form only: an absolute URI or `*` is hyper's.
    if !path.starts_with('/') {
        return None;
    }
    let streaming_api = path.starts_with("/cometd/");
    let uri: Uri = path.parse().ok()?;
    let mut headers = HeaderMap::with_capacity(req.headers.len());
    let mut body_len = None;
    let mut close = false;
    let mut expects_continue = false;
    for h in req.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).ok()?;
        if name == TRANSFER_ENCODING {
            return None;
        }
        if name == EXPECT {
            if expects_continue || !h.value.eq_ignore_ascii_case(b"100-continue") {
                return None;
            }
            expects_continue = true;
        }
        if name == CONTENT_LENGTH {
            if body_len.is_some() {
                return None;
            }
            body_len = Some(content_length(h.value)?);
        }
        if name == CONNECTION {
            close |= asks_to_close(h.value);
        }
        headers.append(name, HeaderValue::from_bytes(h.value).ok()?);
    }
    let body_len = body_len.unwrap_or(0);
    let max = if streaming_api {
        MAX_STREAMING_API_BODY
    } else {
        max_other_body
    };
    if body_len > max {
        return None;
    }
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;
    Some(Head {
        request,
        len,
        body_len,
        close,
        streaming_api,
        expects_continue,
    })
}

/// A `Content-Length` of digits only (a list, a sign or anything else is hyper's to judge).
pub(super) fn content_length(value: &[u8]) -> Option<usize> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// `Connection: close` among the header's tokens.
pub(crate) fn asks_to_close(value: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"))
}

#[cfg(test)]
mod tests;
