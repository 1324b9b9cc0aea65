//! The PostgreSQL engine's tests, on a real PostgreSQL server started for them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use forcebus_testkit::pg::Postgres;

use super::*;
use crate::{Write, conformance};

mod deferred;
mod durability;

pub(super) fn store(db: &Arc<Database>, org: &str) -> PostgresStore {
    PostgresStore::open(db.clone(), org, Durability::Full)
}

/// The keys of the org's `org` values.
pub(super) fn keys(store: &PostgresStore) -> Vec<String> {
    store
        .load_values("org")
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

/// A store that committed `durable` (synced) then `lost` (not yet flushed: the WAL writer
/// waits 10 s), and its database killed and started again: `lost` is gone from it.
fn crashed_with_a_commit_in_memory() -> (Postgres, PostgresStore, u64) {
    let pg = Postgres::start_with("-c wal_writer_delay=10000");
    let db = Database::connect(&pg.database(), 2).unwrap();
    let s = store(&db, "00Dcrash");
    put(&s, "durable").unwrap();
    let mut b = Batch::new();
    b.put("org", "lost", Some("v".into()));
    let ticket = s.commit_unsynced(&b).unwrap();
    pg.stop_server("immediate");
    pg.start_server();
    (pg, s, ticket)
}

pub(super) fn put(store: &PostgresStore, key: &str) -> Result<(), StoreError> {
    let mut b = Batch::new();
    b.put("org", key, Some("v".into()));
    store.commit(&b)
}

/// One server for every check (starting one takes a few seconds).
#[test]
fn the_postgres_engine() {
    let pg = Postgres::start();
    let url = pg.database();
    let db = Database::connect(&url, 4).unwrap();
    conformance::all(&|name| {
        let (db, name) = (db.clone(), name.to_owned());
        Box::new(move || Arc::new(store(&db, &name)))
    });
    orgs_are_kept_apart_and_erased_alone(&db);
    migrations_run_once_and_a_newer_database_is_refused(&pg, &url);
    pool::tests::the_service_recovers_by_itself_after_the_database_restarts(&pg, &db);
    pool::tests::connections_the_server_ended_cost_one_call(&pg.database());
    pool::tests::a_call_waits_for_a_connection_when_all_are_in_use(&url);
    pool::tests::calls_run_from_either_kind_of_async_runtime(&db, &url);
    durability::a_flush_waits_on_no_commit_row_lock(&db, &url);
    durability::a_commit_alone_is_durable_in_its_round_trip_and_others_by_a_flush(&db, &url);
    durability::normal_durability_commits_without_waiting(&db);
    deferred::kept_commits_are_written_by_the_flush_in_order(&db, &url);
    deferred::a_send_cut_off_is_sent_again(&url);
    deferred::a_cut_off_send_that_committed_is_not_sent_again(&db, &url);
    deferred::a_refused_send_loses_the_store(&db);
    deferred::a_send_cut_off_while_it_waited_is_sent_again(&db, &url);
    deferred::a_send_cut_off_before_the_lease_moved_loses_the_store(&db, &url);
    deferred::a_send_after_a_failed_commit_is_settled_by_a_count_read_again(&db, &url);
    deferred::kept_commits_are_written_when_the_store_closes(&db, &url);
    runs::tests::events_are_kept_in_runs_beside_old_style_ones(&db, &url);
}

fn orgs_are_kept_apart_and_erased_alone(db: &Arc<Database>) {
    let (a, b) = (store(db, "00Da"), store(db, "00Db"));
    let mut batch = Batch::new();
    batch.writes.push(Write::PutRecord(conformance::record(
        "001000000000001",
        false,
    )));
    batch.writes.push(Write::PutBlob {
        key: "001000000000001/Body/1".into(),
        data: Some(bytes::Bytes::from_static(b"bytes")),
    });
    batch.put("org", "name", Some("A".into()));
    a.commit(&batch).unwrap();
    b.commit(&batch).unwrap();
    a.erase().unwrap();
    assert!(a.load_records().unwrap().is_empty());
    assert!(a.load_values("org").unwrap().is_empty());
    assert_eq!(a.blob_size("001000000000001/Body/1").unwrap(), None);
    assert_eq!(b.load_records().unwrap().len(), 1);
    assert_eq!(b.blob_size("001000000000001/Body/1").unwrap(), Some(5));
}

fn migrations_run_once_and_a_newer_database_is_refused(pg: &Postgres, url: &str) {
    // Connecting again (a second node, a restart) finds the tables made.
    Database::connect(url, 1).unwrap();
    let other = pg.database();
    Database::connect(&other, 1).unwrap();
    run_sql(
        &other,
        &format!("UPDATE fb_schema SET version = {}", schema::VERSION + 1),
    );
    let e = Database::connect(&other, 1).unwrap_err().to_string();
    assert!(e.contains("newer forcebus"), "{e}");
}

pub(super) fn run_sql(url: &str, sql: &str) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    c.batch_execute(sql).unwrap();
}

