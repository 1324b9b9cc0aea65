//! A run's payloads written to its file in few, large writes.

use std::fs::File;
use std::os::unix::fs::FileExt;

use bytes::Bytes;

/// A run's payloads are gathered into writes of up to this many bytes. A `pwrite` per
/// payload made the kernel do its per-page work (lookup, lock, block mapping) once per
/// payload: four times a page for 1 KB events, a fifth of the server's CPU under publish.
pub(super) const GATHER_BYTES: usize = 256 * 1024;

/// Writes `payloads` one after another from `at`, in as few writes as [`GATHER_BYTES`]
/// allows (a payload that large on its own is written as it is), gathering in `buf`.
pub(super) fn write_gathered(
    file: &File,
    at: u64,
    payloads: &[Bytes],
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    // What is gathered: the payloads written as they are take no room.
    let total: usize = payloads
        .iter()
        .map(Bytes::len)
        .filter(|&n| n < GATHER_BYTES)
        .sum();
    buf.clear();
    buf.reserve_exact(total.min(GATHER_BYTES));
    let mut end = at;
    let flush = |buf: &mut Vec<u8>, end: &mut u64| {
        let written = file.write_all_at(buf, *end);
        *end += buf.len() as u64;
        buf.clear();
        written
    };
    for p in payloads {
        if !buf.is_empty() && buf.len() + p.len() > GATHER_BYTES {
            flush(buf, &mut end)?;
        }
        if p.len() >= GATHER_BYTES {
            file.write_all_at(p, end)?;
            end += p.len() as u64;
        } else {
            buf.extend_from_slice(p);
        }
    }
    if buf.is_empty() {
        Ok(())
    } else {
        flush(buf, &mut end)
    }
}
