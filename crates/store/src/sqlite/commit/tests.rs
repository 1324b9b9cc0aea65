//! Deferred batches: read at once, committed as one group by the sync that covers them
//! (or by a batch that is not deferred, the checkpointer, the store's close), a failed
//! batch taking back its own writes alone, and a group that cannot commit final.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::sqlite::{Durability, SqliteStore};
use crate::{Batch, Store, StoreError, StoredRecord, Write};

/// A store's directory, removed after the test.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("fb-defer-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A store at full durability, with no checkpointer when `quiet` (nothing but the test
/// then finishes a group).
fn open(dir: &Dir, quiet: bool) -> SqliteStore {
    let mut store = SqliteStore::open(&dir.0, Durability::Full).unwrap();
    if quiet {
        store.checkpointer.take();
    }
    store
}

fn put(n: u32) -> Batch {
    let mut b = Batch::new();
    b.writes.push(Write::PutRecord(StoredRecord {
        id: format!("00100000000{n:04}"),
        object: "Account".into(),
        is_deleted: false,
        body: r#"{"Name":"x"}"#.into(),
    }));
    b
}

/// The records committed to the file, as another connection (another process) sees them.
fn committed(dir: &Path) -> Vec<String> {
    let c = Connection::open(dir.join("forcebus.db")).unwrap();
    let mut stmt = c.prepare("SELECT id FROM records ORDER BY id").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn ids(store: &SqliteStore) -> Vec<String> {
    let mut ids: Vec<String> = store
        .load_records()
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    ids.sort();
    ids
}

#[test]
fn deferred_batches_are_read_at_once_and_committed_together_by_a_sync() {
    let dir = Dir::new("sync");
    let store = open(&dir, true);
    let first = store.commit_deferred(&put(1)).unwrap();
    let second = store.commit_deferred(&put(2)).unwrap();
    assert!(second > first, "each batch has a ticket of its own");
    assert_eq!(ids(&store), ["001000000000001", "001000000000002"]);
    assert!(
        committed(&dir.0).is_empty(),
        "nothing is committed before a sync"
    );
    store.sync(first).unwrap();
    assert_eq!(
        committed(&dir.0),
        ["001000000000001", "001000000000002"],
        "the sync commits the whole group, the batch after its ticket too"
    );
    store.sync(second).unwrap();
    // A group begins again after it.
    let third = store.commit_deferred(&put(3)).unwrap();
    assert_eq!(committed(&dir.0).len(), 2);
    store.sync(third).unwrap();
    assert_eq!(committed(&dir.0).len(), 3);
}

#[test]
fn a_failed_batch_in_a_group_takes_back_its_own_writes_alone() {
    let dir = Dir::new("failed");
    let store = open(&dir, true);
    store.lock().execute_batch("CREATE TRIGGER no_x BEFORE INSERT ON kv WHEN NEW.key = 'x' BEGIN SELECT RAISE(ABORT, 'no'); END;").unwrap();
    store.commit_deferred(&put(1)).unwrap();
    let mut failing = put(2);
    failing.put("org", "x", Some("1".into()));
    assert!(store.commit_deferred(&failing).is_err());
    let last = store.commit_deferred(&put(3)).unwrap();
    assert_eq!(ids(&store), ["001000000000001", "001000000000003"]);
    store.sync(last).unwrap();
    assert_eq!(committed(&dir.0), ["001000000000001", "001000000000003"]);
    assert!(store.load_values("org").unwrap().is_empty());
}

#[test]
fn a_batch_not_deferred_commits_the_group_before_it_and_itself() {
    let dir = Dir::new("unsynced");
    let store = open(&dir, true);
    store.commit_deferred(&put(1)).unwrap();
    store.commit_unsynced(&put(2)).unwrap();
    assert_eq!(committed(&dir.0), ["001000000000001", "001000000000002"]);
}

#[test]
fn closing_the_store_commits_the_group() {
    let dir = Dir::new("close");
    let store = open(&dir, false);
    store.commit_deferred(&put(1)).unwrap();
    drop(store);
    assert_eq!(committed(&dir.0), ["001000000000001"]);
}

#[test]
fn the_checkpointer_commits_a_group_nobody_syncs() {
    let dir = Dir::new("abandoned");
    let store = open(&dir, false);
    store.commit_deferred(&put(1)).unwrap();
    // Its round starts within a second of the write (the thread's own clock).
    let until = Instant::now() + Duration::from_secs(20);
    while committed(&dir.0).is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(committed(&dir.0), ["001000000000001"]);
    drop(store);
}

/// A store whose open group breaks a constraint SQLite checks only at `COMMIT`; the
/// ticket of the group's batch.
fn doomed(dir: &Dir) -> (SqliteStore, u64) {
    let store = open(dir, true);
    store
        .lock()
        .execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);",
        )
        .unwrap();
    let ticket = store.commit_deferred(&put(1)).unwrap();
    store
        .lock()
        .execute("INSERT INTO child VALUES (7)", [])
        .unwrap();
    (store, ticket)
}

/// Every sync from now on fails, and nothing reached the file.
fn assert_lost_for_good(store: &SqliteStore, dir: &Dir) {
    let next = store.commit_deferred(&put(2)).unwrap();
    assert!(matches!(store.sync(next), Err(StoreError::Lost(_))));
    assert!(matches!(
        store.commit_unsynced(&put(3)).and_then(|t| store.sync(t)),
        Err(StoreError::Lost(_))
    ));
    assert!(!committed(&dir.0).contains(&"001000000000001".to_owned()));
}

#[test]
fn a_group_that_cannot_commit_at_a_sync_fails_every_later_sync() {
    let dir = Dir::new("lost");
    let (store, ticket) = doomed(&dir);
    assert!(matches!(store.sync(ticket), Err(StoreError::Lost(_))));
    assert_lost_for_good(&store, &dir);
}

#[test]
fn a_group_that_cannot_commit_before_another_batch_fails_every_later_sync() {
    let dir = Dir::new("lost-unsynced");
    let (store, _) = doomed(&dir);
    assert!(matches!(
        store.commit_unsynced(&put(4)),
        Err(StoreError::Lost(_))
    ));
    assert!(!ids(&store).contains(&"001000000000004".to_owned()));
    assert_lost_for_good(&store, &dir);
}