/// A commit the database loses in a crash before it reached its disk is never
/// acknowledged: the flush fails, the count read back is short, and every later sync
/// fails. (The WAL writer is told to wait 10 s, so the commit is still in memory when the
/// server is killed.)
#[test]
fn a_commit_lost_in_a_crash_is_never_acknowledged() {
    let (_pg, s, ticket) = crashed_with_a_commit_in_memory();
    let e = s.sync(ticket).unwrap_err();
    assert!(matches!(e, StoreError::Lost(_)), "{e}");
    assert_eq!(keys(&s), vec!["durable"], "the unflushed commit is gone");
    assert!(
        matches!(put(&s, "later"), Err(StoreError::Lost(_))),
        "nothing more is acknowledged"
    );
}

/// A deferred commit made while nothing else waits makes itself durable (its `COMMIT`
/// waits for the WAL): it survives the database's crash with no flush after it, and its
/// sync needs none. An unsynced one made the same way does not (see above).
#[test]
fn an_idle_deferred_commit_is_durable_by_itself() {
    let pg = Postgres::start_with("-c wal_writer_delay=10000");
    let db = Database::connect(&pg.database(), 2).unwrap();
    let s = store(&db, "00Didle");
    put(&s, "first").unwrap();
    let mut b = Batch::new();
    b.put("org", "deferred", Some("v".into()));
    let ticket = s.commit_deferred(&b).unwrap();
    pg.stop_server("immediate");
    pg.start_server();
    s.sync(ticket).unwrap();
    // The first call after the restart finds its connection broken (and the pool mends).
    assert!(s.load_values("org").is_err());
    assert_eq!(keys(&s), vec!["deferred", "first"]);
    put(&s, "after").unwrap();
}

/// TLS as libpq's `sslmode` asks: `require` encrypts without checking the certificate,
/// `verify-full` checks it against `sslrootcert` and refuses one it does not trust.
#[test]
fn connections_are_encrypted_as_sslmode_asks() {
    let (pg, ca) = Postgres::start_tls();
    let url = pg.database();
    let encrypted = |url: &str| -> bool {
        let db = Database::connect(url, 1).unwrap();
        db.run(|c| {
            let row = c.client.query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )?;
            Ok(row.get::<_, bool>(0))
        })
        .unwrap()
    };
    assert!(encrypted(&format!("{url}?sslmode=require")));
    assert!(
        encrypted(&url),
        "prefer, the default, encrypts when offered"
    );
    assert!(!encrypted(&format!("{url}?sslmode=disable")));
    let ca = ca.display().to_string();
    assert!(encrypted(&format!(
        "{url}?sslmode=verify-full&sslrootcert={ca}"
    )));
    let (_another, other) = Postgres::start_tls();
    let e = Database::connect(
        &format!("{url}?sslmode=verify-full&sslrootcert={}", other.display()),
        1,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("certificate") || e.contains("error performing TLS"),
        "{e}"
    );
}

