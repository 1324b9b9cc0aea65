//! The embedded default engine: one SQLite file (WAL) holding records and keyed values.
//!
//! One connection, owned behind a mutex: writes are serialised by the org above us anyway,
//! and reads come from the org's in-memory state, so the store is only read at start-up.
//! A file-backed store checkpoints the WAL into the database from a thread of its own (a
//! second connection), so commits do not carry the checkpoints' copying.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use crate::{Batch, Store, StoreError, StoredEvent, StoredRecord, Write};

/// How hard a commit pushes data to disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// fsync on every commit: survives power loss.
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
    conn: std::sync::Arc<Mutex<Connection>>,
    syncer: Option<Syncer>,
    checkpointer: Option<Checkpointer>,
}

/// WAL pages written since the last checkpoint after which the checkpointer runs (SQLite's
/// own automatic checkpoint is at 1,000).
const CHECKPOINT_PAGES: u64 = 1000;
/// WAL frames left after an unlocked pass below which the checkpointer finishes under the
/// writer's lock (so the WAL restarts): the lock is held for at most about this many.
const FINISH_FRAMES: i64 = 256;
/// Unlocked passes before the checkpointer finishes under the lock whatever is left.
const MAX_PASSES: usize = 4;
/// The WAL is truncated to this size when it restarts.
const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// The background checkpointer: a thread with its own connection that runs passive
/// checkpoints whenever enough has been committed. A passive checkpoint never blocks a
/// writer, but under a steady stream of commits it never finds the WAL complete, and the
/// WAL restarts (instead of growing) only after a complete one. So each round copies most
/// frames unlocked, then the few written meanwhile while holding the writer's lock.
#[derive(Debug)]
struct Checkpointer {
    shared: std::sync::Arc<CheckpointShared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct CheckpointShared {
    /// WAL pages (estimated) written since the checkpointer was last woken.
    pending: AtomicU64,
    state: Mutex<CheckpointState>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct CheckpointState {
    requested: bool,
    stop: bool,
}

/// A passive checkpoint: (WAL frames, frames checkpointed).
fn checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

impl Checkpointer {
    fn start(conn: Connection, writer: std::sync::Arc<Mutex<Connection>>) -> Self {
        let shared = std::sync::Arc::new(CheckpointShared::default());
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("forcebus-checkpoint".into())
                .spawn(move || Self::run(&conn, &writer, &shared))
                .expect("a thread can be started")
        };
        Self {
            shared,
            thread: Some(thread),
        }
    }

    fn run(conn: &Connection, writer: &Mutex<Connection>, shared: &CheckpointShared) {
        loop {
            {
                let mut s = shared.state.lock().unwrap_or_else(|e| e.into_inner());
                while !s.requested && !s.stop {
                    let (next, _) = shared
                        .wake
                        .wait_timeout(s, std::time::Duration::from_secs(1))
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
            if let Err(e) = Self::round(conn, writer) {
                tracing::warn!(error = %e, "A WAL checkpoint failed.");
            }
        }
    }

    fn round(conn: &Connection, writer: &Mutex<Connection>) -> rusqlite::Result<()> {
        for _ in 0..MAX_PASSES {
            let (frames, done) = checkpoint(conn)?;
            if frames - done <= FINISH_FRAMES {
                break;
            }
        }
        // No commit can add frames while this holds the writer's lock: the pass completes.
        let _writer = writer.lock().unwrap_or_else(|e| e.into_inner());
        checkpoint(conn)?;
        Ok(())
    }

    /// Counts a commit of about `bytes`; wakes the thread when enough has piled up.
    fn committed(&self, bytes: u64) {
        // A commit writes whole pages: its data, plus a page or so per table and index it
        // touched, plus the header page.
        // With auto_vacuum, a pointer-map page too.
        let pages = bytes.div_ceil(4096) + 4;
        let before = self.shared.pending.fetch_add(pages, Ordering::Relaxed);
        if before < CHECKPOINT_PAGES && before + pages >= CHECKPOINT_PAGES {
            self.shared
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .requested = true;
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .stop = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Debug)]
struct Syncer {
    wal: std::path::PathBuf,
    /// Commits finished so far (each one's WAL frames are written).
    committed: AtomicU64,
    state: Mutex<SyncState>,
    done: Condvar,
}

#[derive(Debug, Default)]
struct SyncState {
    /// Every commit up to this count is durable.
    synced: u64,
    /// An fsync is under way.
    running: bool,
    /// A failed fsync, for good: the kernel may have dropped the pages it could not write,
    /// so a later fsync that succeeds proves nothing about them. Every later sync fails
    /// until the server restarts (and SQLite recovers from what is on disk).
    failed: Option<String>,
}

impl Syncer {
    fn sync(&self, ticket: u64) -> Result<(), StoreError> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
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
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
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

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    object TEXT NOT NULL,
    is_deleted INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    replay_id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    class INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_class ON events (class, replay_id);
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
        let syncer = (durability == Durability::Full).then(|| Syncer {
            wal: dir.join("forcebus.db-wal"),
            committed: AtomicU64::new(0),
            state: Mutex::new(SyncState::default()),
            done: Condvar::new(),
        });
        let durability = Durability::Normal;
        let sync = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        let mut s = Self::init(conn)?;
        s.reclaim_space_from_now_on()?;
        s.syncer = syncer;
        // SQLite fsyncs the WAL before a checkpoint copies it and the database after it,
        // at `synchronous = NORMAL` as on the writer's connection.
        let checkpoint_conn = Connection::open(&path)?;
        checkpoint_conn.pragma_update(None, "synchronous", sync)?;
        checkpoint_conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        s.checkpointer = Some(Checkpointer::start(checkpoint_conn, s.conn.clone()));
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
        Ok(Self {
            conn: std::sync::Arc::new(Mutex::new(conn)),
            syncer: None,
            checkpointer: None,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (the transaction rolls
        // back on drop), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
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
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    fn load_event_index(&self) -> Result<Vec<(u64, u8, i64, usize)>, StoreError> {
        let conn = self.lock();
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
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    fn sync(&self, ticket: u64) -> Result<(), StoreError> {
        match &self.syncer {
            Some(s) => s.sync(ticket),
            None => Ok(()),
        }
    }

    fn commit_unsynced(&self, batch: &Batch) -> Result<u64, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let mut bytes = 0u64;
        for write in &batch.writes {
            bytes += write_size(write);
            match write {
                Write::PutRecord(r) => {
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO records (id, object, is_deleted, body)
                         VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![r.id, r.object, r.is_deleted, r.body])?;
                }
                Write::AppendEvent(e) => {
                    tx.prepare_cached(
                        "INSERT INTO events (replay_id, kind, class, time_ms, payload) VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![e.replay_id as i64, e.kind, e.class, e.time_ms, &e.payload[..]])?;
                }
                Write::ExpireEvents { class, through } => {
                    tx.prepare_cached("DELETE FROM events WHERE class = ?1 AND replay_id <= ?2")?
                        .execute(params![class, *through as i64])?;
                }
                Write::PurgeRecord { id } => {
                    tx.prepare_cached("DELETE FROM records WHERE id = ?1")?
                        .execute([id])?;
                }
                Write::Put {
                    space,
                    key,
                    value: Some(v),
                } => {
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO kv (space, key, value) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![space, key, v])?;
                }
                Write::Put {
                    space,
                    key,
                    value: None,
                } => {
                    tx.prepare_cached("DELETE FROM kv WHERE space = ?1 AND key = ?2")?
                        .execute(params![space, key])?;
                }
            }
        }
        tx.commit()?;
        let expired = batch
            .writes
            .iter()
            .any(|w| matches!(w, Write::ExpireEvents { .. }));
        if expired {
            // Gives the pages the deleted events used back to the file system (the file
            // shrinks at the next checkpoint); without it the file keeps its largest size.
            // A failure here loses nothing: the pages stay free for later inserts.
            if let Err(e) = incremental_vacuum(&conn) {
                tracing::warn!(error = %e, "Could not give freed pages back.");
            }
            bytes += 64 * 1024;
        }
        drop(conn);
        if let Some(c) = &self.checkpointer {
            c.committed(bytes);
        }
        Ok(self
            .syncer
            .as_ref()
            .map_or(0, |s| s.committed.fetch_add(1, Ordering::SeqCst) + 1))
    }
}

/// About how many bytes a write adds to the WAL.
/// Frees every page on the freelist. SQLite frees one page per step of this pragma (each
/// step yields an empty row), so it is stepped to the end.
fn incremental_vacuum(conn: &Connection) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached("PRAGMA incremental_vacuum")?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
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

fn write_size(w: &Write) -> u64 {
    let n = match w {
        Write::PutRecord(r) => r.id.len() + r.object.len() + r.body.len(),
        Write::AppendEvent(e) => e.kind.len() + e.payload.len() + 24,
        Write::ExpireEvents { .. } | Write::PurgeRecord { .. } => 64,
        Write::Put { key, value, .. } => key.len() + value.as_ref().map_or(0, String::len),
    };
    n as u64 + 16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, deleted: bool) -> StoredRecord {
        StoredRecord {
            id: id.into(),
            object: "Account".into(),
            is_deleted: deleted,
            body: r#"{"Name":"x"}"#.into(),
        }
    }

    #[test]
    fn the_checkpointer_keeps_the_wal_bounded_and_loses_nothing() {
        let dir = std::env::temp_dir().join(format!("fb-store-ckpt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let wal = dir.join("forcebus.db-wal");
        let (batches, per_batch) = (3_000u64, 20u64);
        let mut largest = 0;
        {
            let store = SqliteStore::open(&dir, Durability::Normal).unwrap();
            for b in 0..batches {
                let mut batch = Batch::new();
                for i in 0..per_batch {
                    batch.writes.push(Write::AppendEvent(StoredEvent {
                        replay_id: b * per_batch + i + 1,
                        kind: "E".into(),
                        class: 0,
                        time_ms: 0,
                        payload: vec![7u8; 1000].into(),
                    }));
                }
                store.commit_unsynced(&batch).unwrap();
                largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
                // Leave the checkpointer a chance on a loaded machine.
                std::thread::yield_now();
            }
        }
        // About 60 MB of rows (over 100 MB of WAL frames, 114 MB of WAL without the
        // checkpointer) was committed; SQLite's own checkpoints are off, so only the
        // checkpointer, restarting the WAL after each complete round, keeps it below
        // `journal_size_limit`. How far below depends on when the checkpointer thread
        // gets a core: 13 to 39 MB on an idle 2-core machine, 45 MB once in a loaded CI
        // run, so the bound is the limit itself.
        eprintln!("largest WAL: {largest} bytes");
        assert!(
            largest < WAL_SIZE_LIMIT as u64,
            "the WAL grew to {largest} bytes"
        );
        let store = SqliteStore::open(&dir, Durability::Normal).unwrap();
        let index = store.load_event_index().unwrap();
        assert_eq!(index.len() as u64, batches * per_batch);
        assert_eq!(index.last().unwrap().0, batches * per_batch);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn concurrent_writers_share_fsyncs_and_lose_nothing() {
        let dir = std::env::temp_dir().join(format!("fb-store-group-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let store = std::sync::Arc::new(SqliteStore::open(&dir, Durability::Full).unwrap());
            let threads: Vec<_> = (0..8)
                .map(|t| {
                    let store = store.clone();
                    std::thread::spawn(move || {
                        for i in 0..50 {
                            let mut b = Batch::new();
                            b.put("t", &format!("{t}-{i}"), Some("v".into()));
                            let ticket = store.commit_unsynced(&b).unwrap();
                            store.sync(ticket).unwrap();
                            let synced =
                                store.syncer.as_ref().unwrap().state.lock().unwrap().synced;
                            assert!(synced >= ticket, "acknowledged only once durable");
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
        }
        let store = SqliteStore::open(&dir, Durability::Full).unwrap();
        assert_eq!(store.load_values("t").unwrap().len(), 400);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn committed_batch_is_loaded_back_from_disk() {
        let dir = std::env::temp_dir().join(format!("fb-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let store = SqliteStore::open(&dir, Durability::Full).unwrap();
            let mut b = Batch::new();
            b.writes
                .push(Write::PutRecord(record("001000000000001", false)));
            b.writes
                .push(Write::PutRecord(record("001000000000002", true)));
            b.put("org", "id", Some("00D".into()));
            store.commit(&b).unwrap();
            let mut b = Batch::new();
            b.writes.push(Write::PurgeRecord {
                id: "001000000000002".into(),
            });
            b.put("org", "gone", Some("x".into()));
            b.put("org", "gone", None);
            store.commit(&b).unwrap();
        }
        let store = SqliteStore::open(&dir, Durability::Full).unwrap();
        assert_eq!(
            store.load_records().unwrap(),
            vec![record("001000000000001", false)]
        );
        assert_eq!(
            store.load_values("org").unwrap(),
            vec![("id".into(), "00D".into())]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn database_files_are_readable_by_the_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("fb-store-mode-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // A database an earlier version left world-readable is tightened too.
        std::fs::write(dir.join("forcebus.db"), b"").unwrap();
        std::fs::set_permissions(
            dir.join("forcebus.db"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let store = SqliteStore::open(&dir, Durability::Full).unwrap();
        let mut b = Batch::new();
        b.put("t", "k", Some("secret".into()));
        store.commit(&b).unwrap();
        for name in ["forcebus.db", "forcebus.db-wal", "forcebus.db-shm"] {
            let mode = std::fs::metadata(dir.join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn failed_batch_changes_nothing() {
        let store = SqliteStore::in_memory().unwrap();
        store.lock().execute_batch("CREATE TRIGGER no_x BEFORE INSERT ON kv WHEN NEW.key = 'x' BEGIN SELECT RAISE(ABORT, 'no'); END;").unwrap();
        let mut b = Batch::new();
        b.writes
            .push(Write::PutRecord(record("001000000000001", false)));
        b.put("org", "x", Some("1".into()));
        assert!(store.commit(&b).is_err());
        assert!(store.load_records().unwrap().is_empty());
        assert!(store.load_values("org").unwrap().is_empty());
    }
}
