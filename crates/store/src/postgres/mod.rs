//! The PostgreSQL engine: every org's records, values, events and blobs in one database
//! that the team already runs, backs up and monitors (`--store postgres://...`).
//!
//! Each table holds every org's rows, keyed by the org. A commit is one PostgreSQL
//! transaction, committed without waiting for its WAL to reach disk; [`Store::sync`] then
//! makes it durable with one small synchronous commit of its own, of a row no commit
//! touches (PostgreSQL writes WAL in order, so that commit's flush covers every commit
//! before it, and it waits for no commit's row lock nor holds one up), led by one writer and
//! shared by every writer waiting (group commit, as on SQLite). The event log's commits
//! skip the first round trip when they can: alone on an idle org, one waits for its own
//! WAL instead; made while the org is busy, one is kept in memory and the flush sends the
//! kept ones as its synchronous commit ([`deferred`]). Each commit also counts
//! itself in the org's row of `fb_commits` and reads when the database server started: a
//! commit or flush that finds the database restarted with the count gone back below what
//! this server saw knows the database lost commits it held in memory only, and the store
//! fails it and everything after (`Lost`), so nothing is acknowledged, or covered by a
//! later flush, that the database does not hold. A flush that fails (the database went
//! away) reads the count back for the same reason.
//!
//! - [`pool`]: the connections, each taken by a call and used on the caller's thread,
//!   made again when broken.
//! - [`lease`]: which node serves which org, and the epoch every commit checks (fencing).
//! - [`names`]: usernames, client ids and record blocks, unique across the orgs.
//! - [`schema`]: the tables and their versioned migrations.
//! - [`runs`]: the event log, a row per run of events a commit appends.
//! - [`writes`]: a batch as a few statements of one transaction; [`one_statement`]: the
//!   common batch (records, events, keyed values) as one statement and one round trip,
//!   its lease and loss checks inside it.
//! - [`deferred`]: commits kept for the next flush, and what a send that fails means.
//! - [`seen`]: the org's commit count and the database's start as last seen, and the checks
//!   that catch a database that lost commits.
//! - [`tls`]: TLS to the database, as libpq's `sslmode` and `sslrootcert` ask.

mod deferred;
mod lease;
mod names;
mod one_statement;
mod pool;
mod runs;
mod schema;
mod seen;
#[cfg(test)]
mod tests;
mod tls;
mod writes;

use forcebus_sync::prelude::*;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

pub use lease::{Beat, Holder, LeaseView, LiveNode, NOBODY, NodeRow, OrgLease};
pub use names::kinds;
pub(crate) use pool::Conn;
pub use pool::{Database, shown};

use crate::group_commit::{Flush, Syncer};
use crate::{Batch, Durability, Store, StoreError, StoredEvent, StoredRecord};
use seen::{LOST, Seen, check, flushed, record};

/// The epoch an org's commits check: [`UNFENCED`] for rows no node serves alone (the list
/// of orgs, the shared certificate), [`NOT_HELD`] while this node holds no lease of the
/// org (every commit fails), else the epoch of the lease this node holds. Shared with the
/// node, which sets it when the org's lease becomes its own, before the org opens.
pub type Fence = Arc<AtomicI64>;

/// Commits check no lease.
pub const UNFENCED: i64 = 0;
/// No lease of the org is held here: every commit fails.
pub const NOT_HELD: i64 = -1;

/// A fence at `epoch`.
#[must_use]
pub fn fence(epoch: i64) -> Fence {
    Arc::new(AtomicI64::new(epoch))
}

/// One org's storage in a PostgreSQL [`Database`].
#[derive(Debug)]
pub struct PostgresStore {
    db: Arc<Database>,
    org: Arc<str>,
    durability: Durability,
    /// The lease epoch every commit checks.
    fence: Fence,
    /// Held through each commit: commits reach the database in the order their replay ids
    /// were given.
    writing: Mutex<()>,
    syncer: Syncer,
    /// What this node last saw of the org's commit count and of the database's start.
    seen: Arc<Mutex<Seen>>,
    /// Why nothing more is committed: the database lost commits not yet durable.
    lost: Arc<Mutex<Option<String>>>,
    /// Whether the org has events from before runs.
    legacy: Arc<runs::Legacy>,
    /// The run the last read of events stopped inside.
    last_run: Arc<runs::LastRun>,
    /// Commits waiting for the writing lock or writing.
    queued: std::sync::atomic::AtomicUsize,
    /// Commits left to the next flush.
    deferred: Box<deferred::Deferred>,
}

