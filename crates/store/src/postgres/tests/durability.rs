//! When a commit is made durable, and what its flush holds up: on the server
//! `the_postgres_engine` starts.

use std::sync::Arc;

use super::{put, store};
use crate::postgres::{Database, PostgresStore};
use crate::{Batch, Durability, Store};

/// A flush (the synchronous commit that makes the commits before it durable) writes no
/// row a commit writes: it neither waits for a commit holding the org's count nor holds
/// one up until its WAL is on disk.
pub(super) fn a_flush_waits_on_no_commit_row_lock(db: &Arc<Database>, url: &str) {
    let s = Arc::new(store(db, "00Dflushlock"));
    put(&s, "first").unwrap();
    let mut b = Batch::new();
    b.put("org", "second", Some("v".into()));
    let ticket = s.commit_unsynced(&b).unwrap();
    // Another session holds the org's count row, as a commit under way does.
    let mut other = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let mut holding = other.transaction().unwrap();
    holding
        .execute(
            "SELECT n FROM fb_commits WHERE org = '00Dflushlock' FOR UPDATE",
            &[],
        )
        .unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let syncing = s.clone();
    std::thread::spawn(move || done_tx.send(syncing.sync(ticket)));
    let synced = done_rx.recv_timeout(std::time::Duration::from_secs(10));
    holding.rollback().unwrap();
    synced
        .expect("the flush waited for the count row's lock")
        .unwrap();
}

/// A commit made alone while the org is idle makes itself durable inside its own round
/// trip, and no flush follows; one made without waiting (`commit_unsynced`) is made durable
/// by the flush a sync leads (a row of its own). Commits made while others wait are kept
/// for the flush (`tests::deferred`).
pub(super) fn a_commit_alone_is_durable_in_its_round_trip_and_others_by_a_flush(
    db: &Arc<Database>,
    url: &str,
) {
    let flushes = |org: &str| -> i64 {
        let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
        c.query_opt("SELECT n FROM fb_flushes WHERE org = $1", &[&org])
            .unwrap()
            .map_or(0, |r| r.get(0))
    };
    let mut b = Batch::new();
    b.put("org", "k", Some("v".into()));
    let alone = store(db, "00Dalone");
    let ticket = alone.commit_deferred(&b).unwrap();
    alone.sync(ticket).unwrap();
    assert_eq!(flushes("00Dalone"), 0, "durable in its own round trip");
    let unsynced = store(db, "00Dunsynced");
    let ticket = unsynced.commit_unsynced(&b).unwrap();
    unsynced.sync(ticket).unwrap();
    assert_eq!(flushes("00Dunsynced"), 1, "made durable by a flush");
}

pub(super) fn normal_durability_commits_without_waiting(db: &Arc<Database>) {
    let s = PostgresStore::open(db.clone(), "00Dnormal", Durability::Normal);
    let mut b = Batch::new();
    b.put("org", "k", Some("v".into()));
    assert_eq!(s.commit_unsynced(&b).unwrap(), 0, "nothing to wait for");
    assert_eq!(s.load_values("org").unwrap().len(), 1);
}

/// A flush that reads after the database restarted finds a commit lost in the restart
/// even when that commit was taken in while the flush was under way (its count seen
/// after the flush began); a restart that lost nothing passes, and the new start is
/// taken in.
#[test]
fn a_flush_finds_a_loss_of_a_commit_taken_in_while_it_ran() {
    use crate::postgres::{Seen, flushed, record};
    use forcebus_sync::prelude::*;
    use std::sync::Mutex;
    let (before, after) = (1_000, 2_000);
    let seen = Mutex::new(Seen {
        n: 10,
        started: Some(before),
    });
    let lost = Mutex::new(None);
    // The flush has begun; a commit made before the restart is taken in.
    record(&seen, 11, before);
    // The database restarted without it: the flush reads 10.
    let e = flushed(&seen, &lost, 10, after).unwrap_err();
    assert!(matches!(e, crate::StoreError::Lost(_)), "{e}");
    assert!(lost.locked().is_some());

    let seen = Mutex::new(Seen {
        n: 11,
        started: Some(before),
    });
    let lost = Mutex::new(None);
    flushed(&seen, &lost, 11, after).unwrap();
    let s = *seen.locked();
    assert_eq!((s.n, s.started), (11, Some(after)));
    flushed(&seen, &lost, 12, after).unwrap();
    assert_eq!(seen.locked().n, 12);
    assert!(lost.locked().is_none());
}
