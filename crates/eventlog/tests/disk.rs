//! Disk use stays within a stated factor of the size cap (a review found: the file
//! reached 6 to 14 times `event_log_max_bytes` and never shrank). The log wakes its
//! sweeper once it passes the cap by a quarter, and the store gives the pages of expired
//! events back to the file system.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Waker};

use forcebus_eventlog::{EventLog, LogConfig, NewEvent};
use forcebus_store::{Batch, Durability, SqliteStore, Store};

const CAP: u64 = 2 << 20;

/// Whether the log has asked for a sweep since the last call (what the server's sweeper
/// waits on).
fn sweep_wanted(log: &EventLog) -> bool {
    let mut wait = pin!(log.over_cap());
    wait.as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_ready()
}

fn file_size(dir: &std::path::Path) -> u64 {
    ["forcebus.db", "forcebus.db-wal"]
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).map_or(0, |m| m.len()))
        .sum()
}

#[test]
fn disk_stays_within_three_times_the_cap_and_shrinks_when_events_expire() {
    let dir = std::env::temp_dir().join(format!("fb-eventlog-disk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = LogConfig {
        max_bytes: CAP,
        ..LogConfig::default()
    };
    let mut largest = 0;
    {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir, Durability::Normal).unwrap());
        let log = EventLog::open(store.clone(), config.clone()).unwrap();
        // 30 MB of 1 KB events: fifteen times the cap.
        for batch in 0..300 {
            let events = (0..100)
                .map(|i| NewEvent {
                    kind: "E".into(),
                    class: 0,
                    payload: vec![(batch * 100 + i) as u8; 1000],
                })
                .collect();
            log.append(events, 0, |w| store.commit(&Batch::from(w)))
                .unwrap();
            if sweep_wanted(&log) {
                log.expire(0).unwrap();
            }
            largest =
                largest.max(std::fs::metadata(dir.join("forcebus.db")).map_or(0, |m| m.len()));
        }
        // Everything ages out.
        log.expire(i64::MAX / 2).unwrap();
    }
    assert!(
        largest < 3 * CAP,
        "the database file reached {largest} bytes against a cap of {CAP}"
    );
    eprintln!("largest database file: {largest} bytes (cap {CAP})");
    // Closed (and so checkpointed), the file has given the expired events' pages back.
    let after = file_size(&dir);
    assert!(
        after < CAP / 4,
        "{after} bytes left once every event expired"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn appends_keep_the_log_within_the_cap_and_a_half_when_no_sweeper_runs() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let log = EventLog::open(
        store.clone(),
        LogConfig {
            max_bytes: CAP,
            expire_step: 64,
            ..LogConfig::default()
        },
    )
    .unwrap();
    // 10 MB of 1 KB events, five times the cap, and nobody sweeping.
    let mut largest = 0;
    for batch in 0..100u64 {
        let events = (0..100)
            .map(|i| NewEvent {
                kind: "E".into(),
                class: 0,
                payload: vec![(batch + i) as u8; 1000],
            })
            .collect();
        log.append(events, 0, |w| store.commit(&Batch::from(w)))
            .unwrap();
        largest = largest.max(log.retained_bytes());
    }
    assert!(
        largest <= CAP + CAP / 2,
        "the log held {largest} bytes against a cap of {CAP}"
    );
    // The oldest went: what is kept is every event after the last one expired.
    assert_eq!(log.last_replay_id(), 10_000);
    assert!(log.earliest(0) > 0);
    assert_eq!(log.earliest(0) + log.retained() as u64, 10_000);
}
