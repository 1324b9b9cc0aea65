//! Commits left to the next flush: an org's commit that would otherwise hold its writer for
//! a round trip to the database (writes wait behind it, or a flush is under way) is kept
//! here instead, and the flush sends every commit kept so far as one statement, committed
//! synchronously: one round trip makes them all written and durable (as SQLite's deferred
//! commits share one `COMMIT`). A commit that is not deferred sends what is kept before
//! itself, so the database receives the org's commits in the order they were made.
//!
//! The org applies a deferred commit to its state before the database has it, and nothing
//! of it is acknowledged before a flush covers it (DESIGN: nothing acknowledged is lost).
//! So a send the database refuses (its statement fails, the org's lease moved, the database
//! lost earlier commits) loses commits the org has applied: the store is lost for good, as
//! after a failed `COMMIT` of SQLite's deferred group, and serves again from what the
//! database holds after a restart. A send cut off on its way (the connection ended, the
//! database restarted) may or may not have committed: the commits stay kept, the org's
//! commit count read before they are sent again tells which, and until a send succeeds no
//! commit is deferred (each makes its own round trip, failing, and changing nothing, while
//! the database is away), so the org never runs ahead of a database it cannot reach. The
//! count before a send is always one read from the database under the org's lease (a
//! store that has seen none reads it first), and a settling that finds the lease moved
//! takes nothing as committed: the store is fenced off and lost. One case is left: a send
//! cut off while the database still runs it (the network lost, the statement waiting for a
//! lock) may be sent again before the first ends; the second then finds the replay ids
//! taken, and the store is lost: an outage until a restart, nothing acknowledged lost.

use forcebus_sync::prelude::*;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize};
use std::sync::{Arc, Mutex};

use super::{LOST, PostgresStore, one_statement, record};
use crate::group_commit::Syncer;
use crate::{Batch, StoreError, Write};

/// Why nothing more is committed after a send the database refused.
const REFUSED: &str = "the database refused commits kept for its next flush, which the org \
    had applied; restart forcebus to serve what the database holds";

/// At most this many writes, and about this many bytes, are kept; past either a commit
/// makes its own round trip, so one statement stays a bounded size (twice it at most: a
/// send cut off puts what it carried back in front of what was kept meanwhile).
const MAX_KEPT_WRITES: usize = 10_000;
const MAX_KEPT_BYTES: usize = 64 << 20;

/// The commits kept for the next flush, in the order they were made.
#[derive(Debug, Default)]
pub(super) struct Deferred {
    queue: Mutex<Queue>,
}

#[derive(Debug, Default)]
struct Queue {
    /// Every kept commit's writes, one after another.
    writes: Vec<Write>,
    /// About how many bytes they carry.
    bytes: usize,
    /// How many commits `writes` holds.
    commits: usize,
    /// A send failed: commits are not kept until one succeeds.
    stalled: bool,
    /// A commit's outcome is unknown (its call failed): the org's count as seen may be
    /// behind the database's, so it is read before the next send.
    recount: bool,
    /// A send of the first writes was cut off and may have committed.
    unsure: Option<Unsure>,
}

/// A send cut off on its way: the org's commit count before it, as read from the
/// database, and how many of the kept writes it carried.
#[derive(Debug, Clone, Copy)]
struct Unsure {
    count: i64,
    writes: usize,
}

impl Deferred {
    /// Keeps `batch` for the next flush and gives its ticket, in the same hold (so a flush,
    /// which reads the count of tickets before it takes what is kept, takes the writes of
    /// every ticket it covers); `None` (nothing kept) while a failed send is unsettled, or
    /// when as much as one statement should carry is kept already.
    pub(super) fn keep(&self, batch: &Batch, syncer: &Syncer) -> Option<u64> {
        let mut q = self.queue.locked();
        let bytes: usize = batch.writes.iter().map(size).sum();
        if q.stalled
            || q.writes.len() + batch.writes.len() > MAX_KEPT_WRITES
            || q.bytes + bytes > MAX_KEPT_BYTES
        {
            return None;
        }
        q.writes.extend(batch.writes.iter().cloned());
        q.bytes += bytes;
        q.commits += 1;
        Some(syncer.committed())
    }

    /// The ticket of a commit that made itself durable: durable only if nothing is kept
    /// (a commit kept since the writer sent what was kept has a lower ticket and is not
    /// written yet), in the same hold as keeping gives tickets.
    pub(super) fn ticket_of_durable(&self, syncer: &Syncer) -> u64 {
        let q = self.queue.locked();
        if q.writes.is_empty() {
            syncer.committed_durable()
        } else {
            syncer.committed()
        }
    }

