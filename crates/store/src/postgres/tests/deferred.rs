//! Commits kept for the next flush (`postgres::deferred`): written by it in one
//! statement, in order; a send cut off on its way settled by the org's count; a send the
//! database refuses loses the store. On the server `the_postgres_engine` starts.

use std::sync::Arc;

use super::{keys, run_sql, store};
use crate::conformance::{event, record};
use crate::postgres::{Database, PostgresStore};
use crate::{Batch, Store, StoreError, Write};

/// A batch of a record, an event and a value, made while other writes wait behind it.
fn followed(record_id: &str, replay_id: u64, key: &str) -> Batch {
    let mut b = Batch::new();
    b.writes.push(Write::PutRecord(record(record_id, false)));
    b.writes.push(Write::AppendEvent(event(replay_id, 0)));
    b.put("org", key, Some(format!("{replay_id}")));
    b.followed = true;
    b
}

/// The org's count, flushes and replay ids as the database holds them, read by a
/// connection of its own.
fn held(url: &str, org: &str) -> (i64, i64, Vec<u64>) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let one = |c: &mut postgres::Client, sql: &str| -> i64 {
        c.query_opt(sql, &[&org]).unwrap().map_or(0, |r| r.get(0))
    };
    let n = one(&mut c, "SELECT n FROM fb_commits WHERE org = $1");
    let flushes = one(&mut c, "SELECT n FROM fb_flushes WHERE org = $1");
    let reader = PostgresStore::open(
        Database::connect(url, 1).unwrap(),
        org,
        crate::Durability::Full,
    );
    let ids = reader
        .load_events(0, 100)
        .unwrap()
        .iter()
        .map(|e| e.replay_id)
        .collect();
    (n, flushes, ids)
}

/// Commits made while others wait reach the database only with the flush, all in one
/// statement and one synchronous commit (no flush row of its own), the last write of a
/// key winning; a commit that is not kept sends the kept ones before itself.
pub(super) fn kept_commits_are_written_by_the_flush_in_order(db: &Arc<Database>, url: &str) {
    let org = "00Dkept";
    let s = store(db, org);
    s.commit_deferred(&followed("001000000000001", 1, "a"))
        .unwrap();
    s.commit_deferred(&followed("001000000000001", 2, "a"))
        .unwrap();
    let ticket = s
        .commit_deferred(&followed("001000000000002", 3, "b"))
        .unwrap();
    assert_eq!(held(url, org), (0, 0, vec![]), "kept until the flush");
    s.sync(ticket).unwrap();
    assert_eq!(
        held(url, org),
        (1, 0, vec![1, 2, 3]),
        "one synchronous commit"
    );
    assert_eq!(keys(&s), ["a", "b"]);
    let values = s.load_values("org").unwrap();
    assert_eq!(
        values[0],
        ("a".to_owned(), "2".to_owned()),
        "the last write wins"
    );

    s.commit_deferred(&followed("001000000000003", 4, "c"))
        .unwrap();
    let mut own = Batch::new();
    own.put("org", "d", Some("own".into()));
    s.commit_unsynced(&own).unwrap();
    let (n, _, ids) = held(url, org);
    assert_eq!(
        (n, ids),
        (3, vec![1, 2, 3, 4]),
        "the kept commit went first"
    );
    assert_eq!(keys(&s), ["a", "b", "c", "d"]);
}

/// A send cut off on its way (the server ended the connection) fails its sync and keeps
/// its commits; the next commit is not kept but sends them before itself, once: every
/// write is there, no replay id twice.
pub(super) fn a_send_cut_off_is_sent_again(url: &str) {
    let org = "00Dcutoff";
    // Its own name, so that only its connection is ended.
    let named = format!("{url}?application_name=cutoff");
    let db = Database::connect(&named, 1).unwrap();
    let s = store(&db, org);
    crate::postgres::tests::put(&s, "first").unwrap();
    let ticket = s
        .commit_deferred(&followed("001000000000001", 1, "kept"))
        .unwrap();
    run_sql(
        url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND application_name = 'cutoff'",
    );
    let e = s.sync(ticket).unwrap_err();
    assert!(!matches!(e, StoreError::Lost(_)), "{e}");
    // Not kept now: its own round trip, the cut-off send first.
    let ticket = s
        .commit_deferred(&followed("001000000000002", 2, "next"))
        .unwrap();
    assert_eq!(held(url, org).2, [1, 2], "written before any sync");
    s.sync(ticket).unwrap();
    assert_eq!(keys(&s), ["first", "kept", "next"]);
    // Kept again once a send succeeded.
    s.commit_deferred(&followed("001000000000003", 3, "later"))
        .unwrap();
    assert_eq!(held(url, org).2, [1, 2]);
}

