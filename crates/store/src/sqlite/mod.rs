//! The embedded default engine: one SQLite file (WAL) holding records and keyed values.
//!
//! One connection, owned behind a mutex: writes are serialised by the org above us anyway,
//! and most reads come from the org's in-memory state, so the store is read mostly at
//! start-up (and for events behind the log's in-memory tail, and blobs' bytes). Every
//! read goes through that connection, so it sees a deferred batch ([`commit`]) at once.
//! A file-backed store checkpoints the WAL into the database from a thread of its own (a
//! second connection), so commits do not carry the checkpoints' copying.
//!
//! - [`checkpoint`]: that thread, and the backpressure that keeps the WAL bounded.
//! - [`commit`]: a batch's transaction, committed at once or deferred to the next sync
//!   with the batches after it.
//! - [`runs`]: events stored as runs, the events of one class a commit appends in one row.
//! - [`segments`]: the payloads of a commit of events alone, in files of their own
//!   (`events/`), written once instead of into the WAL and again into the database.
//! - [`writes`]: a commit's other writes (records, keyed values, blob pieces).
//! - [`wal`]: the WAL file group commit fsyncs, kept open.
//!
//! Group commit ([`crate::group_commit`]) shares one fsync of the WAL among every writer
//! waiting on it.

mod checkpoint;
mod commit;
mod runs;
mod segments;
#[cfg(test)]
mod tests;
mod wal;
mod writes;

use forcebus_sync::prelude::*;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use crate::group_commit::{Flush, Syncer};
use crate::{Batch, Store, StoreError, StoredEvent, StoredRecord};
use checkpoint::{Checkpointer, WAL_SIZE_LIMIT};
use commit::Conn;
use segments::Segments;
use wal::Wal;

/// How hard a commit pushes data to disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// fsync on every commit (shared by concurrent ones): an acknowledged write survives
    /// power loss. A write not yet acknowledged may be lost with the process.
    #[default]
    Full,
    /// WAL without fsync per commit: survives a killed process, not a power cut.
    Normal,
}

