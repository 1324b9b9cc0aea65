//! The background checkpointer: copies the WAL into the database from a thread of its own,
//! so commits do not carry the copying, and holds writers back when it falls behind, so
//! the WAL stays bounded however busy the machine is.

use forcebus_sync::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::group_commit::Syncer;

/// WAL pages written since the last checkpoint after which the checkpointer runs (SQLite's
/// own automatic checkpoint is at 1,000).
const CHECKPOINT_PAGES: u64 = 1000;
/// Frames an unlocked pass left and copied below which the checkpointer stops passing
/// unlocked: a pass this short lets few frames in while it runs.
const FINISH_FRAMES: i64 = 256;
/// Unlocked passes before the checkpointer finishes under the lock whatever is left.
const MAX_PASSES: usize = 4;
/// The WAL is truncated to this size when it restarts.
pub(super) const WAL_SIZE_LIMIT: i64 = 64 << 20;
/// WAL pages (estimated) written since the last complete round past which a writer waits
/// for the checkpointer to finish one: about 40 MiB, well inside [`WAL_SIZE_LIMIT`]. Only
/// a checkpointer starved of CPU lets this much pile up (on an idle machine a write flood
/// leaves it at 13 to 39 MB); without the wait a loaded machine grew the WAL past 78 MB.
const STALL_PAGES: u64 = 10 * 1024;
/// The longest a writer waits for a round: a round that cannot finish (a failing disk)
/// must not stop writes for good; the checkpoint's own error is logged.
const STALL_LIMIT: Duration = Duration::from_secs(5);

/// The background checkpointer: a thread with its own connection that runs passive
/// checkpoints whenever enough has been committed. A passive checkpoint never blocks a
/// writer, but under a steady stream of commits it never finds the WAL complete, and the
/// WAL restarts (instead of growing) only after a complete one. So each round copies most
/// frames unlocked, then the few written meanwhile while holding the writer's lock.
#[derive(Debug)]
pub(super) struct Checkpointer {
    shared: std::sync::Arc<CheckpointShared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct CheckpointShared {
    /// WAL pages (estimated) written since the checkpointer was last woken.
    pending: AtomicU64,
    /// WAL pages (estimated) written since the last round finished under the writer's
    /// lock, that is, since the WAL could last restart.
    unfinished: AtomicU64,
    state: Mutex<CheckpointState>,
    /// Wakes the checkpointer.
    wake: Condvar,
    /// Wakes the writers waiting for a round to end.
    finished: Condvar,
}

#[derive(Debug, Default)]
struct CheckpointState {
    requested: bool,
    stop: bool,
    /// Rounds ended so far, finished or failed.
    rounds: u64,
}

/// Writes out the pages a pass copied into the database `db`, so that the next pass's
/// own fsync has only its own to write.
fn sync_database(db: &std::fs::File) -> rusqlite::Result<()> {
    db.sync_data().map_err(|e| {
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR_FSYNC),
            Some(format!("fsync of the database: {e}")),
        )
    })
}

/// A passive checkpoint: (WAL frames, frames checkpointed).
fn checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

/// The writing connection, as the checkpointer sees it.
struct Writer<'a> {
    conn: &'a Mutex<super::commit::Conn>,
    syncer: Option<&'a Syncer>,
}

impl Writer<'_> {
    /// The writer's lock, with the group of deferred batches open committed; `None` after
    /// a loss (the group rolled back then, and nothing more copied: the WAL's pages may be
    /// ones the kernel dropped). A failure to commit is final, and the syncer told.
    fn with_group_committed(&self) -> Option<MutexGuard<'_, super::commit::Conn>> {
        let mut conn = self.conn.locked();
        let _ = super::commit::finish(&mut conn, self.syncer);
        if self.syncer.and_then(Syncer::lost).is_some() {
            return None;
        }
        Some(conn)
    }
}

