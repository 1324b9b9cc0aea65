//! The embedded default engine: one SQLite file (WAL) holding records and keyed values.
//!
//! One connection, owned behind a mutex: writes are serialised by the org above us anyway,
//! and reads come from the org's in-memory state, so the store is only read at start-up.

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
    conn: Mutex<Connection>,
    syncer: Option<Syncer>,
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
}

impl Syncer {
    fn sync(&self, ticket: u64) -> Result<(), StoreError> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
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
        if result.is_ok() {
            s.synced = s.synced.max(target);
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
        let conn = Connection::open(dir.join("forcebus.db"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
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
        s.syncer = syncer;
        Ok(s)
    }

    /// A store that lives in memory only, for tests and `--in-memory`.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
            syncer: None,
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
                payload: r.get(4)?,
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
        for write in &batch.writes {
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
                    .execute(params![e.replay_id as i64, e.kind, e.class, e.time_ms, e.payload])?;
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
        drop(conn);
        Ok(self
            .syncer
            .as_ref()
            .map_or(0, |s| s.committed.fetch_add(1, Ordering::SeqCst) + 1))
    }
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
