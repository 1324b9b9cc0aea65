//! The events held in memory are bounded by their bytes as well as their count: a tail of
//! 10,000 events of 1 MB each would be 10 GB.

use std::sync::Arc;

use forcebus_eventlog::{EventLog, LogConfig, NewEvent};
use forcebus_store::{Batch, SqliteStore, Store};

fn append(log: &EventLog, store: &Arc<dyn Store>, size: usize) {
    let e = NewEvent {
        kind: "E".into(),
        class: 0,
        payload: vec![7; size],
    };
    log.append(vec![e], 0, |w| store.commit(&Batch::from(w)))
        .unwrap();
}

#[test]
fn the_tail_holds_at_most_its_bytes_and_always_the_newest_event() {
    let dir = std::env::temp_dir().join(format!("fb-eventlog-tail-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = LogConfig {
        tail_capacity: 100,
        tail_max_bytes: 4096,
        ..LogConfig::default()
    };
    {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir, forcebus_store::Durability::Normal).unwrap());
        let log = EventLog::open(store.clone(), config.clone()).unwrap();
        for _ in 0..20 {
            append(&log, &store, 1000);
        }
        assert_eq!(log.tail_held(), (4000, 4));
        // One event larger than the whole budget is still held: it is the newest.
        append(&log, &store, 10_000);
        assert_eq!(log.tail_held(), (10_000, 1));
        append(&log, &store, 1000);
        assert_eq!(log.tail_held(), (1000, 1));
        append(&log, &store, 1000);
        assert_eq!(log.tail_held(), (2000, 2));
    }
    // Reopened, the log loads as much as the bound allows, newest first.
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir, forcebus_store::Durability::Normal).unwrap());
    let log = EventLog::open(store.clone(), config).unwrap();
    assert_eq!(log.tail_held(), (2000, 2));
    assert_eq!(log.retained(), 23);
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}
