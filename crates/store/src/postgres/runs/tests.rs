//! Runs on PostgreSQL, on the server `the_postgres_engine` starts.

use std::sync::Arc;

use crate::postgres::Database;
use crate::postgres::tests::{run_sql, store};
use crate::{Batch, Store, StoreError, Write};

fn ev(replay_id: u64, class: u8) -> crate::StoredEvent {
    crate::StoredEvent {
        replay_id,
        kind: if replay_id.is_multiple_of(3) {
            "B"
        } else {
            "A"
        }
        .into(),
        class,
        time_ms: 1_700_000_000_000 + replay_id as i64,
        payload: bytes::Bytes::from(vec![replay_id as u8; 5 + replay_id as usize % 7]),
    }
}

fn ids(events: &[crate::StoredEvent]) -> Vec<u64> {
    events.iter().map(|e| e.replay_id).collect()
}

/// Events go into runs (a commit's events of one class, one row), are read back across
/// many runs and cut at any point, expire through the middle of a run (the rest written
/// again), and are read, indexed and expired beside the events a database written before
/// runs holds one a row, whose replay ids are never reused either.
pub(in crate::postgres) fn events_are_kept_in_runs_beside_old_style_ones(
    db: &Arc<Database>,
    url: &str,
) {
    let s = store(db, "00Druns");
    let mut b = Batch::new();
    b.writes
        .extend((1..=10).map(|n| Write::AppendEvent(ev(n, 0))));
    s.commit(&b).unwrap();
    for n in 11..=100 {
        let mut b = Batch::new();
        b.writes.push(Write::AppendEvent(ev(n, 1)));
        s.commit(&b).unwrap();
    }
    let rows = |table: &str| {
        let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
        c.query_one(
            &format!("SELECT count(*) FROM {table} WHERE org = '00Druns'"),
            &[],
        )
        .unwrap()
        .get::<_, i64>(0)
    };
    assert_eq!(
        rows("fb_event_runs"),
        91,
        "the first commit's ten events are one run"
    );
    let all = s.load_events(0, 1000).unwrap();
    assert_eq!(
        all,
        (1..=100)
            .map(|n| ev(n, u8::from(n > 10)))
            .collect::<Vec<_>>()
    );
    assert_eq!(ids(&s.load_events(3, 4).unwrap()), [4, 5, 6, 7]);
    assert_eq!(ids(&s.load_events(8, 5).unwrap()), [9, 10, 11, 12, 13]);
    assert_eq!(ids(&s.load_events(95, 100).unwrap()), [96, 97, 98, 99, 100]);
    let mut b = Batch::new();
    b.writes.push(Write::ExpireEvents {
        class: 0,
        through: 4,
    });
    s.commit(&b).unwrap();
    assert_eq!(ids(&s.load_events(0, 7).unwrap()), [5, 6, 7, 8, 9, 10, 11]);
    assert_eq!(
        s.load_events(0, 1).unwrap(),
        vec![ev(5, 0)],
        "kinds and times kept"
    );
    let index = s.load_event_index().unwrap();
    assert_eq!(index.len(), 96);
    assert_eq!(index[0], (5, 0, 1_700_000_000_005, 10));
    // A read that stops inside a run keeps it for the next; an expiry forgets it.
    assert_eq!(ids(&s.load_events(5, 2).unwrap()), [6, 7]);
    assert_eq!(ids(&s.load_events(7, 2).unwrap()), [8, 9]);
    let mut b = Batch::new();
    b.writes.push(Write::ExpireEvents {
        class: 0,
        through: 8,
    });
    s.commit(&b).unwrap();
    assert_eq!(ids(&s.load_events(7, 3).unwrap()), [9, 10, 11]);

    // A database written before runs: its events in fb_events, read beside new runs.
    run_sql(
        url,
        "INSERT INTO fb_events (org, replay_id, kind, class, time_ms, payload)
         SELECT '00Dold', n, 'Old', 0, n, '\\x0102' FROM generate_series(1, 5) AS n",
    );
    let old = store(db, "00Dold");
    let mut b = Batch::new();
    b.writes
        .extend((6..=8).map(|n| Write::AppendEvent(ev(n, 0))));
    old.commit(&b).unwrap();
    assert_eq!(
        ids(&old.load_events(0, 100).unwrap()),
        [1, 2, 3, 4, 5, 6, 7, 8]
    );
    assert_eq!(ids(&old.load_events(3, 3).unwrap()), [4, 5, 6]);
    assert_eq!(old.load_events(0, 1).unwrap()[0].payload.as_ref(), [1, 2]);
    assert_eq!(old.load_event_index().unwrap().len(), 8);
    let mut reuse = Batch::new();
    reuse.writes.push(Write::AppendEvent(ev(3, 0)));
    let e = old.commit(&reuse).unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    let mut b = Batch::new();
    b.writes.push(Write::ExpireEvents {
        class: 0,
        through: 6,
    });
    old.commit(&b).unwrap();
    assert_eq!(ids(&old.load_events(0, 100).unwrap()), [7, 8]);
    assert_eq!(rows_of(url, "fb_events", "00Dold"), 0);
}

fn rows_of(url: &str, table: &str, org: &str) -> i64 {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    c.query_one(
        &format!("SELECT count(*) FROM {table} WHERE org = $1"),
        &[&org],
    )
    .unwrap()
    .get(0)
}