fn beat(node: &str, instance: &str, port: u16) -> Beat {
    Beat {
        node: node.into(),
        instance: instance.into(),
        http: format!("127.0.0.1:{port}"),
        grpc: format!("127.0.0.1:{}", port + 1),
        ..Beat::default()
    }
}

/// An org's store as node `db` serves it at `epoch`.
fn fenced(db: &Arc<Database>, org: &str, epoch: i64) -> PostgresStore {
    PostgresStore::fenced(db.clone(), org, Durability::Full, fence(epoch))
}

/// Each org's lease names one live node at a time. A node's own lease keeps every org it
/// holds; once it expires, another takes an org with a new epoch, and from then on the
/// old holder's commits of that org fail (and only that org's: another org it still
/// holds commits on). A node id belongs to one live instance; a restart of the id fences
/// what its previous process held.
#[test]
fn an_org_taken_over_is_fenced_off_from_its_old_holder_and_no_other_is() {
    let pg = Postgres::start();
    let url = pg.database();
    let (a, b) = (
        Database::connect(&url, 2).unwrap(),
        Database::connect(&url, 2).unwrap(),
    );
    let ttl = std::time::Duration::from_millis(500);
    assert!(a.join(&beat("a", "a1", 1), ttl).unwrap());
    assert!(b.join(&beat("b", "b1", 3), ttl).unwrap());
    assert!(
        !b.join(&beat("a", "a2", 5), ttl).unwrap(),
        "the id is a live instance's"
    );
    // The migration gave the default org a lease nobody holds.
    assert_eq!(a.orphans().unwrap(), vec!["default"]);
    assert_eq!(a.claim("default", "a").unwrap(), Some((1, false)));
    assert_eq!(
        b.claim("default", "b").unwrap(),
        None,
        "held by a live node"
    );
    assert!(a.create_lease("00Dtwo", "a").unwrap());
    assert!(!b.create_lease("00Dtwo", "b").unwrap(), "it has one");
    assert_eq!(a.orphans().unwrap(), Vec::<String>::new());
    let (one, two) = (fenced(&a, "default", 1), fenced(&a, "00Dtwo", 1));
    put(&one, "by a").unwrap();
    put(&two, "by a").unwrap();
    assert!(matches!(
        put(&fenced(&b, "default", 7), "by b, unheld"),
        Err(StoreError::Fenced)
    ));
    let mut leases = a.leases_of("a").unwrap();
    leases.sort_by(|x, y| x.scope.cmp(&y.scope));
    assert_eq!(
        leases,
        vec![
            OrgLease {
                scope: "00Dtwo".into(),
                epoch: 1,
                open: true,
                move_to: None
            },
            OrgLease {
                scope: "default".into(),
                epoch: 1,
                open: false,
                move_to: None
            }
        ]
    );
    assert_eq!(
        b.lease("default").unwrap(),
        Some(LeaseView {
            node: "a".into(),
            epoch: 1,
            http: "127.0.0.1:1".into(),
            grpc: "127.0.0.1:2".into(),
            live: true
        })
    );
    // a stops renewing; b keeps its own lease alive.
    for _ in 0..3 {
        std::thread::sleep(ttl / 4);
        assert!(b.beat(&beat("b", "b1", 3), ttl).unwrap());
    }
    std::thread::sleep(ttl / 2);
    assert!(b.beat(&beat("b", "b1", 3), ttl).unwrap());
    let mut orphans = b.orphans().unwrap();
    orphans.sort();
    assert_eq!(orphans, vec!["00Dtwo", "default"]);
    assert_eq!(b.claim("default", "b").unwrap(), Some((2, false)));
    assert!(matches!(put(&one, "by a, late"), Err(StoreError::Fenced)));
    put(&two, "by a, still its own").unwrap();
    put(&fenced(&b, "default", 2), "by b").unwrap();
    assert_eq!(keys(&one), vec!["by a", "by b"], "nothing of a's after");
    // a is back: it renews, holds 00Dtwo still, and learns it lost the default org.
    assert!(a.beat(&beat("a", "a1", 1), ttl).unwrap());
    assert_eq!(
        a.leases_of("a")
            .unwrap()
            .iter()
            .map(|l| l.scope.as_str())
            .collect::<Vec<_>>(),
        vec!["00Dtwo"]
    );
    // Handing over: a new epoch, the old holder fenced.
    assert_eq!(
        a.hand_over(&["00Dtwo".into()], "a", "b").unwrap(),
        vec![("00Dtwo".to_owned(), 2)]
    );
    assert!(matches!(put(&two, "by a, handed"), Err(StoreError::Fenced)));
    assert_eq!(
        a.hand_over(&["00Dtwo".into()], "a", "b").unwrap(),
        vec![],
        "not a's to hand"
    );
    // A move asked of a live holder waits for it; of nobody, it is done at once.
    assert_eq!(a.request_move("00Dtwo", "a").unwrap(), Some("b".into()));
    assert_eq!(
        b.leases_of("b")
            .unwrap()
            .iter()
            .find(|l| l.scope == "00Dtwo")
            .unwrap()
            .move_to,
        Some("a".into())
    );
    a.hand_over(&["00Dtwo".into()], "b", NOBODY).unwrap();
    assert_eq!(a.request_move("00Dtwo", "a").unwrap(), Some("a".into()));
    assert_eq!(a.lease("00Dtwo").unwrap().unwrap().epoch, 4);
    let live = a.live_nodes().unwrap();
    assert_eq!(
        live.iter()
            .map(|n| (n.node.as_str(), n.orgs))
            .collect::<Vec<_>>(),
        vec![("a", 1), ("b", 1)]
    );
    // A restart of id a: a new instance once the old one's lease is out (or at once
    // when it left); every lease naming a gets a new epoch.
    a.forget_node("a", "a1").unwrap();
    assert!(b.join(&beat("a", "a2", 5), ttl).unwrap());
    assert_eq!(a.lease("00Dtwo").unwrap().unwrap().epoch, 5);
    assert!(!a.beat(&beat("a", "a1", 1), ttl).unwrap(), "superseded");
    let nodes = a.nodes().unwrap();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes.iter().map(|n| n.orgs).sum::<i64>(), 2);
    // Erasing an org takes its lease and names, and only while its lease is held.
    let erased = fenced(&a, "00Dtwo", 4);
    assert!(matches!(erased.erase(), Err(StoreError::Fenced)));
    a.take_names("00Dtwo", &[(kinds::USERNAME, "x@y.z".into())])
        .unwrap()
        .unwrap();
    fenced(&a, "00Dtwo", 5).erase().unwrap();
    assert_eq!(a.lease("00Dtwo").unwrap(), None);
    assert_eq!(a.name_owner(kinds::USERNAME, "x@y.z").unwrap(), None);
    // The first node to propose the shared key sets it; the others get that one.
    assert_eq!(a.cluster_key("k1").unwrap(), "k1");
    assert_eq!(b.cluster_key("k2").unwrap(), "k1");
    // Named values: none until set, then the last one set, whichever node reads.
    assert_eq!(a.cluster_value("admin_key").unwrap(), None);
    a.set_cluster_value("admin_key", "x").unwrap();
    b.set_cluster_value("admin_key", "y").unwrap();
    assert_eq!(a.cluster_value("admin_key").unwrap().as_deref(), Some("y"));
}

