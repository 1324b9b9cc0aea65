//! One HTTP/1.1 exchange with a server over a plain socket: the request written whole,
//! the answer read to its end (a chunked one put back together).

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Serialize;

/// What a JSON request carries: nothing, or one document.
#[derive(Debug, Default)]
pub(crate) struct Body(String);

impl Body {
    /// No body at all.
    pub(crate) const NONE: Self = Self(String::new());

    /// `value` as its JSON.
    pub(crate) fn json(value: &impl Serialize) -> anyhow::Result<Self> {
        Ok(Self(serde_json::to_string(value)?))
    }
}

/// One HTTP/1.1 request over plain TCP with a JSON body; the status and the body.
pub(crate) fn send(
    addr: &str,
    method: &str,
    path: &str,
    key: &str,
    body: &Body,
) -> anyhow::Result<(u16, String)> {
    let answer = exchange(
        addr,
        method,
        path,
        key,
        "application/json",
        body.0.as_bytes(),
    )?;
    Ok((answer.status, answer.body))
}

/// An HTTP answer: status, headers (names lower-case) and body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Answer {
    /// A header's value.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Most bytes of an answer read.
const MAX_ANSWER: u64 = 1 << 30;

/// One HTTP/1.1 request over plain TCP with a body of `content_type`; the answer (a
/// chunked one put back together).
pub(crate) fn exchange(
    addr: &str,
    method: &str,
    path: &str,
    key: &str,
    content_type: &str,
    body: &[u8],
) -> anyhow::Result<Answer> {
    let timeout = Duration::from_secs(60);
    let target = addr
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {addr}"))?
        .next()
        .with_context(|| format!("{addr} resolves to no address"))?;
    let mut stream = TcpStream::connect_timeout(&target, timeout)
        .with_context(|| format!("nothing answers at {addr}; is the server running?"))?;
    stream.set_read_timeout(Some(timeout))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut reply = Vec::new();
    stream
        .take(MAX_ANSWER)
        .read_to_end(&mut reply)
        .with_context(|| format!("no answer from {addr}"))?;
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .with_context(|| format!("{addr} did not answer HTTP"))?;
    let head = String::from_utf8_lossy(&reply[..split]).into_owned();
    let raw = &reply[split + 4..];
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("{addr} did not answer HTTP"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked { dechunk(raw)? } else { raw.to_vec() };
    Ok(Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A chunked body's bytes.
fn dechunk(mut raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("a chunked answer cut short")?;
        let size_text = String::from_utf8_lossy(&raw[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .context("a chunk size that is not hex")?;
        raw = &raw[end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if raw.len() < size {
            bail!("a chunked answer cut short");
        }
        out.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_put_back_together() {
        assert_eq!(
            dechunk(b"5\r\nhello\r\n7;x=y\r\n, world\r\n0\r\n\r\n").unwrap(),
            b"hello, world"
        );
        assert!(dechunk(b"5\r\nhel").is_err());
        assert!(dechunk(b"zz\r\n").is_err());
    }
}