/// SQLite-backed [`Store`].
///
/// With [`Durability::Full`], SQLite commits without its own fsync (WAL, `synchronous =
/// NORMAL`) and [`Store::sync`] makes commits durable by fsyncing the WAL: one writer
/// leads the fsync, and every commit that finished before it started is covered, so
/// concurrent writers share it (group commit). SQLite fsyncs the WAL before each
/// checkpoint and the database after it, so nothing reaches the database file unsynced.
#[derive(Debug)]
pub struct SqliteStore {
    conn: std::sync::Arc<Mutex<Conn>>,
    /// The WAL file fsynced by group commit (with [`Durability::Full`]).
    wal: Option<Wal>,
    syncer: Option<std::sync::Arc<Syncer>>,
    checkpointer: Option<Checkpointer>,
    /// The segment files of a file-backed store (`events/` beside the database).
    segments: Option<Segments>,
    /// Whether the `events` table of a database written before event runs still holds
    /// events (see `runs`). Read and written under the connection's lock only, so
    /// `Relaxed` is enough.
    legacy: AtomicBool,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    object TEXT NOT NULL,
    is_deleted INTEGER NOT NULL,
    body TEXT NOT NULL
);
-- Events as written before event runs (`runs`), one row each: read until expired.
CREATE TABLE IF NOT EXISTS events (
    replay_id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    class INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_class ON events (class, replay_id);
CREATE TABLE IF NOT EXISTS blob_pieces (
    key TEXT NOT NULL,
    piece INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (key, piece)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv (
    space TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (space, key)
);
";

impl SqliteStore {
    /// Opens (creating if needed) `forcebus.db` in `dir`.
    pub fn open(dir: &Path, durability: Durability) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let path = dir.join("forcebus.db");
        make_private(&path).map_err(|source| StoreError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Checkpoints run on the checkpointer's connection, not inside commits.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        // Full durability fsyncs the WAL in `sync` (group commit) rather than per commit.
        let full = durability == Durability::Full;
        let durability = Durability::Normal;
        let sync = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        let mut s = Self::init(conn)?;
        s.reclaim_space_from_now_on()?;
        let segments = Segments::open(&dir.join("events"), !full)?;
        runs::recover(&s.lock(), &segments)?;
        // What recovery dropped stays dropped: its deletes are durable before anything.
        let wal = Wal::new(dir.join("forcebus.db-wal"));
        if let Flush::Lost(e) | Flush::Failed(e) = wal.fsync() {
            return Err(e);
        }
        s.segments = Some(segments);
        if full {
            s.syncer = Some(std::sync::Arc::default());
            s.wal = Some(wal);
        }
        // SQLite fsyncs the WAL before a checkpoint copies it and the database after it,
        // at `synchronous = NORMAL` as on the writer's connection.
        let checkpoint_conn = Connection::open(&path)?;
        checkpoint_conn.pragma_update(None, "synchronous", sync)?;
        checkpoint_conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        s.checkpointer = Some(Checkpointer::start(
            checkpoint_conn,
            s.conn.clone(),
            s.syncer.clone(),
        ));
        Ok(s)
    }

    /// Makes the database give pages back to the file system: `auto_vacuum =
    /// INCREMENTAL` (a database made before it is converted once, with `VACUUM`), and
    /// every commit that expires events is followed by `incremental_vacuum`, so the file
    /// shrinks as the event log does instead of keeping its largest size for ever.
    fn reclaim_space_from_now_on(&self) -> Result<(), StoreError> {
        let conn = self.lock();
        let mode: i64 = conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
        if mode != 2 {
            conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
            conn.execute_batch("VACUUM")?;
        }
        Ok(())
    }

    /// A store that lives in memory only, for tests and `--in-memory`.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.execute_batch(SCHEMA)?;
        runs::create(&conn)?;
        // Room for every statement this engine prepares again and again.
        conn.set_prepared_statement_cache_capacity(48);
        let legacy = legacy_events(&conn)?;
        Ok(Self {
            conn: std::sync::Arc::new(Mutex::new(Conn::new(conn))),
            wal: None,
            syncer: None,
            checkpointer: None,
            segments: None,
            legacy: AtomicBool::new(legacy),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Conn> {
        // A panic while holding the lock leaves SQLite consistent (a write takes back the
        // batch it was writing before the panic goes on), so a poisoned lock is safe to
        // reuse.
        self.conn.locked()
    }
}

impl Store for SqliteStore {
    fn load_records(&self) -> Result<Vec<StoredRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT id, object, is_deleted, body FROM records")?;
        let rows = stmt.query_map([], |r| {
            Ok(StoredRecord {
                id: r.get(0)?,
                object: r.get(1)?,
                is_deleted: r.get(2)?,
                body: r.get(3)?,
            })
        })?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    fn load_values(&self, space: &str) -> Result<Vec<(String, String)>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT key, value FROM kv WHERE space = ?1 ORDER BY key")?;
        let rows = stmt.query_map([space], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    fn load_events(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.lock();
        let mut events = if self.legacy.load(Ordering::Relaxed) {
            load_legacy_events(&conn, after, limit)?
        } else {
            Vec::new()
        };
        let from_legacy = events.len();
        let from_runs = runs::load(&conn, after, limit, self.segments.as_ref())?;
        let from_runs_len = from_runs.len();
        events.extend(from_runs);
        if from_legacy > 0 && from_runs_len > 0 {
            events.sort_by_key(|e| e.replay_id);
            events.truncate(limit);
        }
        Ok(events)
    }

    fn load_event_index(&self) -> Result<Vec<(u64, u8, i64, usize)>, StoreError> {
        let conn = self.lock();
        let mut index = Vec::new();
        if self.legacy.load(Ordering::Relaxed) {
            let mut stmt = conn.prepare(
                "SELECT replay_id, class, time_ms, length(payload) FROM events ORDER BY replay_id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get(1)?,
                    r.get(2)?,
                    r.get::<_, i64>(3)? as usize,
                ))
            })?;
            for row in rows {
                index.push(row?);
            }
        }
        let from_legacy = index.len();
        runs::load_index(&conn, &mut index)?;
        if from_legacy > 0 && index.len() > from_legacy {
            index.sort_by_key(|e| e.0);
        }
        Ok(index)
    }

    fn blob_size(&self, key: &str) -> Result<Option<u64>, StoreError> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare_cached("SELECT sum(length(data)) FROM blob_pieces WHERE key = ?1")?;
        let size: Option<i64> = stmt.query_row([key], |r| r.get(0))?;
        Ok(size.map(|n| n as u64))
    }

    fn read_blob(&self, key: &str, offset: u64, len: usize) -> Result<Vec<u8>, StoreError> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let mut read = crate::BlobRead::new(offset, len);
        let (first, last) = read.pieces();
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT piece, data FROM blob_pieces WHERE key = ?1 AND piece BETWEEN ?2 AND ?3 ORDER BY piece",
        )?;
        let mut rows = stmt.query(params![key, first as i64, last as i64])?;
        while let Some(r) = rows.next()? {
            let n = r.get::<_, i64>(0)? as u64;
            let data = r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
            if read.take(n, data) {
                break;
            }
        }
        Ok(read.bytes())
    }

    fn sync(&self, ticket: u64) -> Result<(), StoreError> {
        let (Some(syncer), Some(wal)) = (&self.syncer, &self.wal) else {
            return Ok(());
        };
        // The segments first: a row in the WAL must not be durable before its payloads.
        syncer.sync(ticket, &|| {
            // The deferred batches are written first, on this thread.
            if let Err(e) = self.finish_deferred() {
                return Flush::Lost(e);
            }
            let flushed = match self.segments.as_ref().map(Segments::sync) {
                Some(Err(e)) => Flush::Lost(e),
                _ => wal.fsync(),
            };
            if let Flush::Lost(e) = &flushed {
                // Recorded under the connection's lock, as every loss is, so no write or
                // checkpoint goes on past it; the group opened meanwhile is rolled back.
                let mut conn = self.lock();
                syncer.lose(crate::Loss::new(e.to_string(), e.is_full()));
                commit::abandon(&mut conn);
            }
            flushed
        })
    }

    fn commit_unsynced(&self, batch: &Batch) -> Result<u64, StoreError> {
        self.write(batch, false)
    }

    fn commit_deferred(&self, batch: &Batch) -> Result<u64, StoreError> {
        self.write(batch, true)
    }
}

