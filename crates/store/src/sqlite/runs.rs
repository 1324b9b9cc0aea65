//! Events stored in runs: the events of one retention class that a commit appends one
//! after another are one row of `event_runs`, not a row each. A publish of 100 events is
//! one B-tree insert (and one index entry) instead of 100, with their payloads packed in
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
//! Expiring a class up to a replay id deletes its runs that end there or earlier and
//! rewrites the one it cuts through. Databases written before runs keep their events in
//! `events`, one row each: they are read, expired and checked for reuse beside the runs
//! until retention has emptied that table; new events only go into runs.

use bytes::Bytes;
use rusqlite::{Transaction, params};

use crate::StoredEvent;

/// Most events in a run.
const RUN_EVENTS: usize = 512;
/// Most payload bytes in a run (a single larger event is a run of its own).
const RUN_BYTES: usize = 256 * 1024;

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

/// One run: its events' `meta` encoded, their payloads shared (written into the row's
/// `body` in place, so a run's bytes are never gathered into a buffer of their own).
#[derive(Debug, Default)]
pub(super) struct Run {
    pub(super) first_id: u64,
    pub(super) last_id: u64,
    pub(super) class: u8,
    pub(super) meta: Vec<u8>,
    payloads: Vec<Bytes>,
    bytes: usize,
    last_time: i64,
    last_kind: String,
}

impl Run {
    /// A run starting with `e`.
    pub(super) fn new(e: &StoredEvent) -> Self {
        let mut run = Self {
            first_id: e.replay_id,
            last_id: e.replay_id,
            class: e.class,
            ..Self::default()
        };
        run.add(e);
        run
    }

    /// Whether `e` may follow this run's events in it.
    pub(super) fn takes(&self, e: &StoredEvent) -> bool {
        e.class == self.class
            && e.replay_id > self.last_id
            && self.payloads.len() < RUN_EVENTS
            && self.bytes + e.payload.len() <= RUN_BYTES
    }

    /// Adds `e` (see [`Run::takes`]; the first event is added by [`Run::new`]).
    pub(super) fn add(&mut self, e: &StoredEvent) {
        let first = self.payloads.is_empty();
        let previous = if first { self.first_id } else { self.last_id };
        put_varint(&mut self.meta, e.replay_id - previous);
        put_varint(
            &mut self.meta,
            zigzag(e.time_ms.wrapping_sub(self.last_time)),
        );
        put_varint(&mut self.meta, e.payload.len() as u64);
        if !first && e.kind == self.last_kind {
            self.meta.push(0);
        } else {
            put_varint(&mut self.meta, e.kind.len() as u64 + 1);
            self.meta.extend_from_slice(e.kind.as_bytes());
            self.last_kind.clone_from(&e.kind);
        }
        self.payloads.push(e.payload.clone());
        self.bytes += e.payload.len();
        self.last_id = e.replay_id;
        self.last_time = e.time_ms;
    }

    /// The payloads one after another, as `body` holds them.
    #[cfg(test)]
    pub(super) fn body(&self) -> Vec<u8> {
        self.payloads.concat()
    }

