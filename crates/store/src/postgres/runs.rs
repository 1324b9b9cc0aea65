//! Events in runs on PostgreSQL ([`crate::runs`]): `fb_event_runs` holds a row per run,
//! keyed by the org and the run's last replay id, so the runs after a position are the
//! rows with a larger key. A publish of 100 events of 1 KB is one row where it was 100
//! (PostgreSQL's cost is per row as much as per byte: see docs/performance.md), and a
//! replay reads a row per run.
//!
//! Databases written before runs keep their events in `fb_events`, one row each: they
//! are read and expired beside the runs until retention has emptied that table for the
//! org (`Legacy`); new events only go into runs.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use postgres::{Client, GenericClient, Transaction};

#[cfg(test)]
pub(super) mod tests;

use super::Conn;
use super::writes::Prepared;
use crate::runs::cut;
use crate::runs::meta::{decode, entries};
use crate::{StoreError, StoredEvent, Write};

/// Whether the org has events from before runs in `fb_events`: not known yet, some, none.
#[derive(Debug, Default)]
pub(super) struct Legacy(AtomicU8);

const UNKNOWN: u8 = 0;
const SOME: u8 = 1;
const NONE: u8 = 2;

const HAS_LEGACY: &str = "SELECT EXISTS (SELECT 1 FROM fb_events WHERE org = $1)";

impl Legacy {
    /// Whether the org may have old-style events (read once, then known: none are ever
    /// added, and [`expire`] notes when the last are gone).
    fn some(&self, c: &mut impl GenericClient, org: &str) -> Result<bool, postgres::Error> {
        match self.0.load(Ordering::Relaxed) {
            SOME => Ok(true),
            NONE => Ok(false),
            _ => {
                let some: bool = c.query_one(HAS_LEGACY, &[&org])?.get(0);
                self.0
                    .store(if some { SOME } else { NONE }, Ordering::Relaxed);
                Ok(some)
            }
        }
    }

    /// Reads again whether old-style events are left (after an expiry removed some).
    fn recheck(&self) {
        let _ = self
            .0
            .compare_exchange(SOME, UNKNOWN, Ordering::Relaxed, Ordering::Relaxed);
    }
}

/// The runs that appending events writes, as a statement's arrays, and the span of replay
/// ids they take (checked free first: ids are never reused).
#[derive(Debug, Default)]
pub(super) struct Runs {
    pub(super) last: Vec<i64>,
    pub(super) first: Vec<i64>,
    pub(super) classes: Vec<i16>,
    pub(super) metas: Vec<Vec<u8>>,
    pub(super) bodies: Vec<Vec<u8>>,
}

impl Runs {
    /// The events `writes` append (in replay-id order), cut into runs.
    pub(super) fn of(writes: &[Write]) -> Self {
        let events = writes.iter().filter_map(|w| match w {
            Write::AppendEvent(e) => Some(e),
            _ => None,
        });
        let mut out = Self::default();
        for run in cut(events) {
            out.last.push(run.last_id as i64);
            out.first.push(run.first_id as i64);
            out.classes.push(i16::from(run.class));
            out.bodies.push(run.body());
            out.metas.push(run.meta);
        }
        out
    }

    /// The lowest and highest replay ids the runs take (`0, -1` when there are none).
    pub(super) fn span(&self) -> (i64, i64) {
        match (self.first.first(), self.last.last()) {
            (Some(&lo), Some(&hi)) => (lo, hi),
            _ => (0, -1),
        }
    }
}

/// Whether a replay id from `$lo` to `$hi` (parameters) is in the org's log already: the
/// first run ending at or after `$lo` starts at or before `$hi` (runs do not overlap), or
/// an old-style event has one.
macro_rules! taken {
    ($lo:literal, $hi:literal) => {
        concat!(
            "(EXISTS (SELECT 1 FROM (SELECT first_id FROM fb_event_runs WHERE org = $1 AND last_id >= ",
            $lo,
            " ORDER BY last_id LIMIT 1) AS r WHERE r.first_id <= ",
            $hi,
            ") OR EXISTS (SELECT 1 FROM fb_events WHERE org = $1 AND replay_id BETWEEN ",
            $lo,
            " AND ",
            $hi,
            "))"
        )
    };
}
pub(super) use taken;

/// [`taken`] as a query of its own.
const TAKEN: &str = concat!("SELECT ", taken!("$2", "$3"));

/// The refusal of events whose replay ids reach ids already in the log.
pub(super) fn taken_error(lo: i64, hi: i64) -> StoreError {
    StoreError::Conflict(format!(
        "replay ids {lo} to {hi} reach ids already in the log"
    ))
}

const INSERT: &str = "INSERT INTO fb_event_runs (org, last_id, first_id, class, meta, body)
    SELECT $1, * FROM unnest($2::int8[], $3::int8[], $4::int2[], $5::bytea[], $6::bytea[])";