impl Drop for SqliteStore {
    /// Commits the deferred batches nobody synced (written to the OS, as an unsynced
    /// commit is).
    fn drop(&mut self) {
        if let Err(e) = self.finish_deferred() {
            tracing::warn!(error = %e, "Deferred commits were lost at close.");
        }
    }
}

/// Whether the `events` table (events written before runs) holds any.
fn legacy_events(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM events)", [], |r| r.get(0))
}

/// Up to `limit` events after `after` from the `events` table, in order.
fn load_legacy_events(
    conn: &Connection,
    after: u64,
    limit: usize,
) -> rusqlite::Result<Vec<StoredEvent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT replay_id, kind, class, time_ms, payload FROM events WHERE replay_id > ?1 ORDER BY replay_id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after as i64, limit as i64], |r| {
        Ok(StoredEvent {
            replay_id: r.get::<_, i64>(0)? as u64,
            kind: r.get(1)?,
            class: r.get(2)?,
            time_ms: r.get(3)?,
            payload: bytes::Bytes::from(r.get::<_, Vec<u8>>(4)?),
        })
    })?;
    rows.collect()
}

/// Creates the database file owner-only (0600) before SQLite opens it, or tightens one an
/// earlier version made 0644: it holds records and credentials. SQLite gives the `-wal`
/// and `-shm` files it creates the database file's permissions.
fn make_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        options.open(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    options.open(path).map(drop)
}