/// Usernames, client ids and blocks are each one org's: taken all or none, replaced
/// whole, found by any node.
#[test]
fn names_are_unique_across_orgs_and_taken_all_or_none() {
    let pg = Postgres::start();
    let db = Database::connect(&pg.database(), 2).unwrap();
    let names = |v: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        v.iter().map(|(k, n)| (*k, (*n).to_owned())).collect()
    };
    db.take_names(
        "A",
        &names(&[(kinds::USERNAME, "ada@x.y"), (kinds::BLOCK, "7")]),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        db.take_names(
            "B",
            &names(&[(kinds::USERNAME, "bob@x.y"), (kinds::BLOCK, "7")])
        )
        .unwrap(),
        Err((kinds::BLOCK.to_owned(), "7".to_owned()))
    );
    assert_eq!(
        db.name_owner(kinds::USERNAME, "bob@x.y").unwrap(),
        None,
        "none taken"
    );
    db.take_names("A", &names(&[(kinds::USERNAME, "ada@x.y")]))
        .unwrap()
        .expect("its own already");
    db.set_names("A", kinds::USERNAME, &["cy@x.y".into(), "ada@x.y".into()])
        .unwrap();
    db.set_names("B", kinds::USERNAME, &["cy@x.y".into(), "bob@x.y".into()])
        .unwrap();
    assert_eq!(
        db.names_of("A", kinds::USERNAME).unwrap(),
        ["ada@x.y", "cy@x.y"]
    );
    assert_eq!(db.names_of("B", kinds::USERNAME).unwrap(), ["bob@x.y"]);
    db.set_names("A", kinds::USERNAME, &["ada@x.y".into()])
        .unwrap();
    assert_eq!(db.name_owner(kinds::USERNAME, "cy@x.y").unwrap(), None);
    assert_eq!(
        db.name_owner(kinds::BLOCK, "7").unwrap().as_deref(),
        Some("A")
    );
}

