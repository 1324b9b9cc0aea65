//! Segment files: a commit of events alone writes its payloads there and reads them back
//! across restarts, an expiry cuts by offset and removes the files nothing points into,
//! and recovery drops exactly the runs whose payloads did not reach their file.

use proptest::prelude::*;

use crate::sqlite::{Durability, SqliteStore};
use crate::{Batch, EVENT_LOG_SPACE, Store, StoredEvent, Write};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fb-store-seg-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn event(replay_id: u64, class: u8, size: usize) -> StoredEvent {
    StoredEvent {
        replay_id,
        kind: format!("K{}", replay_id % 3),
        class,
        time_ms: replay_id as i64 * 7,
        payload: (0..size)
            .map(|i| (replay_id as usize * 31 + i) as u8)
            .collect(),
    }
}

/// A publish's batch: the events and the log's id counter.
fn publish(store: &SqliteStore, events: &[StoredEvent]) {
    let mut b = Batch::new();
    b.writes
        .extend(events.iter().cloned().map(Write::AppendEvent));
    let next = events.last().map_or(0, |e| e.replay_id + 1);
    b.put(EVENT_LOG_SPACE, "next_replay_id", Some(next.to_string()));
    assert!(b.events_only());
    store.commit(&b).unwrap();
}

fn expire(store: &SqliteStore, class: u8, through: u64) {
    let mut b = Batch::new();
    b.writes.push(Write::ExpireEvents { class, through });
    store.commit(&b).unwrap();
}

