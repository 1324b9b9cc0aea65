//! Waiting for durability without a thread per waiter.
//!
//! A commit is acknowledged, and its events shown, only once the store has made it durable
//! (group commit: [`forcebus_store::Store::sync`]). Blocking callers wait in `sync`
//! themselves ([`crate::Commit::wait`]). Async callers ([`crate::Commit::wait_async`])
//! hand their ticket to one syncing thread and await a watch channel instead, so a hundred
//! requests waiting for the same fsync are a hundred parked tasks, not a hundred parked
//! threads woken together.

use forcebus_sync::prelude::*;
use std::sync::{Arc, Condvar, Mutex};

use forcebus_store::{Loss, Store, StoreError};
use tokio::sync::watch;

/// What the syncing thread has done.
#[derive(Debug, Clone, Default)]
struct Synced {
    /// Every ticket up to this is durable.
    through: u64,
    /// The last failure: every ticket up to the first number waited for it, and failed
    /// (what kind of failure, and why).
    failed: Option<(u64, Failure, String)>,
}

/// What a failed sync tells its waiters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// The database could not be reached: a later call may succeed.
    Unavailable,
    /// The store is full (`STORAGE_LIMIT_EXCEEDED` to a client).
    Full,
    /// Anything else.
    Other,
}

#[derive(Debug, Default)]
struct Requests {
    /// Highest ticket asked for.
    requested: u64,
    /// Highest ticket the thread has synced (or failed).
    done: u64,
    stop: bool,
}

#[derive(Debug)]
struct Shared {
    requests: Mutex<Requests>,
    wake: Condvar,
    synced: watch::Sender<Synced>,
}

/// The syncing thread, started on first use.
#[derive(Debug)]
pub(crate) struct SyncService {
    shared: Arc<Shared>,
    thread: std::sync::OnceLock<std::thread::JoinHandle<()>>,
}

impl Default for SyncService {
    fn default() -> Self {
        Self {
            shared: Arc::new(Shared {
                requests: Mutex::default(),
                wake: Condvar::new(),
                synced: watch::Sender::new(Synced::default()),
            }),
            thread: std::sync::OnceLock::new(),
        }
    }
}

impl SyncService {
    /// Waits until `ticket` is durable in `store`.
    pub(crate) async fn wait(&self, store: &Arc<dyn Store>, ticket: u64) -> Result<(), StoreError> {
        let mut rx = self.shared.synced.subscribe();
        self.request(store, ticket);
        let state = rx
            .wait_for(|s| {
                s.through >= ticket || s.failed.as_ref().is_some_and(|(t, ..)| *t >= ticket)
            })
            .await
            .map(|s| s.clone())
            .map_err(|_| failure("the syncing thread stopped".into()))?;
        if state.through >= ticket {
            Ok(())
        } else {
            match state.failed {
                // Every waiter gets what the flush got: a database out of reach stays one,
                // and so does a full store.
                Some((_, Failure::Unavailable, why)) => Err(StoreError::Unavailable(why)),
                Some((_, Failure::Full, why)) => Err(StoreError::Lost(Loss::new(why, true))),
                other => Err(failure(other.map(|(.., why)| why).unwrap_or_default())),
            }
        }
    }

    fn request(&self, store: &Arc<dyn Store>, ticket: u64) {
        {
            let mut r = self.shared.requests.locked();
            r.requested = r.requested.max(ticket);
        }
        self.shared.wake.notify_one();
        self.thread.get_or_init(|| {
            let (shared, store) = (self.shared.clone(), store.clone());
            std::thread::Builder::new()
                .name("forcebus-sync".into())
                .spawn(move || run(&shared, store.as_ref()))
                .expect("a thread can be started")
        });
    }
}

fn run(shared: &Shared, store: &dyn Store) {
    loop {
        let target = {
            let mut r = shared.requests.locked();
            while r.requested <= r.done && !r.stop {
                r = shared.wake.wait(r).unwrap_or_else(|e| e.into_inner());
            }
            if r.stop {
                return;
            }
            r.requested
        };
        // One sync covers every commit made before it started: all requests so far. A
        // panic in it fails the waiters instead of leaving them waiting forever.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| store.sync(target)))
            .unwrap_or_else(|_| Err(failure("the store panicked while syncing".into())));
        shared.synced.send_modify(|s| match &result {
            Ok(()) => s.through = s.through.max(target),
            Err(e) => {
                tracing::error!(error = %e, "Committed transactions could not be made durable.");
                let kind = if e.is_unavailable() {
                    Failure::Unavailable
                } else if e.is_full() {
                    Failure::Full
                } else {
                    Failure::Other
                };
                s.failed = Some((target, kind, e.to_string()));
            }
        });
        shared.requests.locked().done = target;
    }
}

impl Drop for SyncService {
    fn drop(&mut self) {
        self.shared.requests.locked().stop = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn failure(why: String) -> StoreError {
    StoreError::Io {
        path: "the write-ahead log".into(),
        source: std::io::Error::other(why),
    }
}
