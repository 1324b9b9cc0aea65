//! What every engine must do, checked the same way on each: the SQLite engine's tests and
//! the PostgreSQL engine's run these. `open` gives a new handle on the same storage (a
//! reopened file, a new store on the same database), as a restart would.

use std::sync::Arc;

use crate::{Batch, Store, StoredEvent, StoredRecord, Write};

pub(crate) type Open<'a> = &'a dyn Fn() -> Arc<dyn Store>;
/// Makes storage of its own for one check, named: how to open it.
pub(crate) type Fresh<'a> = &'a dyn Fn(&str) -> Box<dyn Fn() -> Arc<dyn Store>>;

pub(crate) fn record(id: &str, deleted: bool) -> StoredRecord {
    StoredRecord {
        id: id.into(),
        object: "Account".into(),
        is_deleted: deleted,
        body: r#"{"Name":"x"}"#.into(),
    }
}

pub(crate) fn event(replay_id: u64, class: u8) -> StoredEvent {
    StoredEvent {
        replay_id,
        kind: "AccountChangeEvent".into(),
        class,
        time_ms: 1_700_000_000_000 + replay_id as i64,
        payload: bytes::Bytes::from(vec![replay_id as u8; 10 + replay_id as usize]),
    }
}

/// Records, values and events committed are read back by a new handle; purged records
/// and removed values are gone; a record or value written twice in a batch keeps its last
/// write.
pub(crate) fn committed_batches_are_read_back(open: Open<'_>) {
    {
        let store = open();
        let mut b = Batch::new();
        b.writes
            .push(Write::PutRecord(record("001000000000001", false)));
        b.writes
            .push(Write::PutRecord(record("001000000000002", true)));
        b.writes
            .push(Write::PutRecord(record("001000000000003", false)));
        b.writes
            .push(Write::PutRecord(record("001000000000003", true)));
        b.put("org", "id", Some("00D".into()));
        b.put("org", "b", Some("2".into()));
        b.put("org", "a", Some("1".into()));
        b.put("other", "z", Some("9".into()));
        for n in 1..=3 {
            b.writes.push(Write::AppendEvent(event(n, 0)));
        }
        store.commit(&b).unwrap();
        let mut b = Batch::new();
        b.writes.push(Write::PurgeRecord {
            id: "001000000000002".into(),
        });
        b.put("org", "gone", Some("x".into()));
        b.put("org", "gone", None);
        b.put("org", "b", Some("3".into()));
        b.writes.push(Write::AppendEvent(event(4, 1)));
        store.commit(&b).unwrap();
        // Records, values and events only (PostgreSQL's one-statement commit): the last
        // write of each key wins whichever way round.
        let mut b = Batch::new();
        b.put("org", "a", None);
        b.writes
            .push(Write::PutRecord(record("001000000000004", true)));
        b.put("org", "a", Some("4".into()));
        b.put("org", "gone2", Some("x".into()));
        b.writes
            .push(Write::PutRecord(record("001000000000004", false)));
        b.put("org", "gone2", None);
        b.put("other", "z", None);
        store.commit(&b).unwrap();
    }
    let store = open();
    let mut records = store.load_records().unwrap();
    records.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        records,
        vec![
            record("001000000000001", false),
            record("001000000000003", true),
            record("001000000000004", false)
        ]
    );
    let values = |space| store.load_values(space).unwrap();
    assert_eq!(
        values("org"),
        vec![
            ("a".into(), "4".into()),
            ("b".into(), "3".into()),
            ("id".into(), "00D".into())
        ],
        "in key order"
    );
    assert!(values("other").is_empty());
    assert!(values("none").is_empty());
    assert_eq!(
        store.load_events(0, 10).unwrap(),
        (1..=4)
            .map(|n| event(n, u8::from(n == 4)))
            .collect::<Vec<_>>()
    );
    assert_eq!(store.load_events(2, 1).unwrap(), vec![event(3, 0)]);
    assert!(store.load_events(4, 10).unwrap().is_empty());
    let index = store.load_event_index().unwrap();
    assert_eq!(
        index,
        (1..=4u64)
            .map(|n| (
                n,
                u8::from(n == 4),
                1_700_000_000_000 + n as i64,
                10 + n as usize
            ))
            .collect::<Vec<_>>()
    );
}

