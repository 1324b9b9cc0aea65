//! Events stored in runs: the events of one retention class that a commit appends one
//! after another are one row of `event_runs`, not a row each. A publish of 100 events is
//! one B-tree insert (and its index entries) instead of 100, with their payloads packed in
//! one blob.
//!
//! A row is `(last_id, first_id, class, meta, body)`, keyed by its last replay id, so the
//! runs holding events after a position are the rows with a larger key:
//!
//! - `meta` lists the run's events in order, each as varints: its replay id past the
//!   previous one's (the first's past `first_id`: 0), its time past the previous one's
//!   (zigzag; the first's past 0), its payload's size, and its kind: 0 for the previous
//!   event's kind, otherwise the kind's length + 1 followed by its bytes. It comes before
//!   `body` in the row, so reading the index at start-up does not read the payloads.
//! - `body` is the payloads, one after another.
//!
//! A run whose payloads went to a segment file (`segments`) has an empty `body` and says
//! where they are: `seg` (the file), `at`, `len` and `crc` (NULL for a run in SQLite).
//! [`meta`](crate::runs::meta) is the `meta` column's format; [`placed`] holds what is particular to those runs, and [`recover`] drops, at open, the
//! runs whose payloads never reached their file.
//!
//! Expiring a class up to a replay id deletes its runs that end there or earlier and
//! rewrites the one it cuts through. Databases written before runs keep their events in
//! `events`, one row each: they are read, expired and checked for reuse beside the runs
//! until retention has emptied that table; new events only go into runs.

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, params};

use super::segments::Segments;
use crate::{StoreError, StoredEvent};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS event_runs (
    last_id INTEGER PRIMARY KEY,
    first_id INTEGER NOT NULL,
    class INTEGER NOT NULL,
    meta BLOB NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS event_runs_by_class ON event_runs (class, last_id);
";

/// The columns of a run whose payloads are in a segment file, added to a database made
/// before them.
const SEGMENT_COLUMNS: [&str; 4] = ["seg", "at", "len", "crc"];

/// Creates `event_runs`, or adds the segment columns to one made before them, and the
/// index of the runs in segment files.
pub(super) fn create(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)?;
    let mut have = Vec::new();
    {
        let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('event_runs')")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            have.push(r.get::<_, String>(0)?);
        }
    }
    for column in SEGMENT_COLUMNS {
        if !have.iter().any(|h| h == column) {
            conn.execute_batch(&format!(
                "ALTER TABLE event_runs ADD COLUMN {column} INTEGER"
            ))?;
        }
    }
    // The oldest file a class's runs point into, found at every expiry step in one seek
    // (without it, a walk over every run of the class: 9% of the server's CPU under
    // publish once retention ran). Runs kept in their row are not in it.
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS event_runs_by_seg ON event_runs (class, seg) \
         WHERE seg IS NOT NULL",
    )?;
    Ok(())
}

impl Run {
    /// Inserts the run as a row: the payloads are written into a `body` made at their
    /// size (SQLite's incremental blob writes), not bound as one copied value.
    fn insert(&self, tx: &Connection) -> rusqlite::Result<()> {
        tx.prepare_cached(
            "INSERT INTO event_runs (last_id, first_id, class, meta, body) VALUES (?1, ?2, ?3, ?4, zeroblob(?5))",
        )?
        .execute(params![
            self.last_id as i64,
            self.first_id as i64,
            self.class,
            self.meta,
            self.bytes as i64
        ])?;
        if self.bytes > 0 {
            let mut body = tx.blob_open(
                rusqlite::DatabaseName::Main,
                "event_runs",
                "body",
                self.last_id as i64,
                false,
            )?;
            let mut at = 0;
            for p in &self.payloads {
                body.write_at(p, at)?;
                at += p.len();
            }
            body.close()?;
        }
        Ok(())
    }
}

/// Appends `events` (in replay-id order) to the runs in `tx`, their payloads into
/// `segments` when given (else into the rows). Fails, writing nothing more, when one of
/// their replay ids may already be taken: ids are never reused.
pub(super) fn append(
    tx: &Connection,
    events: &[&StoredEvent],
    legacy: bool,
    segments: Option<&Segments>,
) -> Result<(), StoreError> {
    for run in cut(events.iter().copied()) {
        refuse_taken(tx, run.first_id, run.last_id, legacy)?;
        match segments {
            Some(segments) => {
                let place = segments.append(run.class, &run.payloads)?;
                debug_assert_eq!(place, run.placed(place.seg, place.at));
                run.insert_placed(tx, place)?;
            }
            None => run.insert(tx)?,
        }
    }
    Ok(())
}

