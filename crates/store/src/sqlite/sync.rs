//! Group commit: one writer leads an fsync of the WAL and every commit that finished
//! before it started is covered by it, so concurrent writers share it.

use forcebus_sync::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

use crate::StoreError;

#[derive(Debug)]
pub(super) struct Syncer {
    wal: std::path::PathBuf,
    /// Commits finished so far (each one's WAL frames are written).
    pub(super) committed: AtomicU64,
    pub(super) state: Mutex<SyncState>,
    done: Condvar,
}

#[derive(Debug, Default)]
pub(super) struct SyncState {
    /// Every commit up to this count is durable.
    pub(super) synced: u64,
    /// An fsync is under way.
    running: bool,
    /// A failed fsync, for good: the kernel may have dropped the pages it could not write,
    /// so a later fsync that succeeds proves nothing about them. Every later sync fails
    /// until the server restarts (and SQLite recovers from what is on disk).
    failed: Option<String>,
}

impl Syncer {
    /// A syncer of the WAL file at `wal`.
    pub(super) fn new(wal: std::path::PathBuf) -> Self {
        Self {
            wal,
            committed: AtomicU64::new(0),
            state: Mutex::new(SyncState::default()),
            done: Condvar::new(),
        }
    }

    /// Returns once commit number `ticket` is durable: leads an fsync, or waits for one
    /// that covers it.
    pub(super) fn sync(&self, ticket: u64) -> Result<(), StoreError> {
        let mut s = self.state.locked();
        loop {
            if let Some(why) = &s.failed {
                return Err(StoreError::Io {
                    path: self.wal.display().to_string(),
                    source: std::io::Error::other(format!("an earlier fsync failed: {why}")),
                });
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
        let result = match std::fs::File::open(&self.wal) {
            Ok(f) => f.sync_data(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        };
        let mut s = self.state.locked();
        s.running = false;
        match &result {
            Ok(()) => s.synced = s.synced.max(target),
            Err(e) => s.failed = Some(e.to_string()),
        }
        drop(s);
        self.done.notify_all();
        result.map_err(|source| StoreError::Io {
            path: self.wal.display().to_string(),
            source,
        })?;
        // A leader that started before `ticket` committed covers it on the next round.
        self.sync(ticket)
    }
}