/// A send cut off after the database committed it (its answer lost) is not sent again:
/// the org's count, read before any resend, shows it committed. One that had not
/// committed is sent.
pub(super) fn a_cut_off_send_that_committed_is_not_sent_again(db: &Arc<Database>, url: &str) {
    let org = "00Dsettled";
    let s = store(db, org);
    crate::postgres::tests::put(&s, "first").unwrap();
    let before = s.count_seen();
    let batch = followed("001000000000001", 1, "kept");
    let ticket = s.commit_deferred(&batch).unwrap();
    // What the cut-off send did: committed the kept writes.
    let mut committed = batch.clone();
    committed.followed = false;
    store(db, org).commit(&committed).unwrap();
    s.cut_off_after(before);
    let flushes = held(url, org).1;
    s.sync(ticket).unwrap();
    let (_, flushed, ids) = held(url, org);
    assert_eq!(ids, [1], "once");
    assert_eq!(
        flushed,
        flushes + 1,
        "durable by a flush: settling wrote nothing"
    );
    crate::postgres::tests::put(&s, "after").unwrap();

    let before = s.count_seen();
    let ticket = s
        .commit_deferred(&followed("001000000000002", 2, "resent"))
        .unwrap();
    s.cut_off_after(before);
    s.sync(ticket).unwrap();
    assert_eq!(held(url, org).2, [1, 2], "sent, as it had not committed");
    assert_eq!(keys(&s), ["after", "first", "kept", "resent"]);
}

/// A send the database refuses (here: another store took its replay id) loses commits
/// the org applied: the sync fails `Lost`, and so does every write after it.
pub(super) fn a_refused_send_loses_the_store(db: &Arc<Database>) {
    let org = "00Drefused";
    let s = store(db, org);
    let ticket = s
        .commit_deferred(&followed("001000000000001", 1, "kept"))
        .unwrap();
    let mut taking = Batch::new();
    taking.writes.push(Write::AppendEvent(event(1, 0)));
    store(db, org).commit(&taking).unwrap();
    let e = s.sync(ticket).unwrap_err();
    assert!(matches!(e, StoreError::Lost(_)), "{e}");
    let e = crate::postgres::tests::put(&s, "after").unwrap_err();
    assert!(matches!(e, StoreError::Lost(_)), "{e}");
}

/// A send cut off while it waited in the database (here for a row another session holds)
/// did not commit: the count read before it (the database's, though this store had seen
/// none) tells so, and it is sent again.
pub(super) fn a_send_cut_off_while_it_waited_is_sent_again(db: &Arc<Database>, url: &str) {
    let org = "00Dwaited";
    // Commits made before this store opened (by another node, before a restart).
    let before = store(db, org);
    for key in ["a", "b", "c"] {
        crate::postgres::tests::put(&before, key).unwrap();
    }
    let named = format!("{url}?application_name=waited");
    let s = Arc::new(store(&Database::connect(&named, 1).unwrap(), org));
    let ticket = s
        .commit_deferred(&followed("001000000000001", 1, "kept"))
        .unwrap();
    cut_off_while_waiting(&s, url, "waited", org, ticket);
    let ticket = s
        .commit_deferred(&followed("001000000000002", 2, "next"))
        .unwrap();
    s.sync(ticket).unwrap();
    assert_eq!(held(url, org).2, [1, 2]);
    assert_eq!(keys(&s), ["a", "b", "c", "kept", "next"]);
}