/// Appends the events of `writes` as runs in `tx`; fails, writing nothing, when one of
/// their replay ids is taken.
pub(super) fn append(
    tx: &mut Transaction<'_>,
    prepared: &mut Prepared,
    org: &str,
    writes: &[Write],
) -> Result<(), StoreError> {
    let runs = Runs::of(writes);
    let (lo, hi) = runs.span();
    if is_taken(tx, prepared, org, (lo, hi))? {
        return Err(taken_error(lo, hi));
    }
    insert(tx, prepared, org, &runs)
}

/// Drops every event of `class` up to and including `through`: the runs that end there
/// or before, the earlier events of the run `through` falls inside (what is kept of it is
/// written again as runs ending where it ended), and old-style events.
pub(super) fn expire(
    tx: &mut Transaction<'_>,
    prepared: &mut Prepared,
    org: &str,
    class: u8,
    through: u64,
    legacy: &Legacy,
) -> Result<(), StoreError> {
    let (class, through) = (i16::from(class), through as i64);
    if legacy.some(tx, org)? {
        tx.execute(
            "DELETE FROM fb_events WHERE org = $1 AND class = $2 AND replay_id <= $3",
            &[&org, &class, &through],
        )?;
        legacy.recheck();
    }
    let stmt = Conn::prepare(
        prepared,
        tx,
        "DELETE FROM fb_event_runs WHERE org = $1 AND class = $2 AND last_id <= $3",
    )?;
    tx.execute(&stmt, &[&org, &class, &through])?;
    let stmt = Conn::prepare(
        prepared,
        tx,
        "DELETE FROM fb_event_runs WHERE org = $1 AND last_id = (
            SELECT last_id FROM fb_event_runs WHERE org = $1 AND class = $2 AND last_id > $3
            ORDER BY last_id LIMIT 1) AND first_id <= $3
        RETURNING last_id, first_id, meta, body",
    )?;
    let Some(row) = tx.query_opt(&stmt, &[&org, &class, &through])? else {
        return Ok(());
    };
    let (last, first): (i64, i64) = (row.get(0), row.get(1));
    let meta: &[u8] = row.get(2);
    let body = Bytes::copy_from_slice(row.get::<_, &[u8]>(3));
    let events = decode(first as u64, last as u64, class as u8, meta, &body).map_err(corrupt)?;
    let kept: Vec<Write> = events
        .into_iter()
        .filter(|e| e.replay_id as i64 > through)
        .map(Write::AppendEvent)
        .collect();
    let runs = Runs::of(&kept);
    insert(tx, prepared, org, &runs)
}

/// Most runs read by one query: a window of a few events reads a row or two, a long
/// replay reads on in steps.
const STEP: i64 = 64;

/// The run a read last stopped inside, decoded, for the read that goes on from there: a
/// replay takes a window of 100 events at a time from runs of up to 512, and would read
/// and decode each run five times over. An expiry (which may rewrite runs) clears it once
/// committed, and a read that began before that keeps nothing.
#[derive(Debug, Default)]
pub(super) struct LastRun(Mutex<(u64, Option<Arc<Decoded>>)>);

#[derive(Debug)]
pub(super) struct Decoded {
    first: u64,
    last: u64,
    events: Vec<StoredEvent>,
}

impl LastRun {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Option<Arc<Decoded>>)> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The clearing count as a read begins, and the run kept if the read, from `after`,
    /// goes on inside it: every event of the log after `after` up to its last is in it
    /// (runs do not overlap).
    fn begin(&self, after: u64) -> (u64, Option<Arc<Decoded>>) {
        let kept = self.lock();
        let run = kept
            .1
            .clone()
            .filter(|r| r.first <= after && after < r.last);
        (kept.0, run)
    }

    /// Keeps `run` unless the run kept was cleared since the read began (`began`).
    fn keep(&self, began: u64, run: Decoded) {
        let mut kept = self.lock();
        if kept.0 == began {
            kept.1 = Some(Arc::new(run));
        }
    }

    /// Forgets the run kept (an expiry may have rewritten it).
    pub(super) fn clear(&self) {
        let mut kept = self.lock();
        kept.0 += 1;
        kept.1 = None;
    }
}

