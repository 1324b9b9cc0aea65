//! Deferred batches: read at once, committed as one group by the sync that covers them
//! (or by a batch that is not deferred, the checkpointer, the store's close), a failed
//! batch taking back its own writes alone, and a group that cannot commit final.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
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
    crate::conformance::record_ids(store)
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
    let store = open(&dir, true);
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

/// Every write and sync from now on fails, and nothing of the group, nor anything after
/// it, reaches the file (what is on disk stays a prefix of what happened).
fn assert_lost_for_good(store: SqliteStore, dir: &Dir, ticket: u64) {
    assert!(matches!(
        store.commit_deferred(&put(2)),
        Err(StoreError::Lost(_))
    ));
    assert!(matches!(
        store.commit_unsynced(&put(3)),
        Err(StoreError::Lost(_))
    ));
    assert!(matches!(store.sync(ticket), Err(StoreError::Lost(_))));
    drop(store);
    assert!(committed(&dir.0).is_empty());
}

#[test]
fn a_group_that_cannot_commit_at_a_sync_fails_every_later_sync() {
    let dir = Dir::new("lost");
    let (store, ticket) = doomed(&dir);
    assert!(matches!(store.sync(ticket), Err(StoreError::Lost(_))));
    assert_lost_for_good(store, &dir, ticket);
}

#[test]
fn a_group_that_cannot_commit_before_another_batch_fails_every_later_sync() {
    let dir = Dir::new("lost-unsynced");
    let (store, ticket) = doomed(&dir);
    assert!(matches!(
        store.commit_unsynced(&put(4)),
        Err(StoreError::Lost(_))
    ));
    assert!(!ids(&store).contains(&"001000000000004".to_owned()));
    assert_lost_for_good(store, &dir, ticket);
}

/// SQLite rolls a whole transaction back after some errors (an I/O error, a full disk),
/// a read's included: a group gone so is a loss, never a fresh start.
#[test]
fn a_group_sqlite_rolled_back_by_itself_is_lost_for_good() {
    let dir = Dir::new("vanished");
    let store = open(&dir, true);
    let ticket = store.commit_deferred(&put(1)).unwrap();
    store.lock().execute_batch("ROLLBACK").unwrap();
    assert!(matches!(store.sync(ticket), Err(StoreError::Lost(_))));
    assert_lost_for_good(store, &dir, ticket);
}

/// The largest the WAL grew over a flood of deferred batches of events (about 120 MB of
/// rows, twice the WAL's bound), synced every `sync_every` batches (never with `None`).
fn largest_wal(name: &str, sync_every: Option<u64>) -> u64 {
    let dir = Dir::new(name);
    let wal = dir.0.join("forcebus.db-wal");
    let (batches, per_batch) = (6_000u64, 20u64);
    let mut largest = 0;
    let store = open(&dir, false);
    for b in 0..batches {
        let mut batch = Batch::new();
        for i in 0..per_batch {
            batch.writes.push(Write::AppendEvent(crate::StoredEvent {
                replay_id: b * per_batch + i + 1,
                kind: "E".into(),
                class: 0,
                time_ms: 0,
                payload: vec![7u8; 1000].into(),
            }));
        }
        // A record as well: a batch of events alone keeps its payloads out of the WAL.
        batch.writes.push(Write::PutRecord(StoredRecord {
            id: format!("001{b:012}"),
            object: "Account".into(),
            is_deleted: false,
            body: "{}".into(),
        }));
        let ticket = store.commit_deferred(&batch).unwrap();
        if sync_every.is_some_and(|n| b % n == n - 1) {
            store.sync(ticket).unwrap();
        }
        largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        std::thread::yield_now();
    }
    drop(store);
    let store = SqliteStore::open(&dir.0, Durability::Full).unwrap();
    assert_eq!(
        store.load_event_index().unwrap().len() as u64,
        batches * per_batch
    );
    eprintln!("{name}: largest WAL {largest} bytes");
    largest
}

/// The checkpointer's round ends with the open group committed under the writer's lock,
/// so the WAL restarts after it as it does between transactions of their own.
#[test]
fn the_wal_stays_bounded_under_deferred_batches() {
    let limit = crate::sqlite::WAL_SIZE_LIMIT as u64;
    assert!(largest_wal("wal-synced", Some(10)) < limit);
    assert!(largest_wal("wal-unsynced", None) < limit);
}

#[test]
fn a_write_after_sqlite_rolled_the_group_back_fails_and_writes_nothing() {
    let dir = Dir::new("vanished-write");
    let store = open(&dir, true);
    let ticket = store.commit_deferred(&put(1)).unwrap();
    store.lock().execute_batch("ROLLBACK").unwrap();
    // Not joined to a transaction of its own (which its release would commit).
    assert!(matches!(
        store.commit_deferred(&put(2)),
        Err(StoreError::Lost(_))
    ));
    assert!(ids(&store).is_empty());
    assert_lost_for_good(store, &dir, ticket);
}

thread_local! {
    /// Makes the next batch written on this thread panic once its writes are done.
    static PANIC: Cell<bool> = const { Cell::new(false) };
}

/// Called by every batch's writes when they are done (tests only).
pub(super) fn panic_if_asked() {
    if PANIC.with(|p| p.replace(false)) {
        panic!("a batch's writes panicked (test)");
    }
}

/// Writes `batch`, deferred, panicking once its writes are done.
fn panicking(store: &SqliteStore, batch: &Batch) {
    PANIC.with(|p| p.set(true));
    let outcome = catch_unwind(AssertUnwindSafe(|| store.commit_deferred(batch)));
    assert!(outcome.is_err(), "it panicked");
}

#[test]
fn a_batch_that_panics_halfway_is_taken_back() {
    let dir = Dir::new("panic");
    let store = open(&dir, true);
    // The first batch of a group, then one joining a group.
    panicking(&store, &put(1));
    store.commit_deferred(&put(2)).unwrap();
    panicking(&store, &put(3));
    let ticket = store.commit_deferred(&put(4)).unwrap();
    store.sync(ticket).unwrap();
    assert_eq!(committed(&dir.0), ["001000000000002", "001000000000004"]);
    assert_eq!(ids(&store), ["001000000000002", "001000000000004"]);
}
