//! How a batch becomes a SQLite transaction: committed at once, or deferred to the next
//! sync.
//!
//! A batch written with [`Store::commit_unsynced`] is a transaction of its own, committed
//! before the call returns (written to the OS, durable at the next fsync). One written with
//! [`Store::commit_deferred`] at full durability is left in a transaction still open, which
//! the deferred batches after it join, each under a savepoint (a batch that fails takes
//! back its own writes alone). The group is committed in one `COMMIT` when a sync starts
//! (on the thread leading it, before its fsync), before a batch that is not deferred, in
//! the checkpointer's last pass of each round, under the writer's lock (so the WAL
//! restarts after it, and a group nobody waits for is committed within about a second),
//! and when the store closes. The pages several transactions dirty (a table's
//! last page, the event log's counters, an index's path) go into the WAL once per group
//! instead of once per transaction, and the `COMMIT`'s page writes leave the writer's path:
//! a bulk load's writer spent a tenth of its time in them, a REST update a tenth of its
//! CPU.
//!
//! Every read goes through the same connection, so it sees a deferred batch at once, as it
//! sees the org's state. What a deferred batch gives up is surviving a crash of the process
//! before its sync (as every unsynced batch may be lost in a power cut): it is not
//! acknowledged before then, and the ones that are (DESIGN: nothing acknowledged is lost)
//! were synced. A `COMMIT` of a group that fails loses batches whose changes the org has
//! applied, so it is final, as a failed fsync is ([`Syncer::lose`]): every sync and write
//! after it fails until a restart recovers what is durable, and the file keeps nothing
//! written after the loss (it stays a prefix of what happened). So is a group SQLite
//! rolled back by itself (it does after some errors, a read's included): the connection
//! keeps its own mark of an open group ([`Conn`]) to notice.
//!
//! [`Store::commit_unsynced`]: crate::Store::commit_unsynced
//! [`Store::commit_deferred`]: crate::Store::commit_deferred

#[cfg(test)]
mod tests;

use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::MutexGuard;
use std::sync::atomic::Ordering;

use rusqlite::Connection;

use super::{SqliteStore, legacy_events, runs, writes::write_other, writes::write_size};
use crate::group_commit::Syncer;
use crate::{Batch, Loss, StoreError, StoredEvent, Write};

/// The writing connection, and whether a group of deferred batches is open on it (kept
/// apart from SQLite's own "a transaction is open": SQLite rolls a whole transaction back
/// after some errors, a read's included, and a group that vanished so is a loss to report,
/// not a fresh start).
#[derive(Debug)]
pub(super) struct Conn {
    sql: Connection,
    group: bool,
}

impl Conn {
    pub(super) fn new(sql: Connection) -> Self {
        Self { sql, group: false }
    }
}

impl Deref for Conn {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.sql
    }
}