impl Checkpointer {
    /// Starts the thread, checkpointing through `conn`; `writer` is the writing
    /// connection's lock, held for the last pass of each round and, briefly before each
    /// pass, to commit the group of deferred batches open ([`super::commit`]); `syncer`
    /// learns if that fails, and after a loss the thread copies nothing more.
    pub(super) fn start(
        conn: Connection,
        writer: std::sync::Arc<Mutex<super::commit::Conn>>,
        syncer: Option<std::sync::Arc<Syncer>>,
    ) -> Self {
        let shared = std::sync::Arc::new(CheckpointShared::default());
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("forcebus-checkpoint".into())
                .spawn(move || {
                    // The database file, fsynced after each unlocked pass.
                    let db = conn.path().and_then(|p| std::fs::File::open(p).ok());
                    let writer = Writer {
                        conn: &writer,
                        syncer: syncer.as_deref(),
                    };
                    Self::run(&conn, db.as_ref(), &writer, &shared);
                })
                .expect("a thread can be started")
        };
        Self {
            shared,
            thread: Some(thread),
        }
    }

    fn run(
        conn: &Connection,
        db: Option<&std::fs::File>,
        writer: &Writer<'_>,
        shared: &CheckpointShared,
    ) {
        loop {
            {
                let mut s = shared.state.locked();
                while !s.requested && !s.stop {
                    let (next, _) = shared
                        .wake
                        .wait_timeout(s, Duration::from_secs(1))
                        .unwrap_or_else(|e| e.into_inner());
                    s = next;
                    // A quiet WAL is checkpointed too, within a second.
                    if shared.pending.load(Ordering::Relaxed) > 0 {
                        break;
                    }
                }
                if s.stop {
                    return;
                }
                s.requested = false;
            }
            shared.pending.store(0, Ordering::Relaxed);
            if let Err(e) = Self::round(conn, db, writer, shared) {
                tracing::warn!(error = %e, "A WAL checkpoint failed.");
            }
            shared.state.locked().rounds += 1;
            shared.finished.notify_all();
        }
    }

    /// One round: passes without the writer's lock until one is short, then the last
    /// under it. The lock's pass is kept small, as writers wait for all of it: a pass
    /// copies the frames written since the one before, then fsyncs the database, which
    /// writes out every page copied since its last fsync, and SQLite does not fsync
    /// after every pass. So each unlocked pass is followed by an fsync of the database
    /// of our own, and the locked pass writes out only the pages it copied. (A locked
    /// pass whose fsync wrote the pages of the passes before it held writers for 15-25
    /// ms, 20 times a second under `pubsub-publish`.)
    fn round(
        conn: &Connection,
        db: Option<&std::fs::File>,
        writer: &Writer<'_>,
        shared: &CheckpointShared,
    ) -> rusqlite::Result<()> {
        let unlocked = Self::unlocked_passes(conn, db, writer);
        // No commit can add frames while this holds the writer's lock: the pass completes,
        // and the next commit restarts the WAL from its beginning. The group of deferred
        // batches open, if any, is committed first: a group begun before the pass would
        // keep the WAL from restarting after it (its snapshot predates the pass), and so
        // no group stays unwritten for longer than a round takes to come (a second when
        // quiet). It runs even when an unlocked pass failed.
        let Some(_locked) = writer.with_group_committed() else {
            return unlocked;
        };
        checkpoint(conn)?;
        shared.unfinished.store(0, Ordering::Relaxed);
        unlocked
    }

    /// A round's passes without the writer's lock (each after committing the deferred
    /// group open, so the last pass under the lock carries only what came meanwhile).
    fn unlocked_passes(
        conn: &Connection,
        db: Option<&std::fs::File>,
        writer: &Writer<'_>,
    ) -> rusqlite::Result<()> {
        let mut copied_before = 0;
        for _ in 0..MAX_PASSES {
            if writer.with_group_committed().is_none() {
                return Ok(());
            }
            let (frames, done) = checkpoint(conn)?;
            if let Some(db) = db {
                sync_database(db)?;
            }
            let copied = done - copied_before;
            copied_before = done;
            if frames - done <= FINISH_FRAMES && copied <= FINISH_FRAMES {
                break;
            }
        }
        Ok(())
    }

    /// Counts a commit of about `bytes`: wakes the thread when enough has piled up, and
    /// holds the calling writer until a round ends when far too much has (backpressure,
    /// so that the WAL stays bounded). The caller must not hold the writer's lock.
    pub(super) fn committed(&self, bytes: u64) {
        // A commit writes whole pages: its data, plus a page or so per table and index it
        // touched, plus the header page.
        // With auto_vacuum, a pointer-map page too.
        let pages = bytes.div_ceil(4096) + 4;
        let before = self.shared.pending.fetch_add(pages, Ordering::Relaxed);
        let unfinished = self.shared.unfinished.fetch_add(pages, Ordering::Relaxed) + pages;
        let wake = before < CHECKPOINT_PAGES && before + pages >= CHECKPOINT_PAGES;
        if wake || unfinished >= STALL_PAGES {
            let mut s = self.shared.state.locked();
            s.requested = true;
            self.shared.wake.notify_one();
            if unfinished >= STALL_PAGES {
                self.wait_for_a_round(s);
            }
        }
    }

    /// Waits until the round under way (or the next one) has ended, or [`STALL_LIMIT`].
    fn wait_for_a_round(&self, mut s: std::sync::MutexGuard<'_, CheckpointState>) {
        let (deadline, seen) = (Instant::now() + STALL_LIMIT, s.rounds);
        while s.rounds == seen && !s.stop {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return;
            };
            s = self
                .shared
                .finished
                .wait_timeout(s, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.state.locked().stop = true;
        self.shared.wake.notify_one();
        self.shared.finished.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