/// A send cut off before the org's lease moved to another node is not taken as committed
/// because the count rose (the new holder's commits): the store is fenced off and lost,
/// and nothing of it is written.
pub(super) fn a_send_cut_off_before_the_lease_moved_loses_the_store(db: &Arc<Database>, url: &str) {
    let org = "00Dmoved";
    run_sql(
        url,
        "INSERT INTO fb_leases (scope, node, epoch) \
         VALUES ('00Dmoved', 'a', 1)",
    );
    let s = PostgresStore::fenced(
        db.clone(),
        org,
        crate::Durability::Full,
        crate::postgres::fence(1),
    );
    crate::postgres::tests::put(&s, "first").unwrap();
    let before = s.count_seen();
    let ticket = s
        .commit_deferred(&followed("001000000000001", 1, "kept"))
        .unwrap();
    s.cut_off_after(before);
    run_sql(
        url,
        "UPDATE fb_leases SET node = 'b', epoch = 2 WHERE scope = '00Dmoved'; \
         UPDATE fb_commits SET n = n + 1 WHERE org = '00Dmoved'",
    );
    let e = s.sync(ticket).unwrap_err();
    assert!(matches!(e, StoreError::Lost(_)), "{e}");
    assert!(held(url, org).2.is_empty(), "nothing of it written");
}

/// A commit whose call failed may have committed: the org's count this store saw may be
/// behind the database's, so it is read again before the next send, and a send cut off
/// after it is settled by the database's count, not by the stale one.
pub(super) fn a_send_after_a_failed_commit_is_settled_by_a_count_read_again(
    db: &Arc<Database>,
    url: &str,
) {
    let org = "00Drecount";
    let named = format!("{url}?application_name=recount");
    let s = Arc::new(store(&Database::connect(&named, 1).unwrap(), org));
    crate::postgres::tests::put(&s, "first").unwrap();
    // As a commit whose call failed after it committed: the count rose, unseen here.
    crate::postgres::tests::put(&store(db, org), "unseen").unwrap();
    s.deferred.recount();
    let ticket = s
        .commit_deferred(&followed("001000000000001", 1, "kept"))
        .unwrap();
    cut_off_while_waiting(&s, url, "recount", org, ticket);
    let ticket = s
        .commit_deferred(&followed("001000000000002", 2, "next"))
        .unwrap();
    s.sync(ticket).unwrap();
    assert_eq!(held(url, org).2, [1, 2]);
    assert_eq!(keys(&s), ["first", "kept", "next", "unseen"]);
}

/// Syncs `ticket` while another session holds the org's count row, so the send waits in
/// the database, and ends the store's session (named `app`) there: the sync fails, not
/// lost, and nothing of the send committed.
fn cut_off_while_waiting(s: &Arc<PostgresStore>, url: &str, app: &str, org: &str, ticket: u64) {
    let mut other = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let mut holding = other.transaction().unwrap();
    holding
        .execute(
            "SELECT n FROM fb_commits WHERE org = $1 FOR UPDATE",
            &[&org],
        )
        .unwrap();
    let syncing = {
        let s = s.clone();
        std::thread::spawn(move || s.sync(ticket))
    };
    let mut watch = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let waiting = "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 \
        AND wait_event_type = 'Lock'";
    while watch.query_opt(waiting, &[&app]).unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the send never waited"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    watch
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&app],
        )
        .unwrap();
    let e = syncing.join().unwrap().unwrap_err();
    assert!(!matches!(e, StoreError::Lost(_)), "{e}");
    holding.rollback().unwrap();
}

/// Commits kept when the store closes (no caller waited for them, the org's state holds
/// them) are written as it goes.
pub(super) fn kept_commits_are_written_when_the_store_closes(db: &Arc<Database>, url: &str) {
    let org = "00Dclosed";
    let s = store(db, org);
    s.commit_deferred(&followed("001000000000001", 1, "kept"))
        .unwrap();
    assert!(held(url, org).2.is_empty());
    drop(s);
    assert_eq!(held(url, org).2, [1]);
    assert_eq!(keys(&store(db, org)), ["kept"]);
}
