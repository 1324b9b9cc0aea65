//! The SQLite engine's tests: durability, group commit, the checkpointer's bound.

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
                        let synced = store.syncer.as_ref().unwrap().state.lock().unwrap().synced;
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

#[test]
fn blobs_are_read_a_piece_at_a_time_and_go_with_their_record() {
    let dir = std::env::temp_dir().join(format!("fb-store-blobs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    {
        let s = SqliteStore::open(&dir, Durability::Full).unwrap();
        let mut b = Batch::new();
        b.writes
            .push(Write::PutRecord(record("068000000000001", false)));
        for (key, bytes) in [
            ("068000000000001/VersionData/1", data.clone()),
            ("068000000000002/VersionData/1", vec![7u8; 10]),
        ] {
            b.writes.push(Write::PutBlob {
                key: key.into(),
                data: Some(bytes::Bytes::from(bytes)),
            });
        }
        s.commit(&b).unwrap();
    }
    let s = SqliteStore::open(&dir, Durability::Full).unwrap();
    let key = "068000000000001/VersionData/1";
    assert_eq!(s.blob_size(key).unwrap(), Some(300_000));
    assert_eq!(s.blob_size("nothing/here/1").unwrap(), None);
    let mut read = Vec::new();
    let mut offset = 0u64;
    loop {
        let piece = s.read_blob(key, offset, 65_536).unwrap();
        if piece.is_empty() {
            break;
        }
        offset += piece.len() as u64;
        read.extend(piece);
    }
    assert_eq!(read, data);
    // Reads that start and end anywhere, across the pieces it is stored in.
    for (offset, len) in [
        (0, 1),
        (262_000, 1_000),
        (262_143, 2),
        (1, 299_999),
        (299_990, 100),
    ] {
        let got = s.read_blob(key, offset, len).unwrap();
        let end = (offset as usize + len).min(data.len());
        assert_eq!(got, &data[offset as usize..end], "{offset}+{len}");
    }
    assert!(s.read_blob(key, 400_000, 10).unwrap().is_empty());
    let mut purge = Batch::new();
    purge.writes.push(Write::PurgeRecord {
        id: "068000000000001".into(),
    });
    s.commit(&purge).unwrap();
    assert_eq!(s.blob_size(key).unwrap(), None, "purged with its record");
    assert_eq!(
        s.blob_size("068000000000002/VersionData/1").unwrap(),
        Some(10),
        "another record's stays"
    );
    let mut gone = Batch::new();
    gone.writes.push(Write::PutBlob {
        key: "068000000000002/VersionData/1".into(),
        data: None,
    });
    s.commit(&gone).unwrap();
    assert_eq!(s.blob_size("068000000000002/VersionData/1").unwrap(), None);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}