    /// Inserts the run as a row: the payloads are written into a `body` made at their
    /// size (SQLite's incremental blob writes), not bound as one copied value.
    fn insert(&self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
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

/// Appends `events` (in replay-id order) to the runs in `tx`. Fails, writing nothing
/// more, when one of their replay ids may already be taken: ids are never reused.
pub(super) fn append(
    tx: &Transaction<'_>,
    events: &[&StoredEvent],
    legacy: bool,
) -> rusqlite::Result<()> {
    let mut runs: Vec<Run> = Vec::new();
    for e in events {
        match runs.last_mut() {
            Some(run) if run.takes(e) => run.add(e),
            _ => runs.push(Run::new(e)),
        }
    }
    for run in &runs {
        refuse_taken(tx, run.first_id, run.last_id, legacy)?;
        run.insert(tx)?;
    }
    Ok(())
}

/// An error when a replay id from `first` to `last` may be in the log already: a run's
/// range reaches it, or (`legacy`) an event of the old table has it.
fn refuse_taken(tx: &Transaction<'_>, first: u64, last: u64, legacy: bool) -> rusqlite::Result<()> {
    // Runs do not overlap, so the first one ending at or after `first` is the only one
    // that can reach into `first..=last`.
    let next: Option<i64> = tx
        .prepare_cached(
            "SELECT first_id FROM event_runs WHERE last_id >= ?1 ORDER BY last_id LIMIT 1",
        )?
        .query_row([first as i64], |r| r.get(0))
        .map(Some)
        .or_else(none_if_no_rows)?;
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

fn none_if_no_rows<T>(e: rusqlite::Error) -> rusqlite::Result<Option<T>> {
    match e {
        rusqlite::Error::QueryReturnedNoRows => Ok(None),
        e => Err(e),
    }
}

/// Drops every event of `class` up to and including `through`: its runs that end there
/// or before, and the earlier events of the run `through` falls inside.
pub(super) fn expire(tx: &Transaction<'_>, class: u8, through: u64) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM event_runs WHERE class = ?1 AND last_id <= ?2")?
        .execute(params![class, through as i64])?;
    let cut: Option<(i64, i64, Vec<u8>, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT last_id, first_id, meta, body FROM event_runs
             WHERE class = ?1 AND last_id > ?2 ORDER BY last_id LIMIT 1",
        )?
        .query_row(params![class, through as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .map(Some)
        .or_else(none_if_no_rows)?;
    let Some((last_id, first_id, meta, body)) = cut else {
        return Ok(());
    };
    if first_id as u64 > through {
        return Ok(());
    }
    let body = Bytes::from(body);
    let kept: Vec<StoredEvent> = decode(first_id as u64, class, &meta, &body)
        .map_err(corrupt)?
        .into_iter()
        .filter(|e| e.replay_id > through)
        .collect();
    // The run ends after `through`, so something is kept.
    let mut run = Run::new(&kept[0]);
    for e in &kept[1..] {
        run.add(e);
    }
    tx.prepare_cached("DELETE FROM event_runs WHERE last_id = ?1")?
        .execute([last_id])?;
    run.insert(tx)
}

/// The events of a run, in order.
pub(super) fn decode(
    first_id: u64,
    class: u8,
    meta: &[u8],
    body: &Bytes,
) -> Result<Vec<StoredEvent>, &'static str> {
    let mut events = Vec::new();
    let (mut at, mut offset) = (0usize, 0usize);
    let (mut id, mut time) = (first_id, 0i64);
    let mut kind = String::new();
    while at < meta.len() {
        id = id
            .checked_add(varint(meta, &mut at)?)
            .ok_or("a replay id past u64")?;
        time = time.wrapping_add(unzigzag(varint(meta, &mut at)?));
        let size = usize::try_from(varint(meta, &mut at)?).map_err(|_| "a size past usize")?;
        let kind_len = varint(meta, &mut at)?;
        if kind_len > 0 {
            let n = usize::try_from(kind_len - 1).map_err(|_| "a kind past usize")?;
            let bytes = meta
                .get(at..at.saturating_add(n))
                .ok_or("a kind cut short")?;
            kind = String::from_utf8(bytes.to_vec()).map_err(|_| "a kind not UTF-8")?;
            at += n;
        } else if events.is_empty() {
            return Err("a first event without a kind");
        }
        let end = offset.checked_add(size).ok_or("a size past usize")?;
        if end > body.len() {
            return Err("a payload past the body");
        }
        events.push(StoredEvent {
            replay_id: id,
            kind: kind.clone(),
            class,
            time_ms: time,
            payload: body.slice(offset..end),
        });
        offset = end;
    }
    if offset != body.len() {
        return Err("body bytes no event holds");
    }
    Ok(events)
}

/// Each event's replay id, time and payload size, from a run's `meta` alone.
pub(super) fn decode_index(
    first_id: u64,
    class: u8,
    meta: &[u8],
    out: &mut Vec<(u64, u8, i64, usize)>,
) -> Result<(), &'static str> {
    let (mut at, mut id, mut time) = (0usize, first_id, 0i64);
    while at < meta.len() {
        id = id
            .checked_add(varint(meta, &mut at)?)
            .ok_or("a replay id past u64")?;
        time = time.wrapping_add(unzigzag(varint(meta, &mut at)?));
        let size = usize::try_from(varint(meta, &mut at)?).map_err(|_| "a size past usize")?;
        let kind_len = usize::try_from(varint(meta, &mut at)?).map_err(|_| "a kind past usize")?;
        at = at.saturating_add(kind_len.saturating_sub(1));
        if at > meta.len() {
            return Err("a kind cut short");
        }
        out.push((id, class, time, size));
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

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, &'static str> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at).ok_or("a varint cut short")?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(v);
        }
    }
    Err("a varint past 64 bits")
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests;
