//! Runs: what is encoded decodes to the same events, damaged bytes are an error and never
//! a panic, and a database written before runs is read beside them.

use proptest::prelude::*;

use super::*;
use crate::sqlite::{Durability, SqliteStore};
use crate::{Batch, Store, Write};

fn event(replay_id: u64, class: u8, kind: &str, time_ms: i64, size: usize) -> StoredEvent {
    StoredEvent {
        replay_id,
        kind: kind.into(),
        class,
        time_ms,
        payload: Bytes::from(vec![(replay_id % 251) as u8; size]),
    }
}

fn encode(events: &[StoredEvent]) -> Run {
    let mut runs = cut(events);
    assert_eq!(
        runs.len(),
        1,
        "one class, rising ids, within the bounds: one run"
    );
    runs.remove(0)
}

fn events_strategy() -> impl Strategy<Value = Vec<StoredEvent>> {
    (
        0u64..u64::MAX / 2,
        prop::collection::vec(
            (
                1u64..1_000_000,
                any::<i64>(),
                prop::sample::select(vec!["A", "B", "AccountChangeEvent", "Ünï__e"]),
                0usize..300,
            ),
            1..40,
        ),
    )
        .prop_map(|(start, steps)| {
            let mut id = start;
            steps
                .into_iter()
                .map(|(step, time, kind, size)| {
                    id += step;
                    event(id, 3, kind, time, size)
                })
                .collect()
        })
}

proptest! {
    #[test]
    fn a_run_decodes_to_the_events_it_was_made_of(events in events_strategy()) {
        let run = encode(&events);
        prop_assert_eq!(run.first_id, events[0].replay_id);
        prop_assert_eq!(run.last_id, events.last().unwrap().replay_id);
        let body = Bytes::from(run.body());
        prop_assert_eq!(&decode(run.first_id, run.last_id, 3, &run.meta, &body).unwrap(), &events);
    }

    /// Through the store: the payloads written in place and read back in part.
    #[test]
    fn committed_runs_read_back_from_any_position(
        events in events_strategy(),
        from in any::<prop::sample::Index>(),
        limit in 1usize..50,
    ) {
        let store = SqliteStore::in_memory().unwrap();
        commit(&store, events.iter().cloned());
        prop_assert_eq!(&store.load_events(0, events.len()).unwrap(), &events);
        let index: Vec<_> = events
            .iter()
            .map(|e| (e.replay_id, 3, e.time_ms, e.payload.len()))
            .collect();
        prop_assert_eq!(store.load_event_index().unwrap(), index);
        let at = from.index(events.len());
        let expected: Vec<_> = events[at + 1..].iter().take(limit).cloned().collect();
        prop_assert_eq!(store.load_events(events[at].replay_id, limit).unwrap(), expected);
    }

    #[test]
    fn damaged_runs_are_errors_not_panics(
        meta in prop::collection::vec(any::<u8>(), 0..64),
        body in prop::collection::vec(any::<u8>(), 0..64),
        first in any::<u64>(),
        last in any::<u64>(),
    ) {
        let _ = decode(first, last, 0, &meta, &Bytes::from(body));
    }

    #[test]
    fn a_cut_run_does_not_decode(events in events_strategy(), cut in any::<prop::sample::Index>()) {
        let run = encode(&events);
        let body = Bytes::from(run.body());
        let at = cut.index(run.meta.len());
        prop_assert!(decode(run.first_id, run.last_id, 3, &run.meta[..at], &body).is_err());
    }
}

