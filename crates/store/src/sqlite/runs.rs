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
use rusqlite::{Connection, OptionalExtension, Transaction, params};

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
    for run in cut(events.iter().copied()) {
        refuse_taken(tx, run.first_id, run.last_id, legacy)?;
        run.insert(tx)?;
    }
    Ok(())
}

/// `events` (in replay-id order) cut into runs: each event joins the run before it when
/// that run [takes](Run::takes) it.
fn cut<'a>(events: impl IntoIterator<Item = &'a StoredEvent>) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for e in events {
        match runs.last_mut() {
            Some(run) if run.takes(e) => run.add(e),
            _ => runs.push(Run::new(e)),
        }
    }
    runs
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
/// many bytes that rewrote (for the checkpointer's count).
pub(super) fn expire(tx: &Transaction<'_>, class: u8, through: u64) -> rusqlite::Result<u64> {
    tx.prepare_cached("DELETE FROM event_runs WHERE class = ?1 AND last_id <= ?2")?
        .execute(params![class, through as i64])?;
    let straddling: Option<(i64, i64, Vec<u8>, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT last_id, first_id, meta, body FROM event_runs
             WHERE class = ?1 AND last_id > ?2 ORDER BY last_id LIMIT 1",
        )?
        .query_row(params![class, through as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((last_id, first_id, meta, body)) = straddling else {
        return Ok(0);
    };
    if first_id as u64 > through {
        return Ok(0);
    }
    let body = Bytes::from(body);
    let events = decode(first_id as u64, last_id as u64, class, &meta, &body).map_err(corrupt)?;
    tx.prepare_cached("DELETE FROM event_runs WHERE last_id = ?1")?
        .execute([last_id])?;
    // What is kept of one run is one run again (the same class, fewer events and bytes),
    // ending at the same `last_id`.
    let mut rewritten = 0;
    for run in cut(events.iter().filter(|e| e.replay_id > through)) {
        run.insert(tx)?;
        rewritten += (run.meta.len() + run.bytes) as u64;
    }
    Ok(rewritten)
}

/// Up to `limit` events after `after`, in order. Only the payload bytes of the events
/// taken are read (SQLite's incremental blob reads), into one buffer per run that their
/// payloads share: a read of a few events of a large run neither reads nor holds the rest.
pub(super) fn load(
    conn: &Connection,
    after: u64,
    limit: usize,
) -> rusqlite::Result<Vec<StoredEvent>> {
    let mut events = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT last_id, first_id, class, meta, length(body) FROM event_runs
         WHERE last_id > ?1 ORDER BY last_id",
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
        if !bytes.is_empty() {
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
        "SELECT last_id, first_id, class, meta, length(body) FROM event_runs ORDER BY last_id",
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

/// One event of a run's `meta`: where its payload is in `body` and where its kind is in
/// `meta` (the last kind written, for an event of the same kind as the one before).
#[derive(Debug)]
struct Entry {
    id: u64,
    time: i64,
    offset: usize,
    size: usize,
    kind: std::ops::Range<usize>,
}

/// The events `meta` lists, checked: ids rising from `first_id` to `last_id`, the first
/// with a kind, payloads filling a body of `body_len` bytes exactly.
fn entries(
    first_id: u64,
    last_id: u64,
    meta: &[u8],
    body_len: i64,
) -> Result<Vec<Entry>, &'static str> {
    let mut out: Vec<Entry> = Vec::new();
    let (mut at, mut offset, mut id, mut time) = (0usize, 0usize, first_id, 0i64);
    let mut kind = 0..0;
    while at < meta.len() {
        let step = varint(meta, &mut at)?;
        if out.is_empty() != (step == 0) {
            return Err("replay ids that do not rise from the run's first");
        }
        id = id.checked_add(step).ok_or("a replay id past u64")?;
        time = time.wrapping_add(unzigzag(varint(meta, &mut at)?));
        let size = usize::try_from(varint(meta, &mut at)?).map_err(|_| "a size past usize")?;
        let kind_len = usize::try_from(varint(meta, &mut at)?).map_err(|_| "a kind past usize")?;
        if kind_len > 0 {
            let end = at.checked_add(kind_len - 1).filter(|&e| e <= meta.len());
            let end = end.ok_or("a kind cut short")?;
            kind = at..end;
            at = end;
        } else if out.is_empty() {
            return Err("a first event without a kind");
        }
        out.push(Entry {
            id,
            time,
            offset,
            size,
            kind: kind.clone(),
        });
        offset = offset.checked_add(size).ok_or("a size past usize")?;
    }
    if out.last().map(|e| e.id) != Some(last_id) {
        return Err("events that do not end at the run's last replay id");
    }
    if i64::try_from(offset) != Ok(body_len) {
        return Err("payload sizes that do not add up to the body's");
    }
    Ok(out)
}

fn kind_of(meta: &[u8], e: &Entry) -> Result<String, &'static str> {
    std::str::from_utf8(&meta[e.kind.clone()])
        .map(str::to_owned)
        .map_err(|_| "a kind not UTF-8")
}

/// The events of a run, in order, their payloads slices of `body`.
pub(super) fn decode(
    first_id: u64,
    last_id: u64,
    class: u8,
    meta: &[u8],
    body: &Bytes,
) -> Result<Vec<StoredEvent>, &'static str> {
    entries(first_id, last_id, meta, body.len() as i64)?
        .iter()
        .map(|e| {
            Ok(StoredEvent {
                replay_id: e.id,
                kind: kind_of(meta, e)?,
                class,
                time_ms: e.time,
                payload: body.slice(e.offset..e.offset + e.size),
            })
        })
        .collect()
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
        if shift == 63 && b > 1 {
            break;
        }
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