/// The database crashes with a commit not yet durable, and the next thing this server
/// does is another commit (not the flush): that commit finds the database restarted with
/// the count gone back, and fails (as does everything after), so the lost commit is never
/// covered by a later flush.
#[test]
fn a_commit_after_the_database_lost_one_fails_for_good() {
    let (_pg, s, ticket) = crashed_with_a_commit_in_memory();
    let mut outcomes = Vec::new();
    for n in 0..3 {
        let mut b = Batch::new();
        b.put("org", &format!("after {n}"), Some("v".into()));
        outcomes.push(s.commit_unsynced(&b));
    }
    assert!(outcomes.iter().all(Result::is_err), "{outcomes:?}");
    assert!(
        matches!(outcomes.last(), Some(Err(StoreError::Lost(_)))),
        "{outcomes:?}"
    );
    assert!(matches!(s.sync(ticket), Err(StoreError::Lost(_))));
    assert_eq!(keys(&s), vec!["durable"]);
}

/// A lease row held by a transaction left open (a node cut off between its commit's
/// statement and `COMMIT`): a claim on connections with a lock wait gives up after it
/// (an error the caller moves past, not the database being out of reach) instead of
/// waiting with the row, and every session's idle transaction is ended by the server
/// within a bound, so the row is not held for the hours TCP takes to notice.
#[test]
fn a_lease_row_held_by_a_node_cut_off_is_waited_for_a_bounded_time() {
    let pg = Postgres::start();
    let url = pg.database();
    let leases = Database::connect_waiting(&url, 1, Some(Duration::from_millis(200))).unwrap();
    run_sql(
        &url,
        "INSERT INTO fb_leases (scope, node, epoch) VALUES ('00Dheld', '', 1)",
    );
    let mut cut_off = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut tx = cut_off.transaction().unwrap();
    tx.execute(
        "SELECT 1 FROM fb_leases WHERE scope = '00Dheld' FOR SHARE",
        &[],
    )
    .unwrap();
    let started = Instant::now();
    let e = leases.claim("00Dheld", "b").unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(!e.is_unavailable(), "{e}");
    tx.rollback().unwrap();
    assert_eq!(leases.claim("00Dheld", "b").unwrap(), Some((2, false)));
    for db in [&leases, &Database::connect(&url, 1).unwrap()] {
        let shown: String = db
            .run(|c| {
                Ok(c.client
                    .query_one("SHOW idle_in_transaction_session_timeout", &[])?
                    .get(0))
            })
            .unwrap();
        assert_eq!(shown, "30s");
    }
}