#[test]
fn runs_end_at_their_class_count_and_size() {
    let big = event(1, 0, "E", 0, RUN_BYTES);
    let run = Run::new(&big);
    assert!(!run.takes(&event(2, 0, "E", 0, 1)), "past the byte bound");
    let mut run = Run::new(&event(1, 0, "E", 0, 1));
    assert!(!run.takes(&event(2, 1, "E", 0, 1)), "another class");
    assert!(!run.takes(&event(1, 0, "E", 0, 1)), "not after the last id");
    for n in 2..=RUN_EVENTS as u64 {
        run.add(&event(n, 0, "E", 0, 1));
    }
    assert!(!run.takes(&event(10_000, 0, "E", 0, 1)), "past the count");
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fb-store-runs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn ids(store: &SqliteStore, after: u64, limit: usize) -> Vec<u64> {
    store
        .load_events(after, limit)
        .unwrap()
        .iter()
        .map(|e| e.replay_id)
        .collect()
}

fn commit(store: &SqliteStore, events: impl IntoIterator<Item = StoredEvent>) {
    let mut b = Batch::new();
    b.writes.extend(events.into_iter().map(Write::AppendEvent));
    store.commit(&b).unwrap();
}

/// A batch of a thousand events of two classes is a few rows, read back from any
/// position with any limit, and expired through the middle of a run.
#[test]
fn runs_are_read_from_any_position_and_expired_through_their_middle() {
    let store = SqliteStore::in_memory().unwrap();
    let all: Vec<StoredEvent> = (1..=1000)
        .map(|n| event(n, u8::from(n > 600), "K", n as i64, 20))
        .collect();
    commit(&store, all.iter().cloned());
    commit(&store, (1001..=1010).map(|n| event(n, 0, "L", n as i64, 5)));
    let rows: i64 = store
        .lock()
        .query_row("SELECT count(*) FROM event_runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        rows, 4,
        "600 of class 0 (512 + 88), 400 of class 1, 10 more"
    );
    assert_eq!(ids(&store, 0, 3), vec![1, 2, 3]);
    assert_eq!(ids(&store, 511, 3), vec![512, 513, 514]);
    assert_eq!(ids(&store, 998, 5), vec![999, 1000, 1001, 1002, 1003]);
    assert!(ids(&store, 1010, 5).is_empty());
    assert_eq!(store.load_events(0, 2000).unwrap().len(), 1010);
    let mut b = Batch::new();
    b.writes.push(Write::ExpireEvents {
        class: 0,
        through: 550,
    });
    store.commit(&b).unwrap();
    assert_eq!(ids(&store, 0, 2), vec![551, 552]);
    // The rewritten run keeps its events whole.
    assert_eq!(store.load_events(550, 50).unwrap(), all[550..600].to_vec());
    let index = store.load_event_index().unwrap();
    assert_eq!(index.len(), 1010 - 550);
    assert_eq!(index[0], (551, 0, 551, 20));
    let mut b = Batch::new();
    b.writes.push(Write::ExpireEvents {
        class: 1,
        through: 2000,
    });
    store.commit(&b).unwrap();
    assert_eq!(ids(&store, 599, 3), vec![600, 1001, 1002]);
    // An id a kept run reaches is refused, as a row's id was, at both of its ends; ids
    // just outside a run are not.
    for taken in [551, 580, 600] {
        let mut b = Batch::new();
        b.writes
            .push(Write::AppendEvent(event(taken, 0, "K", 0, 1)));
        assert!(store.commit(&b).is_err(), "{taken}");
    }
    let mut b = Batch::new();
    b.writes.push(Write::AppendEvent(event(549, 0, "K", 0, 1)));
    b.writes.push(Write::AppendEvent(event(551, 0, "K", 0, 1)));
    assert!(store.commit(&b).is_err(), "a run reaching into another");
    commit(&store, [event(601, 0, "K", 0, 1)]);
    commit(&store, [event(550, 1, "K", 0, 1)]);
    assert_eq!(ids(&store, 549, 3), vec![550, 551, 552]);
}

/// A damaged run is an error for reads and expiries alike, never a panic.
#[test]
fn a_damaged_run_is_an_error() {
    for meta in [&b""[..], &[0u8][..], &[0, 0, 1, 2, b'K', 5][..]] {
        let store = SqliteStore::in_memory().unwrap();
        commit(&store, (1..=3).map(|n| event(n, 0, "K", 0, 4)));
        store
            .lock()
            .execute("UPDATE event_runs SET meta = ?1", [meta])
            .unwrap();
        assert!(store.load_events(0, 10).is_err());
        assert!(store.load_event_index().is_err());
        let mut b = Batch::new();
        b.writes.push(Write::ExpireEvents {
            class: 0,
            through: 1,
        });
        assert!(store.commit(&b).is_err());
    }
}

/// A database written before runs (events one per row in `events`) is read, appended to
/// and expired beside its new runs, and the old table stops being consulted once empty.
#[test]
fn a_database_written_before_runs_is_read_beside_them() {
    let dir = temp_dir("legacy");
    {
        std::fs::create_dir_all(&dir).unwrap();
        let conn = rusqlite::Connection::open(dir.join("forcebus.db")).unwrap();
        conn.execute_batch(crate::sqlite::SCHEMA).unwrap();
        for n in 1..=5i64 {
            conn.execute(
                "INSERT INTO events (replay_id, kind, class, time_ms, payload) VALUES (?1, 'Old', ?2, ?1, x'0102')",
                params![n, n % 2],
            )
            .unwrap();
        }
    }
    let store = SqliteStore::open(&dir, Durability::Normal).unwrap();
    assert!(store.legacy.load(std::sync::atomic::Ordering::Relaxed));
    commit(&store, (6..=8).map(|n| event(n, 0, "New", n as i64, 3)));
    let mut b = Batch::new();
    b.writes.push(Write::AppendEvent(event(4, 0, "New", 0, 3)));
    assert!(store.commit(&b).is_err(), "an old event's id is taken");
    assert_eq!(ids(&store, 0, 100), vec![1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(ids(&store, 3, 3), vec![4, 5, 6]);
    let events = store.load_events(4, 2).unwrap();
    assert_eq!(
        (events[0].kind.as_str(), &events[0].payload[..]),
        ("Old", &[1u8, 2][..])
    );
    assert_eq!(events[1].kind, "New");
    let index: Vec<u64> = store
        .load_event_index()
        .unwrap()
        .iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(index, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    let mut b = Batch::new();
    b.writes.push(Write::ExpireEvents {
        class: 1,
        through: 5,
    });
    store.commit(&b).unwrap();
    assert_eq!(ids(&store, 0, 100), vec![2, 4, 6, 7, 8]);
    assert!(store.legacy.load(std::sync::atomic::Ordering::Relaxed));
    let mut b = Batch::new();
    b.writes.push(Write::ExpireEvents {
        class: 0,
        through: 6,
    });
    store.commit(&b).unwrap();
    assert!(!store.legacy.load(std::sync::atomic::Ordering::Relaxed));
    drop(store);
    let store = SqliteStore::open(&dir, Durability::Normal).unwrap();
    assert_eq!(ids(&store, 0, 100), vec![7, 8]);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An expiry in the same batch as appends sees the events appended before it.
#[test]
fn an_expiry_sees_the_events_appended_before_it_in_its_batch() {
    let store = SqliteStore::in_memory().unwrap();
    let mut b = Batch::new();
    b.writes.push(Write::AppendEvent(event(1, 0, "E", 0, 1)));
    b.writes.push(Write::AppendEvent(event(2, 0, "E", 0, 1)));
    b.writes.push(Write::ExpireEvents {
        class: 0,
        through: 1,
    });
    b.writes.push(Write::AppendEvent(event(3, 0, "E", 0, 1)));
    store.commit(&b).unwrap();
    assert_eq!(ids(&store, 0, 10), vec![2, 3]);
}

/// The oldest segment file of a class is one seek into the runs in files, not a walk over
/// the class's runs (every expiry step asks), and the runs kept in their row are left out.
#[test]
fn the_oldest_segment_is_found_by_its_index() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    create(&conn).unwrap();
    let plan: Vec<String> = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", placed::OLDEST_SEGMENT))
        .unwrap()
        .query_map([1], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        plan.iter().any(|step| step.contains("event_runs_by_seg")),
        "{plan:?}"
    );
    for (last_id, class, seg) in [
        (1, 1, None),
        (2, 1, Some(7)),
        (3, 2, Some(4)),
        (4, 1, Some(9)),
    ] {
        conn.execute(
            "INSERT INTO event_runs (last_id, first_id, class, meta, body, seg) VALUES (?1, ?1, ?2, x'', x'', ?3)",
            rusqlite::params![last_id, class, seg],
        )
        .unwrap();
    }
    assert_eq!(placed::oldest_segment(&conn, 1).unwrap(), Some(7));
    assert_eq!(placed::oldest_segment(&conn, 2).unwrap(), Some(4));
    assert_eq!(placed::oldest_segment(&conn, 3).unwrap(), None);
}
