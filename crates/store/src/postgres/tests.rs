//! The PostgreSQL engine's tests, on a real PostgreSQL server started for them.

use std::sync::Arc;

use forcebus_testkit::pg::Postgres;

use super::*;
use crate::SERVER_SCOPE;
use crate::{Write, conformance};

fn store(db: &Arc<Database>, org: &str) -> PostgresStore {
    PostgresStore::open(db.clone(), org, Durability::Full)
}

/// The keys of the org's `org` values.
fn keys(store: &PostgresStore) -> Vec<String> {
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

fn put(store: &PostgresStore, key: &str) -> Result<(), StoreError> {
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
    the_service_recovers_by_itself_after_the_database_restarts(&pg, &db);
    normal_durability_commits_without_waiting(&db);
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

fn run_sql(url: &str, sql: &str) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    c.batch_execute(sql).unwrap();
}

fn the_service_recovers_by_itself_after_the_database_restarts(pg: &Postgres, db: &Arc<Database>) {
    let s = store(db, "00Drestart");
    put(&s, "before").unwrap();
    pg.stop_server("fast");
    let e = put(&s, "while down").unwrap_err().to_string();
    assert!(e.starts_with("database error"), "{e}");
    pg.start_server();
    put(&s, "after").unwrap();
    assert_eq!(keys(&s), vec!["after", "before"]);
}

fn normal_durability_commits_without_waiting(db: &Arc<Database>) {
    let s = PostgresStore::open(db.clone(), "00Dnormal", Durability::Normal);
    let mut b = Batch::new();
    b.put("org", "k", Some("v".into()));
    assert_eq!(s.commit_unsynced(&b).unwrap(), 0, "nothing to wait for");
    assert_eq!(s.load_values("org").unwrap().len(), 1);
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

/// One node at a time holds the lease; another takes it only once it expired (or was
/// given up), with a new epoch; from then on the old holder's commits fail, and a commit
/// under way when the lease changed hands is either before the change or fails.
#[test]
fn a_node_that_lost_its_lease_commits_nothing() {
    let pg = Postgres::start();
    let url = pg.database();
    let (a, b) = (
        Database::connect(&url, 2).unwrap(),
        Database::connect(&url, 2).unwrap(),
    );
    let ttl = std::time::Duration::from_millis(400);
    let ea = a
        .try_acquire(SERVER_SCOPE, "a", ttl)
        .unwrap()
        .expect("free");
    assert_eq!(b.try_acquire(SERVER_SCOPE, "b", ttl).unwrap(), None, "held");
    a.fence(ea);
    let sa = store(&a, "00Dfence");
    put(&sa, "by a").unwrap();
    assert!(a.renew(SERVER_SCOPE, "a", ea, ttl).unwrap());
    std::thread::sleep(ttl + std::time::Duration::from_millis(100));
    // a did not renew in time: b takes over, and a is fenced off.
    let eb = b
        .try_acquire(SERVER_SCOPE, "b", ttl)
        .unwrap()
        .expect("expired");
    assert_eq!(eb, ea + 1);
    b.fence(eb);
    assert!(!a.renew(SERVER_SCOPE, "a", ea, ttl).unwrap(), "lost");
    assert!(matches!(put(&sa, "by a, late"), Err(StoreError::Fenced)));
    let sb = store(&b, "00Dfence");
    put(&sb, "by b").unwrap();
    assert_eq!(
        keys(&sb),
        vec!["by a", "by b"],
        "nothing of a's after the takeover"
    );
    // Given up on purpose, it is taken at once.
    b.release(SERVER_SCOPE, "b", eb).unwrap();
    assert_eq!(a.try_acquire(SERVER_SCOPE, "a", ttl).unwrap(), Some(eb + 1));
    a.heartbeat("a", "127.0.0.1:1", "127.0.0.1:11").unwrap();
    b.heartbeat("b", "127.0.0.1:2", "127.0.0.1:12").unwrap();
    let nodes = a.nodes().unwrap();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[0].leases.len() + nodes[1].leases.len(), 1);
    let holder = nodes.iter().find(|n| !n.leases.is_empty()).unwrap();
    assert_eq!(holder.node, "a");
    assert_eq!(
        b.holder(SERVER_SCOPE).unwrap(),
        Some(crate::Holder {
            node: "a".into(),
            http: "127.0.0.1:1".into(),
            grpc: "127.0.0.1:11".into(),
        }),
        "a standby finds where the holder serves"
    );
    // The first node to propose the shared key sets it; the others get that one.
    assert_eq!(a.cluster_key("k1").unwrap(), "k1");
    assert_eq!(b.cluster_key("k2").unwrap(), "k1");
    // Named values: none until set, then the last one set, whichever node reads.
    assert_eq!(a.cluster_value("admin_key").unwrap(), None);
    a.set_cluster_value("admin_key", "x").unwrap();
    b.set_cluster_value("admin_key", "y").unwrap();
    assert_eq!(a.cluster_value("admin_key").unwrap().as_deref(), Some("y"));
    b.forget_node("b").unwrap();
    assert_eq!(a.nodes().unwrap().len(), 1);
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
