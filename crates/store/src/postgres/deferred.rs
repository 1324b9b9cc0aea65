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
//! the database is away), so the org never runs ahead of a database it cannot reach.

use forcebus_sync::prelude::*;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize};
use std::sync::{Arc, Mutex};

use super::{LOST, PostgresStore, one_statement, record};
use crate::{Batch, StoreError, Write};

/// Why nothing more is committed after a send the database refused.
const REFUSED: &str = "the database refused commits kept for its next flush, which the org \
    had applied; restart forcebus to serve what the database holds";

/// At most this many writes are kept (a few thousand commits); past it a commit makes its
/// own round trip, so one statement stays a bounded size.
const MAX_KEPT_WRITES: usize = 10_000;

/// The commits kept for the next flush, in the order they were made.
#[derive(Debug, Default)]
pub(super) struct Deferred {
    queue: Mutex<Queue>,
}

#[derive(Debug, Default)]
struct Queue {
    /// Every kept commit's writes, one after another.
    writes: Vec<Write>,
    /// How many commits `writes` holds.
    commits: usize,
    /// A send failed: commits are not deferred until one succeeds.
    stalled: bool,
    /// A send of the first writes was cut off and may have committed.
    unsure: Option<Unsure>,
}

/// A send cut off on its way: the org's commit count before it, and how many of the
/// kept writes it carried.
#[derive(Debug, Clone, Copy)]
struct Unsure {
    count: i64,
    writes: usize,
}

impl Deferred {
    /// Keeps `batch` for the next flush; `false` (and nothing kept) while a failed send is
    /// unsettled, or when as many writes as one statement should carry are kept already.
    pub(super) fn keep(&self, batch: &Batch) -> bool {
        let mut q = self.queue.locked();
        if q.stalled || q.writes.len() + batch.writes.len() > MAX_KEPT_WRITES {
            return false;
        }
        q.writes.extend(batch.writes.iter().cloned());
        q.commits += 1;
        true
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

/// How far a send got, told from the connection's thread.
#[derive(Debug, Default)]
struct Progress {
    /// The first kept writes a send cut off before did commit, or did not: settled.
    settled: AtomicBool,
    /// How many of the first kept writes the settled send had committed.
    committed: AtomicUsize,
    /// The statement went out, with the org's commit count before it.
    sent: AtomicBool,
    count: AtomicI64,
}

impl PostgresStore {
    /// Sends every kept commit as one statement (committed synchronously when
    /// `synchronous`), first settling a send that was cut off. The caller holds the writing
    /// lock. `Ok(true)` when something was sent.
    pub(super) fn send_deferred(&self, synchronous: bool) -> Result<bool, StoreError> {
        let (writes, commits, unsure) = {
            let mut q = self.deferred.queue.locked();
            if q.writes.is_empty() {
                return Ok(false);
            }
            let commits = std::mem::take(&mut q.commits);
            (std::mem::take(&mut q.writes), commits, q.unsure.take())
        };
        let writes = Arc::new(writes);
        let fence = self.fence.load(SeqCst);
        let progress = Arc::new(Progress::default());
        let (seen, lost) = (self.seen.clone(), self.lost.clone());
        let (to_send, told) = (writes.clone(), progress.clone());
        let result = self.run(move |c, org| {
            let (client, prepared) = c.parts();
            if let Some(u) = unsure {
                let stmt = super::Conn::prepare(prepared, client, one_statement::COUNTED)?;
                let row = client.query_one(&stmt, &[&org])?;
                let (n, started): (i64, i64) = (row.get(0), row.get(1));
                if seen.locked().lost_to(n, started) {
                    *lost.locked() = Some(LOST.to_owned());
                    return Err(StoreError::Lost(crate::Loss::new(LOST, false)));
                }
                if n > u.count {
                    record(&seen, n, started);
                    told.committed.store(u.writes, SeqCst);
                }
                told.settled.store(true, SeqCst);
            }
            let rest = &to_send[told.committed.load(SeqCst)..];
            if rest.is_empty() {
                return Ok(());
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
            Ok(())
        });
        match result {
            Ok(()) => {
                self.deferred.queue.locked().stalled = false;
                metrics::counter!("forcebus_store_commits_total", "engine" => "postgres")
                    .increment(commits as u64);
                metrics::histogram!("forcebus_store_deferred_commits").record(commits as f64);
                Ok(true)
            }
            Err(e) if cut_off(&e) => {
                // Kept, in front of any kept since, to be settled and sent again.
                let mut q = self.deferred.queue.locked();
                let mut writes = Arc::try_unwrap(writes).unwrap_or_else(|w| (*w).clone());
                writes.drain(..progress.committed.load(SeqCst));
                let carried = writes.len();
                writes.append(&mut q.writes);
                q.writes = writes;
                q.commits += commits;
                q.stalled = true;
                q.unsure = if progress.sent.load(SeqCst) {
                    Some(Unsure {
                        count: progress.count.load(SeqCst),
                        writes: carried,
                    })
                } else if progress.settled.load(SeqCst) {
                    None
                } else {
                    unsure
                };
                Err(e)
            }
            Err(e @ StoreError::Lost(_)) => Err(e),
            Err(e) => {
                // Refused: commits the org applied will never be written.
                let why = format!("{REFUSED}: {e}");
                *self.lost.locked() = Some(why.clone());
                Err(StoreError::Lost(crate::Loss::new(why, e.is_full())))
            }
        }
    }
}

/// Whether a failed send leaves its commits possibly unwritten but writable: the
/// connection ended or never came, the server shut the session or the statement down
/// (`57…`), rolled it back to be tried again (`40…`: a serialisation failure, a deadlock),
/// or had no memory or connection for it; not a statement the database refused. (The
/// client's own errors, encoding the parameters, cannot happen with these types.)
fn cut_off(e: &StoreError) -> bool {
    match e {
        StoreError::Postgres(p) => {
            p.is_closed()
                || p.as_db_error().is_none_or(|d| {
                    let code = d.code().code();
                    matches!(
                        d.parsed_severity(),
                        Some(postgres::error::Severity::Fatal | postgres::error::Severity::Panic)
                    ) || code.starts_with("57")
                        || code.starts_with("40")
                        || code == "53200"
                        || code == "53300"
                })
        }
        StoreError::Unavailable(_) => true,
        _ => false,
    }
}

impl Drop for PostgresStore {
    /// Sends what is kept before the org closes: no caller waits for it (each would have
    /// led a flush), but the org's state, which other callers have read, holds it.
    fn drop(&mut self) {
        if self.deferred.is_empty() {
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
