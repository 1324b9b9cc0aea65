//! The connections' tests; those that need a server run on the one `the_postgres_engine`
//! starts.

use std::sync::Arc;

use forcebus_testkit::pg::Postgres;

use crate::postgres::Database;
use crate::postgres::tests::{keys, put, run_sql, store};

#[test]
fn passwords_are_hidden() {
    assert_eq!(
        super::shown("postgres://u:secret@h:5/db"),
        "postgres://u:***@h:5/db"
    );
    assert_eq!(super::shown("postgres://h/db"), "postgres://h/db");
    assert_eq!(
        super::shown("host=h password=secret user=u"),
        "host=h password=*** user=u"
    );
}

pub(crate) fn the_service_recovers_by_itself_after_the_database_restarts(
    pg: &Postgres,
    db: &Arc<Database>,
) {
    let s = store(db, "00Drestart");
    put(&s, "before").unwrap();
    pg.stop_server("fast");
    let e = put(&s, "while down").unwrap_err().to_string();
    assert!(e.starts_with("database error"), "{e}");
    pg.start_server();
    // Every call after it succeeds, whichever connection's thread it lands on (one that
    // was connected before the stop, or one whose connect failed while it was down).
    for i in 0..8 {
        put(&s, &format!("after {i}")).unwrap();
    }
    assert_eq!(keys(&s).len(), 9);
}

/// The server ending every connection (an administrator's `pg_terminate_backend`, as a
/// fast shutdown does) costs the one call that finds it out; the other connections are
/// checked before their next call rather than each failing one of its own.
pub(crate) fn connections_the_server_ended_cost_one_call(url: &str) {
    let db = Database::connect(url, 2).unwrap();
    let s = store(&db, "00Dterminated");
    for i in 0..4 {
        put(&s, &format!("before {i}")).unwrap();
    }
    run_sql(
        url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND backend_type = 'client backend'",
    );
    // The first call finds it out (unless its connection, idle over a second on a slow
    // machine, was checked first); no call after it fails.
    let failed: Vec<String> = (0..5)
        .filter_map(|i| put(&s, &format!("after {i}")).err())
        .map(|e| e.to_string())
        .collect();
    assert!(failed.len() <= 1, "{failed:?}");
    assert!(
        failed.iter().all(|e| e.contains("terminating connection")),
        "{failed:?}"
    );
    assert_eq!(keys(&s).len(), 4 + 5 - failed.len());
}

/// With its one connection taken, a second call waits for it to come back rather than
/// open another or fail.
pub(crate) fn a_call_waits_for_a_connection_when_all_are_in_use(url: &str) {
    let db = Database::connect(url, 1).unwrap();
    let (taken_tx, taken_rx) = std::sync::mpsc::channel();
    let holder = {
        let db = db.clone();
        std::thread::spawn(move || {
            db.run(move |c| {
                taken_tx.send(()).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(300));
                Ok(c.client
                    .query_one("SELECT pg_backend_pid()", &[])?
                    .get::<_, i32>(0))
            })
            .unwrap()
        })
    };
    taken_rx.recv().unwrap();
    let started = std::time::Instant::now();
    let second = db
        .run(|c| {
            Ok(c.client
                .query_one("SELECT pg_backend_pid()", &[])?
                .get::<_, i32>(0))
        })
        .unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    assert_eq!(
        holder.join().unwrap(),
        second,
        "the one connection, used in turn"
    );
}

/// A store called from a task on a worker of a multi-threaded runtime, from a blocking
/// task of one, and inside a single-threaded runtime: the synchronous client runs its own
/// runtime on the caller's thread, which must not be inside another's.
pub(crate) fn calls_run_from_either_kind_of_async_runtime(db: &Arc<Database>, url: &str) {
    let s = Arc::new(store(db, "00Druntimes"));
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    multi.block_on(async {
        let on_worker = s.clone();
        tokio::spawn(async move { put(&on_worker, "on a worker") })
            .await
            .unwrap()
            .unwrap();
        let blocking = s.clone();
        tokio::task::spawn_blocking(move || put(&blocking, "blocking"))
            .await
            .unwrap()
            .unwrap();
    });
    let single = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    single
        .block_on(async { put(&s, "single-threaded") })
        .unwrap();
    assert_eq!(keys(&s), vec!["blocking", "on a worker", "single-threaded"]);
    // A database whose last holder is a task closes its connections without a runtime
    // started inside the server's.
    let url = url.to_owned();
    multi.block_on(async move {
        tokio::spawn(async move {
            let db = Database::connect(&url, 2).unwrap();
            put(&store(&db, "00Druntimes"), "dropped on a worker").unwrap();
        })
        .await
        .unwrap();
    });
}