    /// Marks the org's count as seen unreliable: a commit's call failed, and it may have
    /// committed.
    pub(super) fn recount(&self) {
        self.queue.locked().recount = true;
    }

    /// Forgets every kept commit (the org is being erased).
    pub(super) fn clear(&self) {
        *self.queue.locked() = Queue::default();
    }

    /// Whether no commit is kept.
    pub(super) fn is_empty(&self) -> bool {
        self.queue.locked().writes.is_empty()
    }
}

/// About how many bytes a write that may be kept carries.
fn size(w: &Write) -> usize {
    match w {
        Write::PutRecord(r) => r.id.len() + r.object.len() + r.body.len(),
        Write::AppendEvent(e) => e.kind.len() + e.payload.len(),
        Write::Put { space, key, value } => {
            space.len() + key.len() + value.as_ref().map_or(0, String::len)
        }
        _ => 0,
    }
}

/// How far a send got, told from the connection's thread.
#[derive(Debug, Default)]
struct Progress {
    /// The count was read: a send cut off before is settled.
    settled: AtomicBool,
    /// How many of the first kept writes the settled send had committed.
    committed: AtomicUsize,
    /// The statement went out, with the org's commit count (read from the database)
    /// before it.
    sent: AtomicBool,
    count: AtomicI64,
}

impl PostgresStore {
    /// Sends every kept commit as one statement (committed synchronously when
    /// `synchronous`), first settling a send that was cut off. The caller holds the writing
    /// lock. `Ok(true)` when a statement was sent; `Ok(false)` when there was nothing to
    /// send, or the settling found it all committed (durable only after a flush).
    pub(super) fn send_deferred(&self, synchronous: bool) -> Result<bool, StoreError> {
        let Some(taken) = self.deferred.take() else {
            return Ok(false);
        };
        let fence = self.fence.load(SeqCst);
        let progress = Arc::new(Progress::default());
        let seen = self.seen.clone();
        let (to_send, told) = (taken.writes.clone(), progress.clone());
        let (unsure, recount) = (taken.unsure, taken.recount);
        let result = self.run(move |c, org| {
            let (client, prepared) = c.parts();
            // The count before the send must be the database's (a store that has not
            // committed yet has seen none; a commit whose call failed may have counted),
            // and a send cut off before is settled by it.
            if unsure.is_some() || recount || seen.locked().started.is_none() {
                let committed = settle(client, prepared, (org, fence), &seen, unsure)?;
                told.committed.store(committed, SeqCst);
                told.settled.store(true, SeqCst);
            }
            let rest = &to_send[told.committed.load(SeqCst)..];
            if rest.is_empty() {
                return Ok(false);
            }
            let was = *seen.locked();
            told.count.store(was.n, SeqCst);
            told.sent.store(true, SeqCst);
            let how = (fence, synchronous);
            let Some(row) = one_statement::commit(client, prepared, org, rest, how, was)? else {
                return Err(one_statement::why_refused(
                    client, prepared, org, fence, was, rest,
                )?);
            };
            record(&seen, row.get(0), row.get(1));
            Ok(true)
        });
        match result {
            Ok(sent) => {
                self.deferred.queue.locked().stalled = false;
                metrics::counter!("forcebus_store_commits_total", "engine" => "postgres")
                    .increment(taken.commits as u64);
                Ok(sent)
            }
            Err(e) if cut_off(&e) => {
                self.deferred.put_back(taken, &progress, answered(&e));
                Err(e)
            }
            Err(e) => {
                // Refused, fenced off, or lost: commits the org applied will never be
                // written, and nothing more is.
                let why = match &e {
                    StoreError::Lost(why) => why.to_string(),
                    e => format!("{REFUSED}: {e}"),
                };
                *self.lost.locked() = Some(why.clone());
                Err(StoreError::Lost(crate::Loss::new(why, e.is_full())))
            }
        }
    }
}

/// What a send took from the queue.
struct Taken {
    writes: Arc<Vec<Write>>,
    bytes: usize,
    commits: usize,
    unsure: Option<Unsure>,
    recount: bool,
}

impl Deferred {
    /// Everything kept, taken to be sent; `None` when nothing is.
    fn take(&self) -> Option<Taken> {
        let mut q = self.queue.locked();
        if q.writes.is_empty() {
            return None;
        }
        Some(Taken {
            writes: Arc::new(std::mem::take(&mut q.writes)),
            bytes: std::mem::take(&mut q.bytes),
            commits: std::mem::take(&mut q.commits),
            unsure: q.unsure.take(),
            recount: std::mem::take(&mut q.recount),
        })
    }

