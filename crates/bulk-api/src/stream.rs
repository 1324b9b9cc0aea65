//! Streaming a span of a file as a response body: bulk results can be far larger than a
//! response should hold in memory, so they are read in pieces on a blocking thread and
//! sent as they come.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use axum::body::{Body, Bytes};

/// Pieces read at a time.
const PIECE: usize = 64 * 1024;

/// A body of `prefix`, then `len` bytes of the file at `path` from `from`.
pub(crate) fn file_body(prefix: Vec<u8>, path: Option<PathBuf>, from: u64, len: u64) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        if !prefix.is_empty() && tx.blocking_send(Ok(Bytes::from(prefix))).is_err() {
            return;
        }
        let Some(path) = path.filter(|_| len > 0) else {
            return;
        };
        let file = std::fs::File::open(&path).and_then(|mut f| {
            f.seek(SeekFrom::Start(from))?;
            Ok(f)
        });
        let mut file = match file {
            Ok(f) => f.take(len),
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        let mut buf = vec![0u8; PIECE];
        loop {
            match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if tx
                        .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
}
