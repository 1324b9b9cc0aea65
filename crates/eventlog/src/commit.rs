//! A commit of events and the writes that go with them, acknowledged only once durable.
//!
//! [`EventLog::commit`] is the one way events enter the log: it assigns replay ids,
//! writes the events with the caller's writes as one storage batch, deferred
//! ([`forcebus_store::Store::commit_deferred`]: not yet synced, and on SQLite at full
//! durability not yet committed either, until a sync), and hands back a [`Commit`]. The caller may let the next commit start at once
//! (group commit); the events are shown to subscribers, and the writes may be
//! acknowledged, only when [`Commit::wait`] or [`Commit::wait_async`] returns.

use std::sync::Arc;

use forcebus_store::{Batch, StoreError};

use crate::{Appended, EventLog, NewEvent};

/// Events and writes committed but not yet durable. Dropping it unfinished leaves the
/// events unshown until a later commit's events are.
#[derive(Debug)]
#[must_use = "events are shown to subscribers, and writes acknowledged, only once waited for"]
pub struct Commit {
    log: Arc<EventLog>,
    /// The store's ticket for the commit; 0 when nothing was written.
    ticket: u64,
    events: Appended,
}

impl Commit {
    /// A commit of nothing: waiting for it returns at once.
    pub fn nothing(log: &Arc<EventLog>) -> Self {
        Self {
            log: log.clone(),
            ticket: 0,
            events: Vec::new(),
        }
    }

    /// The events, with their replay ids (not yet shown to subscribers).
    pub fn events(&self) -> &Appended {
        &self.events
    }

    /// Waits (blocking this thread) until the commit is durable, then shows its events.
    pub fn wait(self) -> Result<Appended, StoreError> {
        if self.ticket > 0
            && let Err(e) = self.log.store.sync(self.ticket)
        {
            tracing::error!(error = %e, "A committed transaction could not be made durable.");
            return Err(e);
        }
        Ok(self.show())
    }

    /// [`Commit::wait`] for async callers: no thread waits; one syncing thread fsyncs for
    /// all of them.
    pub async fn wait_async(self) -> Result<Appended, StoreError> {
        if self.ticket > 0 {
            self.log.sync.wait(&self.log.store, self.ticket).await?;
        }
        Ok(self.show())
    }

    fn show(self) -> Appended {
        if let Some(last) = self.events.last() {
            self.log.publish_through(last.replay_id);
        }
        self.events
    }
}

impl EventLog {
    /// Appends `events` (replay ids in order) and writes them with `batch` as one storage
    /// batch, deferred until a sync. The next commit may start at once; these events are shown
    /// once the returned [`Commit`] is waited for. On failure nothing is written and the
    /// replay ids reserved are burnt.
    pub fn commit(
        self: &Arc<Self>,
        events: Vec<NewEvent>,
        now_ms: i64,
        mut batch: Batch,
    ) -> Result<Commit, StoreError> {
        let mut ticket = 0;
        let waiting = Waiting::new(&self.appending);
        let events = self.append_unpublished(events, now_ms, |writes| {
            drop(waiting);
            batch.writes.extend(writes);
            // Another commit waits for this one (a publisher's, on a log no org writer
            // guards): the store should leave this one's durability to the group.
            batch.followed |= self.appending.load(std::sync::atomic::Ordering::SeqCst) > 0;
            ticket = self.store.commit_deferred(&batch)?;
            Ok::<_, StoreError>(())
        })?;
        Ok(Commit {
            log: self.clone(),
            ticket,
            events,
        })
    }
}

/// Counts a commit waiting to append, until dropped (once it appends, or fails).
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a std::sync::atomic::AtomicUsize) -> Self {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}
