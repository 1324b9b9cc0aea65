//! Recovery of the runs whose payloads are in segment files, at open (see `segments`):
//! a run whose payloads did not reach its file was never acknowledged, and goes.

use std::collections::HashMap;

use rusqlite::Connection;

use super::placed::oldest_segment;
use crate::StoreError;
use crate::sqlite::segments::{Segments, crc};

/// Deletes the runs whose payloads did not reach their segment file (see `segments`):
/// the file is gone or too short, or, in one of its class's two newest files, the bytes
/// fail their CRC. Any other error reading a file fails, deleting nothing. Then unlinks
/// the files no run points into, and syncs what is left. Answers how many runs it deleted.
pub(in crate::sqlite) fn recover(
    conn: &Connection,
    segments: &Segments,
) -> Result<usize, StoreError> {
    // Never reuse a number a row names, even one about to be deleted.
    let highest: Option<i64> =
        conn.query_row("SELECT max(seg) FROM event_runs", [], |r| r.get(0))?;
    if let Some(seg) = highest {
        segments.number_past(seg as u64);
    }
    let mut bad = Vec::new();
    {
        let mut stmt = conn.prepare(
            "SELECT last_id, class, seg, at, len, crc FROM event_runs
             WHERE seg IS NOT NULL ORDER BY last_id",
        )?;
        let mut rows = stmt.query([])?;
        let mut sizes: HashMap<u64, Option<u64>> = HashMap::new();
        let mut newest: HashMap<u8, Vec<u64>> = HashMap::new();
        while let Some(r) = rows.next()? {
            let (last_id, class): (i64, u8) = (r.get(0)?, r.get(1)?);
            let (seg, at, len) = (
                r.get::<_, i64>(2)? as u64,
                r.get::<_, i64>(3)? as u64,
                r.get::<_, i64>(4)? as u64,
            );
            let expected: u32 = r.get(5)?;
            let size = match sizes.get(&seg) {
                Some(size) => *size,
                None => *sizes.entry(seg).or_insert(segments.size(class, seg)?),
            };
            let fits = size.is_some_and(|size| at.checked_add(len).is_some_and(|end| end <= size));
            let recent = newest
                .entry(class)
                .or_insert_with(|| segments.newest_two(class))
                .contains(&seg);
            let whole = fits && (!recent || crc_holds(segments, class, seg, at, len, expected)?);
            if !whole {
                bad.push(last_id);
            }
        }
    }
    for last_id in &bad {
        conn.execute("DELETE FROM event_runs WHERE last_id = ?1", [last_id])?;
    }
    if !bad.is_empty() {
        tracing::warn!(
            runs = bad.len(),
            "Event runs whose payloads never reached their segment file were dropped (never acknowledged)."
        );
    }
    for class in segments.classes() {
        segments.unlink_before(class, oldest_segment(conn, class)?);
    }
    segments.settle();
    for class in segments.classes() {
        segments.sync_newest(class)?;
    }
    Ok(bad.len())
}

/// Whether the `len` bytes at `at` in file `seg` have the CRC `expected`; `false` when the
/// file ends before them. Any other error reading them is an error.
fn crc_holds(
    segments: &Segments,
    class: u8,
    seg: u64,
    at: u64,
    len: u64,
    expected: u32,
) -> Result<bool, StoreError> {
    let len = usize::try_from(len).map_err(|_| super::corrupt("a run's length past usize"))?;
    match segments.try_read(class, seg, at, len) {
        Ok(bytes) => Ok(crc(&bytes) == expected),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(StoreError::Io {
            path: format!("event segment {seg} of class {class}"),
            source: e,
        }),
    }
}
