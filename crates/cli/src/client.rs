//! The small client the commands share: where a running server is (from `--url` and
//! `--key`, else its data dir's ready line), and one HTTP/1.1 exchange with it over a
//! plain socket, JSON in and out, with the server's own error message on a failure.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;

/// Where the server is and the key to use.
#[derive(Debug, Args)]
pub(crate) struct Target {
    /// The server's HTTP address, `host:port` or `http://host:port`, with --key [default:
    /// from the data dir's ready.json].
    #[arg(long, value_name = "URL", global = true, requires = "key")]
    url: Option<String>,
    /// The admin key or an access token of the org [default: from ready.json].
    #[arg(long, value_name = "KEY", global = true)]
    key: Option<String>,
}

/// One call of the server's admin endpoints; prints its JSON answer, or fails with the
/// server's message.
pub(crate) fn call(
    target: &Target,
    data_dir: &Path,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> anyhow::Result<()> {
    if let Some(answer) = answer(target, data_dir, method, path, body)? {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    }
    Ok(())
}

/// A new access token of org `org` (an org made with `forcebus org create`), through the
/// admin API with the data dir's admin key.
pub(crate) fn org_token(data_dir: &Path, org: &str) -> anyhow::Result<String> {
    let admin = Resolved::find(None, None, "admin_key", data_dir)?;
    let path = format!("/forcebus/v1/orgs/{org}/token");
    let (status, text) = send(&admin.addr, "POST", &path, &admin.key, None)?;
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if status != 200 {
        let message = answer[0]["message"]
            .as_str()
            .map_or_else(|| answer.to_string(), str::to_owned);
        bail!("no token for the org {org}: the server answered {status}: {message}");
    }
    answer["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("the server's answer has no access_token")
}

/// The server's JSON answer to `method path` (`None` for a 204), or why it failed.
pub(crate) fn answer(
    target: &Target,
    data_dir: &Path,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> anyhow::Result<Option<Value>> {
    let (addr, key) = resolve(target, data_dir)?;
    let (status, text) = send(&addr, method, path, &key, body)?;
    if status == 204 {
        return Ok(None);
    }
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if !(200..300).contains(&status) {
        let message = answer[0]["message"]
            .as_str()
            .map_or_else(|| answer.to_string(), str::to_owned);
        bail!("the server answered {status}: {message}");
    }
    Ok(Some(answer))
}

/// The server's `host:port` and the key: from the flags, else from the ready line.
fn resolve(target: &Target, data_dir: &Path) -> anyhow::Result<(String, String)> {
    let found = Resolved::find(
        target.url.as_deref(),
        target.key.as_deref(),
        "admin_key",
        data_dir,
    )?;
    Ok((found.addr, found.key))
}

/// A running server found from flags or its data dir's ready line.
pub(crate) struct Resolved {
    /// Its plain HTTP `host:port`.
    pub(crate) addr: String,
    /// The key or token to send.
    pub(crate) key: String,
    /// The ready line, when it was read.
    pub(crate) ready: Option<Value>,
}

impl Resolved {
    /// `url` and `key` when given, else the ready line's `http` and `key_field`.
    pub(crate) fn find(
        url: Option<&str>,
        key: Option<&str>,
        key_field: &str,
        data_dir: &Path,
    ) -> anyhow::Result<Self> {
        let ready = if url.is_some() && key.is_some() {
            None
        } else {
            let line = forcebus_config::datadir::running_ready_line(data_dir)?;
            Some(serde_json::from_str::<Value>(&line).context("the ready file is damaged")?)
        };
        let field = |k: &str| {
            ready
                .as_ref()
                .and_then(|r| r[k].as_str())
                .map(str::to_owned)
                .with_context(|| format!("the ready line has no {k}"))
        };
        let addr = url.map_or_else(|| field("http"), |u| Ok(u.to_owned()))?;
        let key = key.map_or_else(|| field(key_field), |k| Ok(k.to_owned()))?;
        let addr = addr
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        if addr.starts_with("https://") {
            bail!("--url takes the plain HTTP address (host:port); TLS is served on the same port");
        }
        Ok(Self { addr, key, ready })
    }
}

/// One HTTP/1.1 request over plain TCP with a JSON body; the status and the body.
pub(crate) fn send(
    addr: &str,
    method: &str,
    path: &str,
    key: &str,
    body: Option<&Value>,
) -> anyhow::Result<(u16, String)> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let answer = exchange(addr, method, path, key, "application/json", body.as_bytes())?;
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