    /// Puts back what a send cut off carried, in front of anything kept since, less what
    /// its settling found committed, to be settled and sent again: unsure if its statement
    /// went out and the database did not answer it with an error of its own (`answered`:
    /// then it did not commit).
    fn put_back(&self, taken: Taken, progress: &Progress, answered: bool) {
        let mut q = self.queue.locked();
        let mut writes = Arc::try_unwrap(taken.writes).unwrap_or_else(|w| (*w).clone());
        writes.drain(..progress.committed.load(SeqCst));
        let carried = writes.len();
        writes.append(&mut q.writes);
        q.writes = writes;
        q.bytes += taken.bytes;
        q.commits += taken.commits;
        q.stalled = true;
        let settled = progress.settled.load(SeqCst);
        q.recount |= taken.recount && !settled;
        q.unsure = if progress.sent.load(SeqCst) && !answered {
            Some(Unsure {
                count: progress.count.load(SeqCst),
                writes: carried,
            })
        } else if settled {
            None
        } else {
            taken.unsure
        };
    }
}

/// Reads the org's count once no statement of the org's runs (one cut off may still be
/// running), under the org's lease, and takes it in: how many of the first kept writes a
/// send cut off before (`unsure`) had committed.
fn settle(
    client: &mut postgres::Client,
    prepared: &mut super::writes::Prepared,
    (org, fence): (&str, i64),
    seen: &Mutex<super::Seen>,
    unsure: Option<Unsure>,
) -> Result<usize, StoreError> {
    let mut tx = client.transaction()?;
    tx.execute(one_statement::WAIT_FOR_SENDS, &[&org])?;
    let stmt = super::Conn::prepare(prepared, &mut tx, one_statement::COUNTED)?;
    let row = tx.query_one(&stmt, &[&org, &fence])?;
    tx.commit()?;
    let (n, started, leased): (i64, i64, bool) = (row.get(0), row.get(1), row.get(2));
    if fence != super::UNFENCED && !leased {
        return Err(StoreError::Fenced);
    }
    if seen.locked().lost_to(n, started) {
        return Err(StoreError::Lost(crate::Loss::new(LOST, false)));
    }
    record(seen, n, started);
    // Under this store's lease only its own sends count commits of the org.
    Ok(unsure.filter(|u| n > u.count).map_or(0, |u| u.writes))
}

/// Whether the database answered the statement with an error of the statement's own
/// (not one ending the session), so it did not commit.
fn answered(e: &StoreError) -> bool {
    let StoreError::Postgres(p) = e else {
        return false;
    };
    p.as_db_error()
        .is_some_and(|d| !super::pool::ends_the_session(d))
}

/// Whether a failed send leaves its commits possibly unwritten but writable: the
/// connection ended or never came (`08…`), the server shut the session or the statement
/// down (`57…`), rolled it back to be tried again (`40…`: a serialisation failure, a
/// deadlock), was read-only for now (`25006`, a standby during a failover), had no memory,
/// connection or lock for it; not a statement the database refused. (The client's own
/// errors, encoding the parameters, cannot happen with these types and sizes.)
fn cut_off(e: &StoreError) -> bool {
    if super::pool::ended_the_session(e) {
        return true;
    }
    match e {
        StoreError::Postgres(p) => p.as_db_error().is_none_or(|d| {
            let code = d.code().code();
            ["08", "40", "57"]
                .iter()
                .any(|class| code.starts_with(class))
                || ["25006", "53200", "53300", "53400", "55P03"].contains(&code)
        }),
        StoreError::Unavailable(_) => true,
        _ => false,
    }
}

impl Drop for PostgresStore {
    /// Sends what is kept before the org closes: no caller waits for it (each would have
    /// led a flush), but the org's state, which other callers have read, holds it.
    fn drop(&mut self) {
        if self.deferred.is_empty() || self.lost.locked().is_some() {
            return;
        }
        let _writing = self.writing.locked();
        if let Err(e) = self.send_deferred(true) {
            tracing::warn!(org = %self.org, error = %e, "Commits kept for a flush were not written at close.");
        }
    }
}

#[cfg(test)]
impl PostgresStore {
    /// As if a send of every kept commit had been cut off after the org's count was
    /// `count` (the test decides whether it committed).
    pub(super) fn cut_off_after(&self, count: i64) {
        let mut q = self.deferred.queue.locked();
        q.unsure = Some(Unsure {
            count,
            writes: q.writes.len(),
        });
        q.stalled = true;
    }

    /// The org's commit count as this store last saw it.
    pub(super) fn count_seen(&self) -> i64 {
        self.seen.locked().n
    }
}
