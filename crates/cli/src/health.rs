//! `forcebus health`: a container `HEALTHCHECK` in an image without curl. Asks a server
//! for `/forcebus/health` over plain HTTP and fails unless it answers 200 in time.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::time::Duration;

use anyhow::{Context, bail};

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
