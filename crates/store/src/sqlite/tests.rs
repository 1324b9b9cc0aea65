//! The SQLite engine's tests: durability, group commit, the checkpointer's bound.

use super::*;
use crate::Write;

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
    // checkpointer, restarting the WAL after each complete round, keeps it small. On an
    // idle 2-core machine it stays at 13 to 39 MB by itself; where the checkpointer gets
    // no core (a loaded CI run reached 78 MB), writers wait for it past about 40 MB.
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
                        let synced = store.syncer.as_ref().unwrap().synced();
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
fn the_sqlite_engine_keeps_what_every_engine_keeps() {
    let root = std::env::temp_dir().join(format!("fb-store-conf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    crate::conformance::all(&|name| {
        let dir = root.join(name);
        Box::new(move || std::sync::Arc::new(SqliteStore::open(&dir, Durability::Full).unwrap()))
    });
    let _ = std::fs::remove_dir_all(&root);
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

/// A record, keyed value or blob piece written again keeps its row (its rowid), so the
/// update dirties the page it is on and no other: `INSERT OR REPLACE` moved it to the
/// table's end under a new rowid.
#[test]
fn a_row_written_again_is_updated_in_place() {
    let store = SqliteStore::in_memory().unwrap();
    let mut first = Batch::new();
    for id in ["001000000000001", "001000000000002"] {
        first.writes.push(Write::PutRecord(record(id, false)));
    }
    first.put("org", "commit_number", Some("1".into()));
    first.put("org", "next_id", Some("2".into()));
    first.writes.push(Write::PutBlobPiece {
        key: "b".into(),
        piece: 0,
        data: vec![1u8; 3].into(),
    });
    store.commit(&first).unwrap();
    let rowids = |store: &SqliteStore| -> Vec<i64> {
        let conn = store.lock();
        let mut stmt = conn
            .prepare(
                "SELECT rowid FROM (SELECT rowid, 0 AS t, id AS k FROM records
                 UNION ALL SELECT rowid, 1, key FROM kv) ORDER BY t, k",
            )
            .unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    };
    let before = rowids(&store);

    let mut again = Batch::new();
    let mut changed = record("001000000000001", true);
    changed.body = r#"{"Name":"y"}"#.into();
    again.writes.push(Write::PutRecord(changed));
    again.put("org", "commit_number", Some("2".into()));
    again.writes.push(Write::PutBlobPiece {
        key: "b".into(),
        piece: 0,
        data: vec![2u8; 5].into(),
    });
    store.commit(&again).unwrap();

    assert_eq!(rowids(&store), before, "a row moved");
    let mut records = store.load_records().unwrap();
    records.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(records.len(), 2);
    assert!(records[0].is_deleted);
    assert_eq!(records[0].body, r#"{"Name":"y"}"#);
    assert_eq!(records[1].body, r#"{"Name":"x"}"#);
    assert_eq!(
        store.load_values("org").unwrap(),
        vec![
            ("commit_number".to_owned(), "2".to_owned()),
            ("next_id".to_owned(), "2".to_owned())
        ]
    );
    assert_eq!(store.read_blob("b", 0, 5).unwrap(), vec![2u8; 5]);
}

/// Group commit fsyncs the WAL through a file opened once, and that file stays the WAL
/// through checkpoints that restart it and truncate it, as the store relies on.
#[cfg(unix)]
#[test]
fn the_wal_kept_open_stays_the_wal_through_checkpoints() {
    let dir = std::env::temp_dir().join(format!("fb-store-wal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SqliteStore::open(&dir, Durability::Full).unwrap();
    let commit = |n: u64| {
        let mut b = Batch::new();
        b.writes.push(Write::PutRecord(record(
            &format!("00100000000{n:04}"),
            false,
        )));
        let ticket = store.commit_unsynced(&b).unwrap();
        store.sync(ticket).unwrap();
    };
    commit(0);
    let wal = store.wal.as_ref().unwrap();
    let (kept, at_path) = wal.inodes();
    assert!(kept.is_some(), "the WAL was not kept open");
    assert_eq!(kept, at_path);
    for round in 1..=3 {
        for n in 0..50 {
            commit(round * 100 + n);
        }
        // A complete checkpoint that truncates the WAL (again while the checkpointer's
        // thread holds the checkpoint: it answers busy then), then writes that restart it.
        let truncated = (0..500).any(|_| {
            let busy: i64 = store
                .lock()
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
                .unwrap();
            let empty = std::fs::metadata(dir.join("forcebus.db-wal"))
                .unwrap()
                .len()
                == 0;
            if busy != 0 || !empty {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            busy == 0 && empty
        });
        assert!(truncated, "round {round}: the WAL was never truncated");
        commit(round * 100 + 99);
        assert_eq!(wal.inodes(), (kept, kept), "round {round}");
    }
    assert_eq!(store.load_records().unwrap().len(), 1 + 3 * 51);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
