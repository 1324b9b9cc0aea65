//! Group commit: one writer leads a flush (an fsync of SQLite's WAL, a synchronous commit
//! on PostgreSQL) and every commit that finished before it started is covered by it, so
//! concurrent writers share it.

use forcebus_sync::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

use crate::{Loss, StoreError};

#[derive(Debug, Default)]
pub(crate) struct Syncer {
    /// Commits finished so far (each one written, not yet known durable).
    pub(crate) committed: AtomicU64,
    state: Mutex<SyncState>,
    done: Condvar,
}

#[derive(Debug, Default)]
struct SyncState {
    /// Every commit up to this count is durable.
    synced: u64,
    /// A flush is under way.
    running: bool,
    /// A failed flush that no later one can make good (see [`Flush::Lost`]): every later
    /// sync fails until the server restarts and recovers from what is durable.
    failed: Option<Loss>,
}

/// What a flush found.
#[derive(Debug)]
pub(crate) enum Flush {
    /// Every commit finished before it started is durable.
    Done,
    /// It failed, and the commits it was to cover may be lost for good (a failed fsync:
    /// the kernel may have dropped the pages it could not write, so a later fsync that
    /// succeeds proves nothing about them).
    Lost(StoreError),
    /// It failed, but a later one may still cover the same commits (the database was out
    /// of reach; nothing is known lost).
    Failed(StoreError),
}

impl Syncer {
    /// Counts a finished commit; returns its ticket.
    pub(crate) fn committed(&self) -> u64 {
        self.committed.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Whether every commit so far is durable and no flush is under way: a commit made
    /// now may as well make itself durable (it would wait for a flush of its own).
    pub(crate) fn idle(&self) -> bool {
        let s = self.state.locked();
        !s.running && s.synced >= self.committed.load(Ordering::SeqCst)
    }

    /// Counts a finished commit that is durable already, as is every commit before it (a
    /// synchronous commit on PostgreSQL flushes the WAL up to it); returns its ticket.
    pub(crate) fn committed_durable(&self) -> u64 {
        let ticket = self.committed();
        let mut s = self.state.locked();
        s.synced = s.synced.max(ticket);
        drop(s);
        self.done.notify_all();
        ticket
    }

    /// Makes every later sync fail: commits were lost (a group of deferred ones whose
    /// `COMMIT` failed; a failed flush, recorded where writes see it at once).
    pub(crate) fn lose(&self, why: Loss) {
        self.state.locked().failed.get_or_insert(why);
        self.done.notify_all();
    }

    /// The loss that made every later sync fail, if there was one.
    pub(crate) fn lost(&self) -> Option<StoreError> {
        self.state.locked().failed.clone().map(StoreError::Lost)
    }

    /// Every commit up to this ticket is durable.
    #[cfg(test)]
    pub(crate) fn synced(&self) -> u64 {
        self.state.locked().synced
    }

    /// Returns once commit number `ticket` is durable: leads a flush, or waits for one
    /// that covers it.
    pub(crate) fn sync(&self, ticket: u64, flush: &dyn Fn() -> Flush) -> Result<(), StoreError> {
        loop {
            let mut s = self.state.locked();
            loop {
                if let Some(why) = &s.failed {
                    return Err(StoreError::Lost(why.clone()));
                }
                if s.synced >= ticket {
                    return Ok(());
                }
                if !s.running {
                    break;
                }
                s = self.done.wait(s).unwrap_or_else(|e| e.into_inner());
            }
            s.running = true;
            drop(s);
            let target = self.committed.load(Ordering::SeqCst);
            let started = std::time::Instant::now();
            // A flush that panics (a bug) must not leave every later sync waiting on it.
            let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(flush)) {
                Ok(result) => result,
                Err(panic) => {
                    let mut s = self.state.locked();
                    s.running = false;
                    s.failed
                        .get_or_insert_with(|| Loss::new("a flush panicked", false));
                    drop(s);
                    self.done.notify_all();
                    std::panic::resume_unwind(panic);
                }
            };
            metrics::histogram!("forcebus_store_flush_seconds").record(started.elapsed());
            let mut s = self.state.locked();
            s.running = false;
            let outcome = match result {
                Flush::Done => {
                    // How many commits this one flush made durable (group commit).
                    metrics::histogram!("forcebus_store_group_commit_size")
                        .record(target.saturating_sub(s.synced) as f64);
                    s.synced = s.synced.max(target);
                    Ok(())
                }
                Flush::Lost(e) => {
                    s.failed = Some(Loss::new(e.to_string(), e.is_full()));
                    Err(e)
                }
                Flush::Failed(e) => Err(e),
            };
            drop(s);
            self.done.notify_all();
            // A leader that started before `ticket` committed covers it on the next round.
            outcome?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flush that panics fails its sync and every later one, and leaves none waiting.
    #[test]
    fn a_flush_that_panics_fails_every_later_sync_and_blocks_none() {
        let syncer = Syncer::default();
        let ticket = syncer.committed();
        let panicked = std::panic::catch_unwind(|| syncer.sync(ticket, &|| panic!("flush (test)")));
        assert!(panicked.is_err());
        let next = syncer.committed();
        assert!(matches!(
            syncer.sync(next, &|| Flush::Done),
            Err(StoreError::Lost(_))
        ));
    }
}