/// Expiring a retention class drops its events up to the replay id given, no others.
pub(crate) fn events_expire_by_class(open: Open<'_>) {
    let store = open();
    let mut b = Batch::new();
    for n in 1..=6 {
        b.writes.push(Write::AppendEvent(event(n, (n % 2) as u8)));
    }
    store.commit(&b).unwrap();
    let mut b = Batch::new();
    b.writes.push(Write::ExpireEvents {
        class: 1,
        through: 3,
    });
    store.commit(&b).unwrap();
    let ids: Vec<u64> = open()
        .load_events(0, 100)
        .unwrap()
        .iter()
        .map(|e| e.replay_id)
        .collect();
    assert_eq!(ids, vec![2, 4, 5, 6]);
}

/// A batch that fails (here: a replay id already in the log) writes none of its writes.
pub(crate) fn a_failed_batch_changes_nothing(open: Open<'_>) {
    let store = open();
    let mut b = Batch::new();
    b.writes.push(Write::AppendEvent(event(1, 0)));
    store.commit(&b).unwrap();
    let mut b = Batch::new();
    b.writes
        .push(Write::PutRecord(record("001000000000009", false)));
    b.put("org", "x", Some("1".into()));
    b.writes.push(Write::AppendEvent(event(1, 0)));
    assert!(store.commit(&b).is_err(), "a replay id is never reused");
    let store = open();
    assert!(store.load_records().unwrap().is_empty());
    assert!(store.load_values("org").unwrap().is_empty());
    assert_eq!(store.load_events(0, 10).unwrap().len(), 1);
    // The store goes on working after the failure.
    let mut b = Batch::new();
    b.writes.push(Write::AppendEvent(event(2, 0)));
    store.commit(&b).unwrap();
}

/// Blobs are read a piece at a time from any offset, and go with their record.
pub(crate) fn blobs_are_read_in_pieces_and_go_with_their_record(open: Open<'_>) {
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    {
        let s = open();
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
    let s = open();
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
        Some(10)
    );
    let mut gone = Batch::new();
    gone.writes.push(Write::PutBlob {
        key: "068000000000002/VersionData/1".into(),
        data: None,
    });
    s.commit(&gone).unwrap();
    assert_eq!(s.blob_size("068000000000002/VersionData/1").unwrap(), None);
}

/// An upload written a piece at a time reads back whole, takes its record's key (the
/// key's old bytes gone), and what is left under the upload prefix is dropped.
pub(crate) fn uploads_written_in_pieces_move_to_their_record(open: Open<'_>) {
    let s = open();
    let data: Vec<u8> = (0..(crate::BLOB_PIECE * 2 + 1000) as u32)
        .map(|i| (i % 253) as u8)
        .collect();
    for (n, piece) in data.chunks(crate::BLOB_PIECE).enumerate() {
        let mut b = Batch::new();
        b.writes.push(Write::PutBlobPiece {
            key: "upload/a".into(),
            piece: n as u32,
            data: bytes::Bytes::copy_from_slice(piece),
        });
        s.commit(&b).unwrap();
    }
    let mut b = Batch::new();
    b.writes.push(Write::PutBlobPiece {
        key: "upload/b".into(),
        piece: 0,
        data: bytes::Bytes::from_static(b"left behind"),
    });
    b.writes.push(Write::PutBlob {
        key: "068000000000001/VersionData/1".into(),
        data: Some(bytes::Bytes::from_static(b"old bytes")),
    });
    s.commit(&b).unwrap();
    assert_eq!(s.blob_size("upload/a").unwrap(), Some(data.len() as u64));
    let mut moved = Batch::new();
    moved.writes.push(Write::MoveBlob {
        from: "upload/a".into(),
        to: "068000000000001/VersionData/1".into(),
    });
    s.commit(&moved).unwrap();
    assert_eq!(s.blob_size("upload/a").unwrap(), None);
    let key = "068000000000001/VersionData/1";
    assert_eq!(s.blob_size(key).unwrap(), Some(data.len() as u64));
    let at = crate::BLOB_PIECE as u64 - 3;
    assert_eq!(
        s.read_blob(key, at, 10).unwrap(),
        &data[at as usize..at as usize + 10]
    );
    let mut drop = Batch::new();
    drop.writes.push(Write::DropBlobs {
        prefix: "upload/".into(),
    });
    s.commit(&drop).unwrap();
    assert_eq!(s.blob_size("upload/b").unwrap(), None);
    assert_eq!(s.blob_size(key).unwrap(), Some(data.len() as u64));
}