/// `(last_id, seg)` of every run, in order.
fn rows(store: &SqliteStore) -> Vec<(i64, Option<i64>)> {
    let conn = store.lock();
    let mut stmt = conn
        .prepare("SELECT last_id, seg FROM event_runs ORDER BY last_id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The files in `events/`, once the removals under way are done.
fn segment_files(store: &SqliteStore, dir: &std::path::Path) -> Vec<String> {
    store.segments.as_ref().unwrap().settle();
    let mut names: Vec<String> = std::fs::read_dir(dir.join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn only_a_commit_of_events_alone_writes_to_segment_files() {
    let dir = temp_dir("alone");
    let store = SqliteStore::open(&dir, Durability::Full).unwrap();
    let published: Vec<StoredEvent> = (1..=100).map(|n| event(n, 1, 1000)).collect();
    publish(&store, &published);
    // A change event commits with its record: it stays in the database.
    let mut b = Batch::new();
    b.writes.push(Write::PutRecord(crate::StoredRecord {
        id: "001000000000001".into(),
        object: "Account".into(),
        is_deleted: false,
        body: "{}".into(),
    }));
    b.writes.push(Write::AppendEvent(event(101, 0, 300)));
    assert!(!b.events_only());
    store.commit(&b).unwrap();
    let mut other = Batch::new();
    other.put("org", "x", Some("1".into()));
    other.writes.push(Write::AppendEvent(event(102, 1, 10)));
    assert!(!other.events_only(), "a value outside the log's own space");
    store.commit(&other).unwrap();
    assert!(matches!(
        rows(&store)[..],
        [(100, Some(_)), (101, None), (102, None)]
    ));
    assert_eq!(segment_files(&store, &dir).len(), 1);
    let mut all = published.clone();
    all.extend([event(101, 0, 300), event(102, 1, 10)]);
    assert_eq!(store.load_events(0, 1000).unwrap(), all);
    assert_eq!(store.load_events(57, 3).unwrap(), all[57..60].to_vec());
    drop(store);
    // Read back after a restart; appends go on in a new file.
    let store = SqliteStore::open(&dir, Durability::Full).unwrap();
    assert_eq!(store.load_events(0, 1000).unwrap(), all);
    let index = store.load_event_index().unwrap();
    assert_eq!(index.len(), 102);
    assert_eq!(index[4], (5, 1, 35, 1000));
    publish(&store, &[event(103, 1, 50)]);
    assert_eq!(segment_files(&store, &dir).len(), 2);
    assert_eq!(store.load_events(102, 5).unwrap(), vec![event(103, 1, 50)]);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn segment_files_are_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("mode");
    let store = SqliteStore::open(&dir, Durability::Full).unwrap();
    publish(&store, &[event(1, 1, 10)]);
    for name in segment_files(&store, &dir) {
        let mode = std::fs::metadata(dir.join("events").join(&name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_expiry_cuts_a_run_by_offset_and_removes_the_files_left_behind() {
    let dir = temp_dir("expire");
    let store = SqliteStore::open(&dir, Durability::Full).unwrap();
    store.segments.as_ref().unwrap().set_limit(25_000);
    // Batches of 10 events of 1,000 bytes: two runs per file of class 1; class 2's
    // events in files of their own.
    let mut all = Vec::new();
    for b in 0..20u64 {
        let class = if b % 5 == 4 { 2 } else { 1 };
        let batch: Vec<StoredEvent> = (1..=10).map(|i| event(b * 10 + i, class, 1000)).collect();
        publish(&store, &batch);
        all.extend(batch);
    }
    let files = segment_files(&store, &dir);
    assert_eq!(files.iter().filter(|f| f.starts_with("1-")).count(), 8);
    assert_eq!(files.iter().filter(|f| f.starts_with("2-")).count(), 2);
    // Through the middle of the fourth batch (ids 31..=40, class 1's third file).
    expire(&store, 1, 35);
    let kept: Vec<StoredEvent> = all
        .iter()
        .filter(|e| e.class == 2 || e.replay_id > 35)
        .cloned()
        .collect();
    assert_eq!(store.load_events(0, 1000).unwrap(), kept);
    assert_eq!(store.load_events(35, 2).unwrap(), kept[..2].to_vec());
    let files = segment_files(&store, &dir);
    assert_eq!(
        files.iter().filter(|f| f.starts_with("1-")).count(),
        7,
        "the file of ids 1-20 is gone, the one of 21-40 is kept: {files:?}"
    );
    drop(store);
    let store = SqliteStore::open(&dir, Durability::Full).unwrap();
    assert_eq!(
        store.load_events(0, 1000).unwrap(),
        kept,
        "the cut run's CRC holds"
    );
    expire(&store, 1, 200);
    expire(&store, 2, 200);
    assert!(store.load_events(0, 1000).unwrap().is_empty());
    assert!(
        segment_files(&store, &dir).is_empty(),
        "{:?}",
        segment_files(&store, &dir)
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn recovery_drops_only_the_runs_whose_payloads_did_not_reach_their_file() {
    let dir = temp_dir("recover");
    let (all, files) = four_files(&dir);
    // The newest file: its second run's bytes damaged (a power cut wrote back the WAL
    // before them). The one before: cut short.
    let newest = &files[3];
    let mut bytes = std::fs::read(newest).unwrap();
    bytes[15_000] ^= 0xff;
    std::fs::write(newest, &bytes).unwrap();
    let second = &files[2];
    let len = std::fs::metadata(second).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(second)
        .unwrap()
        .set_len(len - 1)
        .unwrap();
    let store = SqliteStore::open(&dir, Durability::Full).unwrap();
    let kept: Vec<StoredEvent> = all
        .iter()
        .filter(|e| !(51..=60).contains(&e.replay_id) && !(71..=80).contains(&e.replay_id))
        .cloned()
        .collect();
    assert_eq!(store.load_events(0, 1000).unwrap(), kept);
    assert_eq!(store.load_event_index().unwrap().len(), kept.len());
    // A file removed by an expiry whose commit did not survive: its runs go too.
    drop(store);
    std::fs::remove_file(&files[0]).unwrap();
    let store = SqliteStore::open(&dir, Durability::Full).unwrap();
    assert_eq!(store.load_events(0, 1000).unwrap(), kept[20..].to_vec());
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[derive(Debug, Clone)]
enum Op {
    Publish { class: u8, sizes: Vec<usize> },
    Expire { class: u8, through: u64 },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u8..3, prop::collection::vec(0usize..3000, 1..12))
            .prop_map(|(class, sizes)| Op::Publish { class, sizes }),
        2 => (1u8..3, 0u64..120).prop_map(|(class, through)| Op::Expire { class, through }),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any sequence of publishes, expiries and restarts reads back as a model log says,
    /// and leaves no file on disk that no run points into (but the ones taking appends).
    #[test]
    fn segment_files_hold_what_a_model_log_holds(ops in prop::collection::vec(op(), 1..30)) {
        let dir = temp_dir("model");
        let open = || {
            let store = SqliteStore::open(&dir, Durability::Full).unwrap();
            store.segments.as_ref().unwrap().set_limit(8_000);
            store
        };
        let mut store = open();
        let mut model: Vec<StoredEvent> = Vec::new();
        let mut next = 1u64;
        for op in ops {
            match op {
                Op::Publish { class, sizes } => {
                    let batch: Vec<StoredEvent> = sizes
                        .iter()
                        .map(|&size| {
                            next += 1;
                            event(next - 1, class, size)
                        })
                        .collect();
                    publish(&store, &batch);
                    model.extend(batch);
                }
                Op::Expire { class, through } => {
                    expire(&store, class, through);
                    model.retain(|e| e.class != class || e.replay_id > through);
                }
                Op::Reopen => {
                    drop(store);
                    store = open();
                }
            }
            prop_assert_eq!(store.load_events(0, 10_000).unwrap(), model.clone());
            let referenced: std::collections::BTreeSet<i64> =
                rows(&store).iter().filter_map(|r| r.1).collect();
            let files = store.segments.as_ref().unwrap().files();
            let unused = files.iter().filter(|f| !referenced.contains(&(**f as i64))).count();
            prop_assert!(unused <= 2, "files {:?}, used {:?}", files, referenced);
        }
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Four files of class 1, two runs each (ids 1-80), the store closed; the files' names.
fn four_files(dir: &std::path::Path) -> (Vec<StoredEvent>, Vec<std::path::PathBuf>) {
    let store = SqliteStore::open(dir, Durability::Full).unwrap();
    store.segments.as_ref().unwrap().set_limit(25_000);
    let mut all = Vec::new();
    for b in 0..8u64 {
        let batch: Vec<StoredEvent> = (1..=10).map(|i| event(b * 10 + i, 1, 1000)).collect();
        publish(&store, &batch);
        all.extend(batch);
    }
    let files = segment_files(&store, dir);
    drop(store);
    let paths = files.iter().map(|f| dir.join("events").join(f)).collect();
    (all, paths)
}

#[test]
fn an_error_reading_a_file_at_open_fails_the_open_and_drops_nothing() {
    let dir = temp_dir("ioerr");
    let (all, files) = four_files(&dir);
    // The newest file unreadable (a directory in its place: EISDIR), not missing.
    let aside = dir.join("aside.seg-moved");
    std::fs::rename(&files[3], &aside).unwrap();
    std::fs::create_dir(&files[3]).unwrap();
    let err = SqliteStore::open(&dir, Durability::Full).unwrap_err();
    assert!(err.to_string().contains("1-0000000003.seg"), "{err}");
    std::fs::remove_dir(&files[3]).unwrap();
    std::fs::rename(&aside, &files[3]).unwrap();
    let store = SqliteStore::open(&dir, Durability::Full).unwrap();
    assert_eq!(
        store.load_events(0, 1000).unwrap(),
        all,
        "nothing was dropped"
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_number_is_never_reused_even_when_every_file_is_gone() {
    let dir = temp_dir("numbers");
    let (_, files) = four_files(&dir);
    for f in &files {
        std::fs::remove_file(f).unwrap();
    }
    let store = SqliteStore::open(&dir, Durability::Full).unwrap();
    assert!(store.load_events(0, 1000).unwrap().is_empty());
    publish(&store, &[event(81, 1, 10)]);
    assert_eq!(
        rows(&store),
        vec![(81, Some(4))],
        "numbered past the rows' 0-3"
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn damage_in_an_older_file_is_an_error_when_read_not_a_silent_payload() {
    let dir = temp_dir("older");
    let (all, files) = four_files(&dir);
    // The oldest file is not checked at open (it was synced before the newest two were
    // written): its damage shows when a whole run of it is read or cut.
    let mut bytes = std::fs::read(&files[0]).unwrap();
    bytes[5] ^= 0xff;
    std::fs::write(&files[0], &bytes).unwrap();
    let store = SqliteStore::open(&dir, Durability::Full).unwrap();
    let err = store.load_events(0, 10).unwrap_err();
    assert!(err.to_string().contains("CRC"), "{err}");
    assert_eq!(
        store.load_events(10, 70).unwrap(),
        all[10..].to_vec(),
        "the rest reads"
    );
    let mut b = Batch::new();
    b.writes.push(Write::ExpireEvents {
        class: 1,
        through: 5,
    });
    let err = store.commit(&b).unwrap_err();
    assert!(
        err.to_string().contains("CRC"),
        "an expiry does not hide it: {err}"
    );
    expire(&store, 1, 10);
    assert_eq!(store.load_events(0, 1000).unwrap(), all[10..].to_vec());
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// However a run's payloads fall against the gathering size (many small ones, ones
    /// that cross it, ones past it alone, empty ones), the file holds them one after
    /// another from where the append began, and the buffer never grows past the size.
    #[test]
    fn gathered_writes_hold_the_payloads_in_order(
        sizes in prop::collection::vec(
            prop_oneof![0usize..2_000, 100_000usize..300_000, Just(super::gather::GATHER_BYTES)],
            0..12,
        ),
        at in 0u64..5_000,
    ) {
        let dir = temp_dir("gather");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let file = std::fs::OpenOptions::new()
            .create(true).truncate(true).read(true).write(true).open(&path).unwrap();
        let payloads: Vec<bytes::Bytes> = sizes
            .iter()
            .enumerate()
            .map(|(n, &len)| (0..len).map(|i| (n * 7 + i) as u8).collect::<Vec<u8>>().into())
            .collect();
        // The same buffer twice, as an append after another: the second run follows.
        let mut buf = Vec::new();
        let len: u64 = payloads.iter().map(|p| p.len() as u64).sum();
        super::gather::write_gathered(&file, at, &payloads, &mut buf).unwrap();
        prop_assert!(buf.is_empty() && buf.capacity() <= super::gather::GATHER_BYTES);
        super::gather::write_gathered(&file, at + len, &payloads, &mut buf).unwrap();
        prop_assert!(buf.is_empty() && buf.capacity() <= super::gather::GATHER_BYTES);
        let written = std::fs::read(&path).unwrap();
        let once: Vec<u8> = payloads.iter().flat_map(|p| p.iter().copied()).collect();
        let want: Vec<u8> = once.iter().chain(&once).copied().collect();
        let from = usize::try_from(at).unwrap();
        prop_assert_eq!(written.len(), if want.is_empty() { 0 } else { from + want.len() });
        if !want.is_empty() {
            prop_assert!(written[..from].iter().all(|&b| b == 0));
            prop_assert!(written[from..] == want[..]);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