impl SqliteStore {
    /// Writes `batch` in one transaction, committed unless `defer` (and a syncer will
    /// commit it: at full durability); its ticket for [`crate::Store::sync`]. After a
    /// loss nothing more is written, so what is on disk stays a prefix of what happened.
    pub(super) fn write(&self, batch: &Batch, defer: bool) -> Result<u64, StoreError> {
        let syncer = self.syncer.as_deref();
        let expiring = batch
            .writes
            .iter()
            .any(|w| matches!(w, Write::ExpireEvents { .. }));
        // An expiry frees segment files and pages once committed: it is never deferred.
        let defer = defer && syncer.is_some() && !expiring;
        let mut conn = self.lock();
        if let Some(e) = syncer.and_then(Syncer::lost) {
            abandon(&mut conn);
            return Err(e);
        }
        settle(&mut conn, syncer)?;
        if !defer {
            // The group before it first, so that this batch's failure is its own.
            finish(&mut conn, syncer)?;
        }
        let joining = conn.group;
        run(&conn, if joining { "SAVEPOINT batch" } else { "BEGIN" })?;
        // A panic halfway (a bug) must not leave half a batch for a group to commit.
        let written = catch_unwind(AssertUnwindSafe(|| self.write_batch(&conn, batch)));
        let bytes = match written {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(e)) => {
                self.take_back(&mut conn, joining, e.is_full());
                return Err(e);
            }
            Err(panic) => {
                self.take_back(&mut conn, joining, false);
                resume_unwind(panic);
            }
        };
        let ended = match (joining, defer) {
            (true, _) => run(&conn, "RELEASE batch"),
            (false, true) => {
                conn.group = true;
                Ok(())
            }
            (false, false) => run(&conn, "COMMIT"),
        };
        if let Err(e) = ended {
            let e = StoreError::from(e);
            self.take_back(&mut conn, joining, e.is_full());
            return Err(e);
        }
        metrics::counter!("forcebus_store_commits_total", "engine" => "sqlite").increment(1);
        if expiring {
            self.after_expiry(&conn, batch);
        }
        // The checkpointer's backpressure may hold this writer: not under the lock.
        drop(conn);
        if let Some(c) = &self.checkpointer {
            c.committed(bytes + if expiring { 64 * 1024 } else { 0 });
        }
        Ok(syncer.map_or(0, Syncer::committed))
    }

    /// Takes back what a failed batch wrote: its own transaction, or its savepoint when it
    /// joined a group. A group that went with it, or that keeps writes which could not be
    /// taken back, is lost (`full`: the store was full, which is what the loss says).
    fn take_back(&self, conn: &mut Conn, joining: bool, full: bool) {
        if !joining {
            if let Err(e) = rollback(conn) {
                // Left open, it is rolled back before the next write ([`settle`]).
                tracing::error!(error = %e, "A failed write could not be taken back.");
            }
            return;
        }
        let undone = run(conn, "ROLLBACK TO batch").and_then(|()| run(conn, "RELEASE batch"));
        if undone.is_ok() && !conn.is_autocommit() {
            return;
        }
        abandon(conn);
        lost(
            self.syncer.as_deref(),
            Loss::new("a failed write took deferred commits with it", full),
        );
    }

    /// Commits the group of deferred batches, if one is open.
    pub(super) fn finish_deferred(&self) -> Result<(), StoreError> {
        finish(&mut self.lock(), self.syncer.as_deref())
    }

    /// The batch's writes, in the transaction open on `tx`; about how many bytes they add
    /// to the WAL.
    fn write_batch(&self, tx: &Connection, batch: &Batch) -> Result<u64, StoreError> {
        let legacy = self.legacy.load(Ordering::Relaxed);
        // A commit of events alone writes their payloads to segment files.
        let segments = self.segments.as_ref().filter(|_| batch.events_only());
        let mut bytes = 0u64;
        // Events appended one after another go in as runs, written before anything that
        // could see them (an expiry) and at the end.
        let mut appended: Vec<&StoredEvent> = Vec::new();
        for write in &batch.writes {
            bytes += match (write, segments) {
                (Write::AppendEvent(e), Some(_)) => write_size(write) - e.payload.len() as u64,
                _ => write_size(write),
            };
            if !matches!(write, Write::AppendEvent(_)) && !appended.is_empty() {
                runs::append(tx, &appended, legacy, segments)?;
                appended.clear();
            }
            match write {
                Write::AppendEvent(e) => appended.push(e),
                Write::ExpireEvents { class, through } => {
                    if legacy {
                        tx.prepare_cached(
                            "DELETE FROM events WHERE class = ?1 AND replay_id <= ?2",
                        )?
                        .execute(rusqlite::params![class, *through as i64])?;
                    }
                    bytes += runs::expire(tx, *class, *through, self.segments.as_ref())?;
                }
                _ => write_other(tx, write)?,
            }
        }
        if !appended.is_empty() {
            runs::append(tx, &appended, legacy, segments)?;
        }
        #[cfg(test)]
        tests::panic_if_asked();
        Ok(bytes)
    }

    /// What a committed expiry leaves to do: whether old-style events are left, the
    /// segment files no run points into, the pages freed given back.
    fn after_expiry(&self, conn: &MutexGuard<'_, Conn>, batch: &Batch) {
        if self.legacy.load(Ordering::Relaxed) {
            // Committed already: a failure only leaves the old table consulted.
            match legacy_events(conn) {
                Ok(left) => self.legacy.store(left, Ordering::Relaxed),
                Err(e) => tracing::warn!(error = %e, "Could not tell whether old events are left."),
            }
        }
        if let Some(segments) = &self.segments {
            runs::release_expired(conn, segments, &batch.writes);
        }
        // Gives the pages the deleted events used back to the file system (the file
        // shrinks at the next checkpoint); without it the file keeps its largest size. A
        // failure here loses nothing: the pages stay free for later inserts.
        if let Err(e) = incremental_vacuum(conn) {
            tracing::warn!(error = %e, "Could not give freed pages back.");
        }
    }
}

/// Commits the group of deferred batches open on `conn`, if there is one. A failure is
/// final (`syncer` learns it: every later sync and write fails), and after one the group
/// is rolled back rather than committed.
pub(super) fn finish(conn: &mut Conn, syncer: Option<&Syncer>) -> Result<(), StoreError> {
    if !conn.group {
        return Ok(());
    }
    conn.group = false;
    if conn.is_autocommit() {
        return Err(lost(
            syncer,
            Loss::new("SQLite rolled deferred commits back after an error", false),
        ));
    }
    if let Some(e) = syncer.and_then(Syncer::lost) {
        abandon(conn);
        return Err(e);
    }
    if let Err(e) = run(conn, "COMMIT") {
        abandon(conn);
        let full = StoreError::from(e);
        return Err(lost(
            syncer,
            Loss::new(
                format!("deferred commits could not be committed: {full}"),
                full.is_full(),
            ),
        ));
    }
    Ok(())
}

/// Before a write: reports a group SQLite rolled back by itself, and rolls back a
/// transaction a failed write could not (no group's: its leftovers).
fn settle(conn: &mut Conn, syncer: Option<&Syncer>) -> Result<(), StoreError> {
    if conn.group && conn.is_autocommit() {
        return finish(conn, syncer);
    }
    if !conn.group && !conn.is_autocommit() {
        rollback(conn)?;
    }
    Ok(())
}

/// Tells `syncer` of a loss (every later sync and write fails); the error to return.
fn lost(syncer: Option<&Syncer>, why: Loss) -> StoreError {
    tracing::error!("{why}");
    if let Some(s) = syncer {
        s.lose(why.clone());
    }
    StoreError::Lost(why)
}

/// After a loss: drops the open group and whatever else is open, so reads stop seeing
/// what will never be durable.
pub(super) fn abandon(conn: &mut Conn) {
    conn.group = false;
    if let Err(e) = rollback(conn) {
        tracing::error!(error = %e, "What a loss left open could not be rolled back.");
    }
}

/// Rolls back the transaction open on `conn`, if any.
fn rollback(conn: &Connection) -> rusqlite::Result<()> {
    if conn.is_autocommit() {
        return Ok(());
    }
    run(conn, "ROLLBACK")
}

/// Runs one statement of transaction control (prepared once per connection).
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// Frees every page on the freelist. SQLite frees one page per step of this pragma (each
/// step yields an empty row), so it is stepped to the end.
fn incremental_vacuum(conn: &Connection) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached("PRAGMA incremental_vacuum")?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}