/// A deferred batch made on an idle store is read back by it at once, and by a new handle
/// once synced; a failed one writes nothing and leaves the batches around it as they are.
/// (PostgreSQL keeps one made while the org is busy for the sync: `postgres::deferred`.)
pub(crate) fn deferred_batches_are_kept_once_synced(open: Open<'_>) {
    let store = open();
    let batch = |record_id: &str, replay_id: u64| {
        let mut b = Batch::new();
        b.writes.push(Write::PutRecord(record(record_id, false)));
        b.writes.push(Write::AppendEvent(event(replay_id, 0)));
        b
    };
    store.commit_deferred(&batch("001000000000001", 1)).unwrap();
    assert!(
        store.commit_deferred(&batch("001000000000002", 1)).is_err(),
        "a replay id is never reused, deferred or not"
    );
    let ticket = store.commit_deferred(&batch("001000000000003", 2)).unwrap();
    let check = |s: &dyn Store| {
        assert_eq!(record_ids(s), ["001000000000001", "001000000000003"]);
        let events: Vec<u64> = s
            .load_events(0, 10)
            .unwrap()
            .iter()
            .map(|e| e.replay_id)
            .collect();
        assert_eq!(events, [1, 2]);
    };
    check(&*store);
    store.sync(ticket).unwrap();
    check(&*open());
}

/// The ids of every stored record, in order.
pub(crate) fn record_ids(store: &dyn Store) -> Vec<String> {
    let mut ids: Vec<String> = store
        .load_records()
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    ids.sort();
    ids
}

/// Writers committing at once (group commit) lose nothing and see their commits durable.
pub(crate) fn concurrent_writers_lose_nothing(open: Open<'_>) {
    let store = open();
    let next = Arc::new(std::sync::Mutex::new(0u64));
    std::thread::scope(|scope| {
        for _ in 0..8 {
            let (store, next) = (store.clone(), next.clone());
            scope.spawn(move || {
                for _ in 0..50 {
                    // Replay ids are given and committed in order, as the event log does.
                    let ticket = {
                        let mut n = next.lock().unwrap();
                        *n += 1;
                        let mut b = Batch::new();
                        b.writes.push(Write::AppendEvent(event(*n, 0)));
                        store.commit_unsynced(&b).unwrap()
                    };
                    store.sync(ticket).unwrap();
                }
            });
        }
    });
    let ids: Vec<u64> = open()
        .load_event_index()
        .unwrap()
        .iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(ids, (1..=400).collect::<Vec<_>>());
}

/// Every check, in order, each on storage of its own from `fresh`.
pub(crate) fn all(fresh: Fresh<'_>) {
    committed_batches_are_read_back(&*fresh("read-back"));
    events_expire_by_class(&*fresh("expire"));
    a_failed_batch_changes_nothing(&*fresh("failed"));
    blobs_are_read_in_pieces_and_go_with_their_record(&*fresh("blobs"));
    uploads_written_in_pieces_move_to_their_record(&*fresh("uploads"));
    concurrent_writers_lose_nothing(&*fresh("concurrent"));
    deferred_batches_are_kept_once_synced(&*fresh("deferred"));
}
