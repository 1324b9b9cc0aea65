//! How far behind a cursor is: the events its channel shows after its position (other
//! kinds not counted), and when the oldest of them was appended.

use std::collections::HashSet;
use std::sync::Arc;

use forcebus_eventlog::{Channel, EventLog, Lag, LogConfig, NewEvent, Start};
use forcebus_store::{Batch, SqliteStore, Store};

#[test]
fn a_cursor_is_behind_by_the_events_its_channel_shows() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let log = Arc::new(EventLog::open(store.clone(), LogConfig::default()).unwrap());
    let append = |kind: &str, at: i64| {
        let e = NewEvent {
            kind: kind.into(),
            class: 0,
            payload: vec![1],
        };
        log.append(vec![e], at, |w| store.commit(&Batch::from(w)))
            .unwrap();
        log.publish_through(log.last_replay_id());
    };
    let accounts = Channel {
        kinds: HashSet::from(["A".to_owned()]),
        class: 0,
        filter: None,
    };
    let mut cursor = log.subscribe(accounts, Start::Latest).unwrap();
    assert_eq!(cursor.lag(), Lag::default());
    append("A", 1_000);
    append("B", 2_000);
    append("A", 3_000);
    assert_eq!(
        cursor.lag(),
        Lag {
            events: 2,
            oldest_ms: Some(1_000)
        }
    );
    assert_eq!(cursor.poll(1).unwrap().len(), 1);
    assert_eq!(
        cursor.lag(),
        Lag {
            events: 1,
            oldest_ms: Some(3_000)
        }
    );
    cursor.poll(10).unwrap();
    assert_eq!(cursor.lag(), Lag::default());
}