/// An error when a replay id from `first` to `last` may be in the log already: a run's
/// range reaches it, or (`legacy`) an event of the old table has it.
fn refuse_taken(tx: &Connection, first: u64, last: u64, legacy: bool) -> rusqlite::Result<()> {
    // Runs do not overlap, so the first one ending at or after `first` is the only one
    // that can reach into `first..=last`.
    let next: Option<i64> = tx
        .prepare_cached(
            "SELECT first_id FROM event_runs WHERE last_id >= ?1 ORDER BY last_id LIMIT 1",
        )?
        .query_row([first as i64], |r| r.get(0))
        .optional()?;
    let mut taken = next.is_some_and(|f| f as u64 <= last);
    if legacy && !taken {
        taken = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM events WHERE replay_id BETWEEN ?1 AND ?2)",
            )?
            .query_row([first as i64, last as i64], |r| r.get(0))?;
    }
    if taken {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            Some(format!(
                "replay ids {first} to {last} reach ids already in the log"
            )),
        ));
    }
    Ok(())
}

/// Drops every event of `class` up to and including `through`: its runs that end there
/// or before, and the earlier events of the run `through` falls inside. Answers about how
/// many bytes that rewrote in the database (for the checkpointer's count).
pub(super) fn expire(
    tx: &Connection,
    class: u8,
    through: u64,
    segments: Option<&Segments>,
) -> Result<u64, StoreError> {
    tx.prepare_cached("DELETE FROM event_runs WHERE class = ?1 AND last_id <= ?2")?
        .execute(params![class, through as i64])?;
    let straddling: Option<Straddling> = tx
        .prepare_cached(
            "SELECT last_id, first_id, meta, body, seg, at, len, crc FROM event_runs
             WHERE class = ?1 AND last_id > ?2 ORDER BY last_id LIMIT 1",
        )?
        .query_row(params![class, through as i64], |r| {
            let place = match r.get::<_, Option<i64>>(4)? {
                Some(seg) => Some((seg as u64, r.get::<_, i64>(5)? as u64, r.get(6)?, r.get(7)?)),
                None => None,
            };
            Ok(Straddling {
                last_id: r.get::<_, i64>(0)? as u64,
                first_id: r.get::<_, i64>(1)? as u64,
                meta: r.get(2)?,
                body: r.get(3)?,
                place,
            })
        })
        .optional()?;
    let Some(run) = straddling.filter(|r| r.first_id <= through) else {
        return Ok(0);
    };
    tx.prepare_cached("DELETE FROM event_runs WHERE last_id = ?1")?
        .execute([run.last_id as i64])?;
    let body = match run.place {
        Some(place) => {
            let segments =
                segments.ok_or_else(|| corrupt("a run in a segment file of no directory"))?;
            Bytes::from(placed::read_whole(segments, class, place)?)
        }
        None => Bytes::from(run.body),
    };
    let events = decode(run.first_id, run.last_id, class, &run.meta, &body).map_err(corrupt)?;
    // What is kept of one run is one run again (the same class, fewer events and bytes),
    // ending at the same `last_id`; in a segment file, its payloads stay where they lie.
    let kept: Vec<&StoredEvent> = events.iter().filter(|e| e.replay_id > through).collect();
    let kept_bytes: usize = kept.iter().map(|e| e.payload.len()).sum();
    let mut next_at = run
        .place
        .map(|(_, at, _, _)| at + (body.len() - kept_bytes) as u64);
    let mut rewritten = 0;
    for kept_run in cut(kept) {
        match (&mut next_at, run.place) {
            (Some(at), Some((seg, ..))) => {
                kept_run.insert_placed(tx, kept_run.placed(seg, *at))?;
                *at += kept_run.bytes as u64;
                rewritten += kept_run.meta.len() as u64;
            }
            _ => {
                kept_run.insert(tx)?;
                rewritten += (kept_run.meta.len() + kept_run.bytes) as u64;
            }
        }
    }
    Ok(rewritten)
}