/// Up to `limit` events after `after`, in order: from the run the last read stopped
/// inside, then runs read a few at a time until enough events are taken, merged with
/// old-style events while the org has any.
pub(super) fn load(
    client: &mut Client,
    prepared: &mut Prepared,
    org: &str,
    (after, limit): (u64, usize),
    legacy: &Legacy,
    last_run: &LastRun,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut events = Vec::new();
    let old_style = legacy.some(client, org)?;
    let mut from = after;
    let (began, kept) = last_run.begin(after);
    if let Some(run) = kept.filter(|_| !old_style) {
        let taken = run.events.iter().filter(|e| e.replay_id > after);
        events.extend(taken.take(limit).cloned());
        from = run.last;
    }
    let stmt = Conn::prepare(
        prepared,
        client,
        "SELECT last_id, first_id, class, meta, body FROM fb_event_runs
         WHERE org = $1 AND last_id > $2 ORDER BY last_id LIMIT $3",
    )?;
    // One row first (a run may hold all the events wanted), then twice as many each time
    // the rows read fall short, up to `STEP`.
    let mut step = 1;
    'reading: while events.len() < limit {
        let rows = client.query(&stmt, &[&org, &(from as i64), &step])?;
        for r in &rows {
            let (last, first, class): (i64, i64, i16) = (r.get(0), r.get(1), r.get(2));
            let body = Bytes::from(r.get::<_, Vec<u8>>(4));
            let run =
                decode(first as u64, last as u64, class as u8, r.get(3), &body).map_err(corrupt)?;
            let wanted = limit - events.len();
            let after_in_run = run.partition_point(|e| e.replay_id <= after);
            let stops_inside = run.len() - after_in_run > wanted;
            if stops_inside {
                // Kept whole for the next read: the events taken are copies.
                let taken = &run[after_in_run..after_in_run + wanted];
                events.extend_from_slice(taken);
                let (first, last) = (first as u64, last as u64);
                last_run.keep(
                    began,
                    Decoded {
                        first,
                        last,
                        events: run,
                    },
                );
                break 'reading;
            }
            events.extend(run.into_iter().skip(after_in_run));
            if events.len() == limit {
                break 'reading;
            }
            from = last as u64;
        }
        if (rows.len() as i64) < step {
            break;
        }
        step = (step * 2).min(STEP);
    }
    if old_style {
        merge_legacy(client, org, after, limit, &mut events)?;
    }
    Ok(events)
}

/// `events` (from runs) merged with the org's old-style events after `after`, in order,
/// cut to `limit`.
fn merge_legacy(
    client: &mut Client,
    org: &str,
    after: u64,
    limit: usize,
    events: &mut Vec<StoredEvent>,
) -> Result<(), StoreError> {
    let rows = client.query(
        "SELECT replay_id, kind, class, time_ms, payload FROM fb_events
         WHERE org = $1 AND replay_id > $2 ORDER BY replay_id LIMIT $3",
        &[&org, &(after as i64), &(limit as i64)],
    )?;
    if rows.is_empty() {
        return Ok(());
    }
    events.extend(rows.iter().map(|r| StoredEvent {
        replay_id: r.get::<_, i64>(0) as u64,
        kind: r.get(1),
        class: r.get::<_, i16>(2) as u8,
        time_ms: r.get(3),
        payload: Bytes::from(r.get::<_, Vec<u8>>(4)),
    }));
    events.sort_by_key(|e| e.replay_id);
    events.truncate(limit);
    Ok(())
}

/// Every event's replay id, class, time and payload size, in order, from the runs'
/// `meta` (their bodies are not read) and the old-style events.
pub(super) fn load_index(
    client: &mut Client,
    org: &str,
    legacy: &Legacy,
) -> Result<Vec<(u64, u8, i64, usize)>, StoreError> {
    let rows = client.query(
        "SELECT last_id, first_id, class, meta, length(body) FROM fb_event_runs
         WHERE org = $1 ORDER BY last_id",
        &[&org],
    )?;
    let mut out = Vec::new();
    for r in &rows {
        let (last, first, class): (i64, i64, i16) = (r.get(0), r.get(1), r.get(2));
        let all = entries(
            first as u64,
            last as u64,
            r.get(3),
            i64::from(r.get::<_, i32>(4)),
        )
        .map_err(corrupt)?;
        out.extend(all.iter().map(|e| (e.id, class as u8, e.time, e.size)));
    }
    if legacy.some(client, org)? {
        let rows = client.query(
            "SELECT replay_id, class, time_ms, length(payload) FROM fb_events
             WHERE org = $1 ORDER BY replay_id",
            &[&org],
        )?;
        out.extend(rows.iter().map(|r| {
            (
                r.get::<_, i64>(0) as u64,
                r.get::<_, i16>(1) as u8,
                r.get(2),
                r.get::<_, i32>(3) as usize,
            )
        }));
        out.sort_by_key(|e| e.0);
    }
    Ok(out)
}

/// A run that does not decode: the database was damaged (or written by something else).
fn corrupt(what: &'static str) -> StoreError {
    StoreError::Corrupt(format!("an event run does not decode: {what}"))
}

/// Whether the replay ids from `lo` to `hi` are taken in the org's log.
pub(super) fn is_taken(
    c: &mut impl GenericClient,
    prepared: &mut Prepared,
    org: &str,
    (lo, hi): (i64, i64),
) -> Result<bool, StoreError> {
    let stmt = Conn::prepare(prepared, c, TAKEN)?;
    Ok(c.query_one(&stmt, &[&org, &lo, &hi])?.get(0))
}

/// Inserts `runs` as rows of the org's.
fn insert(
    c: &mut impl GenericClient,
    prepared: &mut Prepared,
    org: &str,
    runs: &Runs,
) -> Result<(), StoreError> {
    let stmt = Conn::prepare(prepared, c, INSERT)?;
    let params: [&(dyn postgres::types::ToSql + Sync); 6] = [
        &org,
        &runs.last,
        &runs.first,
        &runs.classes,
        &runs.metas,
        &runs.bodies,
    ];
    c.execute(&stmt, &params)?;
    Ok(())
}
