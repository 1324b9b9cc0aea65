//! Runs whose payloads lie in a segment file (see `segments`): their rows, their bytes
//! read back whole and checked, and the files an expiry leaves unused.

use rusqlite::{Connection, params};

use super::{Run, corrupt};
use crate::sqlite::segments::{Place, Segments, crc, payloads_crc};
use crate::{StoreError, Write};

impl Run {
    /// Where the run's payloads are once they lie from `at` in segment file `seg`.
    pub(super) fn placed(&self, seg: u64, at: u64) -> Place {
        Place {
            seg,
            at,
            len: self.bytes as u64,
            crc: payloads_crc(&self.payloads),
        }
    }

    /// Inserts the run as a row whose payloads lie at `place` in a segment file.
    pub(super) fn insert_placed(&self, tx: &Connection, place: Place) -> rusqlite::Result<()> {
        tx.prepare_cached(
            "INSERT INTO event_runs (last_id, first_id, class, meta, body, seg, at, len, crc)
             VALUES (?1, ?2, ?3, ?4, x'', ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            self.last_id as i64,
            self.first_id as i64,
            self.class,
            self.meta,
            place.seg as i64,
            place.at as i64,
            place.len as i64,
            place.crc
        ])?;
        Ok(())
    }
}

/// The payloads of a run of `class` at `(seg, at, len, crc)`, read whole and checked
/// against their CRC: damage is an error, never bytes served or rewritten as good.
pub(super) fn read_whole(
    segments: &Segments,
    class: u8,
    (seg, at, len, expected): (u64, u64, i64, u32),
) -> Result<Vec<u8>, StoreError> {
    let len = usize::try_from(len).map_err(|_| corrupt("a run's length below zero"))?;
    let bytes = segments.read(class, seg, at, len)?;
    if crc(&bytes) != expected {
        return Err(corrupt("a run's payloads that fail their CRC").into());
    }
    Ok(bytes)
}

/// The query of [`oldest_segment`] (one seek in `event_runs_by_seg`).
pub(super) const OLDEST_SEGMENT: &str =
    "SELECT min(seg) FROM event_runs WHERE class = ?1 AND seg IS NOT NULL";

/// The oldest segment file `class`'s runs still point into (`None`: none).
pub(super) fn oldest_segment(conn: &Connection, class: u8) -> rusqlite::Result<Option<u64>> {
    let seg: Option<i64> = conn
        .prepare_cached(OLDEST_SEGMENT)?
        .query_row([class], |r| r.get(0))?;
    Ok(seg.map(|s| s as u64))
}

/// After `writes` committed: removes the files of each class they expired that no run
/// points into any more. Removed before the expiry is durable: if the expiry is lost, the
/// runs that pointed into them are dropped at the next open, as they were to be.
pub(in crate::sqlite) fn release_expired(conn: &Connection, segments: &Segments, writes: &[Write]) {
    for write in writes {
        let Write::ExpireEvents { class, .. } = write else {
            continue;
        };
        match oldest_segment(conn, *class) {
            Ok(oldest) => segments.unlink_before(*class, oldest),
            Err(e) => tracing::warn!(error = %e, "Could not tell which event segments are in use."),
        }
    }
}