/// Counts a commit; the count and when the database started.
const COUNT: &str = "INSERT INTO fb_commits (org, n) VALUES ($1, 1)
    ON CONFLICT (org) DO UPDATE SET n = fb_commits.n + 1
    RETURNING n, (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::int8";
/// Counts a commit if the org's lease is still at the epoch given, holding its row shared
/// until the commit ends (a change of hands waits for it); no row when it is not.
const COUNT_FENCED: &str = "INSERT INTO fb_commits (org, n)
    SELECT $1, 1 WHERE EXISTS (
        SELECT 1 FROM fb_leases WHERE scope = $1 AND epoch = $2 FOR SHARE)
    ON CONFLICT (org) DO UPDATE SET n = fb_commits.n + 1
    RETURNING n, (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::int8";

/// A flush: a synchronous commit of a write of its own (so its `COMMIT` waits until the
/// WAL, every commit before it included, is on disk), reading the org's count and when
/// the database started. It touches no row a commit does.
const FLUSH: &str = "WITH flush AS (
        INSERT INTO fb_flushes (org, n) VALUES ($1, 1)
        ON CONFLICT (org) DO UPDATE SET n = fb_flushes.n + 1 RETURNING n)
    SELECT coalesce((SELECT n FROM fb_commits WHERE org = $1), 0),
        (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::int8
    FROM flush";

impl PostgresStore {
    /// The storage of the org keyed `org` in `db`, its commits checking no lease.
    pub fn open(db: Arc<Database>, org: &str, durability: Durability) -> Self {
        Self::fenced(db, org, durability, fence(UNFENCED))
    }

    /// The storage of the org keyed `org` in `db`, every commit checking that the org's
    /// lease is at the epoch `fence` holds then.
    pub fn fenced(db: Arc<Database>, org: &str, durability: Durability, fence: Fence) -> Self {
        Self {
            db,
            org: org.into(),
            durability,
            fence,
            writing: Mutex::new(()),
            syncer: Syncer::default(),
            seen: Arc::default(),
            lost: Arc::default(),
            legacy: Arc::default(),
            last_run: Arc::default(),
            queued: std::sync::atomic::AtomicUsize::new(0),
            deferred: Box::default(),
        }
    }

    /// Removes everything stored for the org, for good: its rows, its names and its
    /// lease. `Fenced` (and nothing removed) when its lease is no longer at this store's
    /// epoch.
    pub fn erase(&self) -> Result<(), StoreError> {
        self.last_run.clear();
        let _writing = self.writing.locked();
        self.deferred.clear();
        let org = self.org.clone();
        let fence = self.fence.load(Ordering::SeqCst);
        self.db.run(move |c| {
            let mut tx = c.client.transaction()?;
            if fence != UNFENCED {
                let held = tx.query_opt(
                    "SELECT 1 FROM fb_leases WHERE scope = $1 AND epoch = $2 FOR UPDATE",
                    &[&&*org, &fence],
                )?;
                if held.is_none() {
                    return Err(StoreError::Fenced);
                }
            }
            for table in [
                "fb_records",
                "fb_values",
                "fb_events",
                "fb_event_runs",
                "fb_blob_pieces",
                "fb_commits",
                "fb_flushes",
                "fb_names",
            ] {
                tx.execute(&format!("DELETE FROM {table} WHERE org = $1"), &[&&*org])?;
            }
            tx.execute("DELETE FROM fb_leases WHERE scope = $1", &[&&*org])?;
            tx.commit()?;
            Ok(())
        })
    }

    /// One value of the org's, if it is there.
    pub fn load_value(&self, space: &str, key: &str) -> Result<Option<String>, StoreError> {
        let (space, key) = (space.to_owned(), key.to_owned());
        self.run(move |c, org| {
            let row = c.client.query_opt(
                "SELECT value FROM fb_values WHERE org = $1 AND space = $2 AND key = $3",
                &[&org, &space, &key],
            )?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    /// Runs `f` with the org's key on a connection.
    fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn, &str) -> Result<T, StoreError> + Send + 'static,
    {
        let org = self.org.clone();
        self.db.run(move |c| f(c, &org))
    }

    /// A synchronous commit that makes every earlier commit durable (see the module's
    /// documentation); after a failure, whether the latest commit survived.
    fn flush(&self) -> Flush {
        if let Some(why) = self.lost.locked().clone() {
            return Flush::Lost(StoreError::Lost(crate::Loss::new(why, false)));
        }
        {
            // Commits kept for this flush go as one synchronous commit: it is the flush.
            let _writing = self.writing.locked();
            match self.send_deferred(true) {
                Ok(true) => return Flush::Done,
                Ok(false) => {}
                Err(e @ StoreError::Lost(_)) => return Flush::Lost(e),
                Err(e) => return Flush::Failed(e),
            }
        }
        let (seen, lost) = (self.seen.clone(), self.lost.clone());
        let flushed = self.run(move |c, org| {
            let (client, prepared) = c.parts();
            let stmt = Conn::prepare(prepared, client, FLUSH)?;
            // One statement, committed by itself: checked after, which is as good (a
            // flush writes nothing of the org's).
            let row = client.query_one(&stmt, &[&org])?;
            flushed(&seen, &lost, row.get(0), row.get(1))
        });
        let e = match flushed {
            Ok(()) => return Flush::Done,
            Err(e @ StoreError::Lost(_)) => return Flush::Lost(e),
            Err(e) => e,
        };
        let latest = self.seen.locked().n;
        let count = self.run(|c, org| {
            let row = c
                .client
                .query_opt("SELECT n FROM fb_commits WHERE org = $1", &[&org])?;
            Ok(row.map_or(0, |r| r.get::<_, i64>(0)))
        });
        match count {
            // Still there: a later flush makes it durable (and a restart of the database
            // before it is caught by the next commit or flush, see `Seen`).
            Ok(n) if n >= latest => Flush::Failed(e),
            Ok(_) => {
                *self.lost.locked() = Some(LOST.to_owned());
                Flush::Lost(StoreError::Lost(crate::Loss::new(
                    format!("{LOST} ({e})"),
                    e.is_full(),
                )))
            }
            Err(_) => Flush::Failed(e),
        }
    }
}

impl Store for PostgresStore {
    fn shared(&self) -> bool {
        true
    }

    fn load_records(&self) -> Result<Vec<StoredRecord>, StoreError> {
        self.run(|c, org| {
            let rows = c.client.query(
                "SELECT id, object, is_deleted, body FROM fb_records WHERE org = $1",
                &[&org],
            )?;
            Ok(rows
                .iter()
                .map(|r| StoredRecord {
                    id: r.get(0),
                    object: r.get(1),
                    is_deleted: r.get(2),
                    body: r.get(3),
                })
                .collect())
        })
    }

    fn load_values(&self, space: &str) -> Result<Vec<(String, String)>, StoreError> {
        let space = space.to_owned();
        self.run(move |c, org| {
            let rows = c.client.query(
                "SELECT key, value FROM fb_values WHERE org = $1 AND space = $2 ORDER BY key",
                &[&org, &space],
            )?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    fn load_events(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let (legacy, last_run) = (self.legacy.clone(), self.last_run.clone());
        self.run(move |c, org| {
            let (client, prepared) = c.parts();
            runs::load(client, prepared, org, (after, limit), &legacy, &last_run)
        })
    }

    fn load_event_index(&self) -> Result<Vec<(u64, u8, i64, usize)>, StoreError> {
        let legacy = self.legacy.clone();
        self.run(move |c, org| runs::load_index(&mut c.client, org, &legacy))
    }

    fn blob_size(&self, key: &str) -> Result<Option<u64>, StoreError> {
        let key = key.to_owned();
        self.run(move |c, org| {
            let row = c.client.query_one(
                "SELECT sum(length(data))::int8 FROM fb_blob_pieces WHERE org = $1 AND key = $2",
                &[&org, &key],
            )?;
            Ok(row.get::<_, Option<i64>>(0).map(|n| n as u64))
        })
    }

    fn read_blob(&self, key: &str, offset: u64, len: usize) -> Result<Vec<u8>, StoreError> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let mut read = crate::BlobRead::new(offset, len);
        let (first, last) = read.pieces();
        let key = key.to_owned();
        self.run(move |c, org| {
            let rows = c.client.query(
                "SELECT piece, data FROM fb_blob_pieces
                 WHERE org = $1 AND key = $2 AND piece BETWEEN $3 AND $4 ORDER BY piece",
                &[&org, &key, &(first as i32), &(last as i32)],
            )?;
            for r in &rows {
                if read.take(r.get::<_, i32>(0) as u64, r.get(1)) {
                    break;
                }
            }
            Ok(read.bytes())
        })
    }

    fn commit_unsynced(&self, batch: &Batch) -> Result<u64, StoreError> {
        self.write(batch, false)
    }

    /// As [`Store::commit_unsynced`], except that a commit made while nothing waits to be
    /// made durable and no other commit waits to be made makes itself durable (one round
    /// trip, its `COMMIT` waiting for the WAL) rather than wait for a flush of its own: its
    /// caller syncs next.
    fn commit_deferred(&self, batch: &Batch) -> Result<u64, StoreError> {
        self.write(batch, true)
    }

    fn sync(&self, ticket: u64) -> Result<(), StoreError> {
        if ticket == 0 {
            return Ok(());
        }
        self.syncer.sync(ticket, &|| self.flush())
    }
}

impl PostgresStore {
    /// Commits `batch` (see [`Store::commit_unsynced`]), synchronously when `may_wait`
    /// and the org is idle (see [`Store::commit_deferred`]): its ticket.
    fn write(&self, batch: &Batch, may_wait: bool) -> Result<u64, StoreError> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let _queued = Queued(&self.queued);
        if let Some(why) = self.lost.locked().clone() {
            return Err(StoreError::Lost(crate::Loss::new(why, false)));
        }
        let fits = one_statement::fits(&batch.writes);
        let may_defer = may_wait && self.durability == Durability::Full && fits;
        let idle = !batch.followed
            && self.queued.load(Ordering::SeqCst) == 1
            && self.deferred.is_empty()
            && self.syncer.idle();
        if may_defer
            && !idle
            && let Some(ticket) = self.deferred.keep(batch, &self.syncer)
        {
            return Ok(ticket);
        }
        let writing = self.writing.locked();
        // What is kept goes first: the database gets the org's commits in order.
        self.send_deferred(false)?;
        let batch = Arc::new(batch.clone());
        let expiring = batch
            .writes
            .iter()
            .any(|w| matches!(w, crate::Write::ExpireEvents { .. }));
        let synchronous = may_defer && idle && self.syncer.idle();
        let fence = self.fence.load(Ordering::SeqCst);
        let (seen, lost, legacy) = (self.seen.clone(), self.lost.clone(), self.legacy.clone());
        self.run(move |c, org| {
            let how = Writing {
                fence,
                synchronous,
                seen: &seen,
                lost: &lost,
                legacy: &legacy,
            };
            how.write(c, org, &batch.writes)
        })
        .inspect_err(|_| self.deferred.recount())?;
        metrics::counter!("forcebus_store_commits_total", "engine" => "postgres").increment(1);
        if expiring {
            self.last_run.clear();
        }
        // Given while no other writer can send what is kept (see `ticket_of_durable`).
        let ticket = match self.durability {
            Durability::Full if synchronous => self.deferred.ticket_of_durable(&self.syncer),
            Durability::Full => self.syncer.committed(),
            Durability::Normal => 0,
        };
        drop(writing);
        Ok(ticket)
    }
}

/// Counts a commit waiting for the writing lock or writing, until dropped.
struct Queued<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How a commit writes its batch: the lease epoch it checks, whether it waits for its WAL
/// to reach the disk, and what the store knows of the database's commits.
struct Writing<'a> {
    fence: i64,
    synchronous: bool,
    seen: &'a Mutex<Seen>,
    lost: &'a Mutex<Option<String>>,
    legacy: &'a runs::Legacy,
}

impl Writing<'_> {
    /// Writes `writes` for `org` as one transaction: one statement when they fit, else a
    /// few. Unless synchronous, durable once `sync` flushes (or never waited for, with
    /// `normal`): the transaction does not wait for its WAL (`synchronous_commit = off`).
    fn write(&self, c: &mut Conn, org: &str, writes: &[crate::Write]) -> Result<(), StoreError> {
        let (client, prepared) = c.parts();
        if one_statement::fits(writes) {
            let was = *self.seen.locked();
            let how = (self.fence, self.synchronous);
            let Some(row) = one_statement::commit(client, prepared, org, writes, how, was)? else {
                let why =
                    one_statement::why_refused(client, prepared, org, self.fence, was, writes)?;
                if matches!(why, StoreError::Lost(_)) {
                    *self.lost.locked() = Some(LOST.to_owned());
                }
                return Err(why);
            };
            record(self.seen, row.get(0), row.get(1));
            return Ok(());
        }
        let mut tx = client.transaction()?;
        tx.batch_execute("SET LOCAL synchronous_commit = off")?;
        writes::apply(&mut tx, prepared, org, writes, self.legacy)?;
        let row = if self.fence == UNFENCED {
            let stmt = Conn::prepare(prepared, &mut tx, COUNT)?;
            tx.query_opt(&stmt, &[&org])?
        } else {
            let stmt = Conn::prepare(prepared, &mut tx, COUNT_FENCED)?;
            tx.query_opt(&stmt, &[&org, &self.fence])?
        };
        // Rolled back when dropped (fenced off, or the database lost earlier commits).
        let Some(row) = row else {
            return Err(StoreError::Fenced);
        };
        let (n, started) = (row.get(0), row.get(1));
        check(self.seen, self.lost, n, started)?;
        tx.commit()?;
        record(self.seen, n, started);
        Ok(())
    }
}
