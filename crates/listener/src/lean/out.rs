//! Bytes queued for a socket the lean path also watches (it holds the socket by shared
//! reference, so it writes with `try_write`, not through `AsyncWrite`): an answer's
//! pieces, gathered and written with as few vectored writes as the socket takes.

use std::collections::VecDeque;
use std::io::{self, IoSlice};

use bytes::{Buf as _, Bytes};
use tokio::net::TcpStream;

/// Pieces handed to one vectored write, at most.
const SLICES: usize = 64;

/// Bytes waiting to be written, in order.
#[derive(Default)]
pub(super) struct Out {
    queue: VecDeque<Bytes>,
    len: usize,
}

impl Out {
    pub(super) fn push(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        self.len += bytes.len();
        self.queue.push_back(bytes);
    }

    /// Bytes queued.
    pub(super) fn bytes(&self) -> usize {
        self.len
    }

    /// Pieces queued.
    pub(super) fn pieces(&self) -> usize {
        self.queue.len()
    }

    /// Writes everything queued.
    pub(super) async fn flush(&mut self, io: &TcpStream) -> io::Result<()> {
        while !self.queue.is_empty() {
            io.writable().await?;
            let mut slices = [IoSlice::new(&[]); SLICES];
            let mut n = 0;
            for (slot, piece) in slices.iter_mut().zip(&self.queue) {
                *slot = IoSlice::new(piece);
                n += 1;
            }
            let written = match io.try_write_vectored(&slices[..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => written,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
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
pub(super) async fn write_all(io: &TcpStream, bytes: &'static [u8]) -> io::Result<()> {
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
        assert_eq!((out.bytes(), out.pieces()), (12, 3));
        out.consume(7);
        assert_eq!(out.bytes(), 5);
        let rest: Vec<&[u8]> = out.queue.iter().map(|b| &b[..]).collect();
        assert_eq!(rest, [&b"y"[..], b"tail"]);
        out.consume(5);
        assert!(out.queue.is_empty());
        assert_eq!(out.bytes(), 0);
    }
}