/// The run an expiry cuts through, as read (its row deleted).
struct Straddling {
    last_id: u64,
    first_id: u64,
    meta: Vec<u8>,
    body: Vec<u8>,
    /// In a segment file: its number, offset, length and CRC.
    place: Option<(u64, u64, i64, u32)>,
}

/// Up to `limit` events after `after`, in order. Only the payload bytes of the events
/// taken are read (SQLite's incremental blob reads), into one buffer per run that their
/// payloads share: a read of a few events of a large run neither reads nor holds the rest.
pub(super) fn load(
    conn: &Connection,
    after: u64,
    limit: usize,
    segments: Option<&Segments>,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut events = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT last_id, first_id, class, meta, coalesce(len, length(body)), seg, at, crc
         FROM event_runs WHERE last_id > ?1 ORDER BY last_id",
    )?;
    let mut rows = stmt.query([after as i64])?;
    while events.len() < limit {
        let Some(r) = rows.next()? else { break };
        let last_id = r.get::<_, i64>(0)?;
        let class: u8 = r.get(2)?;
        let meta = r.get_ref(3)?.as_blob().map_err(rusqlite::Error::from)?;
        let all = entries(r.get::<_, i64>(1)? as u64, last_id as u64, meta, r.get(4)?)
            .map_err(corrupt)?;
        let taken: Vec<&Entry> = all
            .iter()
            .filter(|e| e.id > after)
            .take(limit - events.len())
            .collect();
        let (Some(first), Some(last)) = (taken.first(), taken.last()) else {
            continue;
        };
        let start = first.offset;
        let mut bytes = vec![0u8; last.offset + last.size - start];
        if let Some(seg) = r.get::<_, Option<i64>>(5)? {
            let segments =
                segments.ok_or_else(|| corrupt("a run in a segment file of no directory"))?;
            let (seg, at) = (seg as u64, r.get::<_, i64>(6)? as u64);
            // A read of the whole run checks what was written (a part of one cannot).
            bytes = if taken.len() == all.len() {
                placed::read_whole(segments, class, (seg, at, r.get(4)?, r.get(7)?))?
            } else {
                segments.read(class, seg, at + start as u64, bytes.len())?
            };
        } else if !bytes.is_empty() {
            conn.blob_open(
                rusqlite::DatabaseName::Main,
                "event_runs",
                "body",
                last_id,
                true,
            )?
            .read_at_exact(&mut bytes, start)?;
        }
        let bytes = Bytes::from(bytes);
        for e in taken {
            events.push(StoredEvent {
                replay_id: e.id,
                kind: kind_of(meta, e).map_err(corrupt)?,
                class,
                time_ms: e.time,
                payload: bytes.slice(e.offset - start..e.offset - start + e.size),
            });
        }
    }
    Ok(events)
}

/// Every run's events' replay ids, classes, times and payload sizes, in order, from
/// their `meta` alone (the payloads are not read).
pub(super) fn load_index(
    conn: &Connection,
    out: &mut Vec<(u64, u8, i64, usize)>,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(
        "SELECT last_id, first_id, class, meta, coalesce(len, length(body)) FROM event_runs
         ORDER BY last_id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let class: u8 = r.get(2)?;
        let meta = r.get_ref(3)?.as_blob().map_err(rusqlite::Error::from)?;
        let all = entries(
            r.get::<_, i64>(1)? as u64,
            r.get::<_, i64>(0)? as u64,
            meta,
            r.get(4)?,
        )
        .map_err(corrupt)?;
        out.extend(all.iter().map(|e| (e.id, class, e.time, e.size)));
    }
    Ok(())
}

/// A run that does not decode: the database was damaged (or written by something else).
pub(super) fn corrupt(what: &'static str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
        Some(format!("an event run does not decode: {what}")),
    )
}

mod placed;
mod recover;
#[cfg(test)]
mod tests;

pub(super) use self::placed::release_expired;
pub(super) use self::recover::recover;
pub(super) use crate::runs::meta::decode;
use crate::runs::meta::{Entry, entries, kind_of};
#[cfg(test)]
use crate::runs::{RUN_BYTES, RUN_EVENTS};
use crate::runs::{Run, cut};
