//! The server on PostgreSQL (`--store`): the crash test every engine passes, and a node
//! that keeps nothing of its own (a new server with an empty data dir on the same database
//! serves the same orgs, records, files, events, users and tokens).

mod bulk;
mod forwarding;
mod restart;
mod takeovers;

use forcebus_testkit::pg::Postgres;
use forcebus_testkit::{Options, Pending, Server};
use serde_json::{Value, json};

use crate::orgs::{accounts, new_org, rest};
use crate::{bin, get};

fn on(url: &str) -> Server {
    on_with(url, 5)
}

/// A server on the database at `url` whose lease lasts `lease_secs`; returns once it
/// holds the lease and is ready.
fn on_with(url: &str, lease_secs: u64) -> Server {
    Server::start_with(&bin(), options(url, lease_secs))
}

/// A server started without waiting: a standby until the lease is its own (killed if
/// dropped before).
fn standby(url: &str, lease_secs: u64) -> Pending {
    Pending::start(&bin(), options(url, lease_secs))
}

/// A server keeping its data in the database at `url`, with a lease of `lease_secs`.
fn options(url: &str, lease_secs: u64) -> Options {
    Options {
        in_memory: false,
        args: vec!["--store".into(), url.into()],
        env: vec![("FORCEBUS_LEASE_SECS".into(), lease_secs.to_string())],
        ..Default::default()
    }
}

const TAKEOVER: std::time::Duration = std::time::Duration::from_secs(60);

#[test]
fn every_acknowledged_write_has_exactly_one_event_across_sigkills_on_postgres() {
    let pg = Postgres::start();
    let mut s = on(&pg.database());
    crate::events::acknowledged_writes_survive_sigkills(&mut s);
}

#[test]
fn a_new_node_with_an_empty_data_dir_serves_everything_from_the_database() {
    let pg = Postgres::start();
    let url = pg.database();
    let mut first = on(&url);
    let token = first.ready.access_token.clone();
    let (st, account) = rest(
        &first,
        reqwest::Method::POST,
        &token,
        "/sobjects/Account",
        Some(json!({"Name": "Kept in PostgreSQL"})),
    );
    assert_eq!(st, 201, "{account}");
    let bytes: Vec<u8> = (0..700_000u32).map(|i| (i % 253) as u8).collect();
    let (st, file) = rest(
        &first,
        reqwest::Method::POST,
        &token,
        "/sobjects/ContentVersion",
        Some(json!({
            "Title": "big", "PathOnClient": "big.bin",
            "VersionData": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes)
        })),
    );
    assert_eq!(st, 201, "{file}");
    let (st, made) = new_org(&first, json!({"name": "team-pg"}));
    assert_eq!(st, 201, "{made}");
    let made_token = made["access_token"].as_str().unwrap().to_owned();
    let (st, _) = rest(
        &first,
        reqwest::Method::POST,
        &made_token,
        "/sobjects/Contact",
        Some(json!({"LastName": "In the made org"})),
    );
    assert_eq!(st, 201);
    let events_before = crate::events::all_events(&first, 0);
    assert!(!events_before.is_empty());

    // The node dies with its disk; a new one starts with an empty data dir.
    first.kill();
    let node = on(&url);
    assert_eq!(node.ready.org_id, first.ready.org_id, "the same org");
    assert_eq!(node.ready.password, first.ready.password);
    assert_eq!(node.ready.client_secret, first.ready.client_secret);
    assert_eq!(
        std::fs::read(&node.ready.ca_cert).unwrap(),
        std::fs::read(&first.ready.ca_cert).unwrap(),
        "the same CA: clients that trust it trust every node"
    );
    let id = account["id"].as_str().unwrap();
    let (st, got) = rest(
        &node,
        reqwest::Method::GET,
        &token,
        &format!("/sobjects/Account/{id}"),
        None,
    );
    assert_eq!(st, 200, "the old token and the record: {got}");
    assert_eq!(got["Name"], "Kept in PostgreSQL");
    let version = file["id"].as_str().unwrap();
    let read = node
        .http()
        .get(format!(
            "{}/sobjects/ContentVersion/{version}/VersionData",
            node.data()
        ))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .unwrap();
    assert_eq!(read.status().as_u16(), 200);
    assert_eq!(
        read.bytes().unwrap().as_ref(),
        &bytes[..],
        "the file's bytes"
    );
    let events_after = crate::events::all_events(&node, 0);
    let ids = |events: &[Value]| -> Vec<u64> {
        events
            .iter()
            .map(|e| e["replayId"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(ids(&events_after), ids(&events_before), "the event log");
    let (st, q) = rest(
        &node,
        reqwest::Method::GET,
        &made_token,
        "/query?q=SELECT+LastName+FROM+Contact",
        None,
    );
    assert_eq!(st, 200, "the made org and its token: {q}");
    assert_eq!(q["records"][0]["LastName"], "In the made org");
    // New writes go on from where the old node stopped.
    let (st, _) = get(&node, "/sobjects/Account");
    assert_eq!(st, 200);
    let (st, _) = rest(
        &node,
        reqwest::Method::POST,
        &token,
        "/sobjects/Account",
        Some(json!({"Name": "After the move"})),
    );
    assert_eq!(st, 201);
    let last = ids(&crate::events::all_events(&node, 0));
    assert!(
        last.last() > ids(&events_before).last(),
        "replay ids go on increasing"
    );
    // Deleting the made org removes its rows.
    let gone = node
        .http()
        .delete(format!(
            "{}/forcebus/v1/orgs/{}",
            node.base(),
            made["org_id"].as_str().unwrap()
        ))
        .header("Authorization", format!("Bearer {}", node.ready.admin_key))
        .send()
        .unwrap();
    assert_eq!(gone.status().as_u16(), 204);
    let made_id = made["org_id"].as_str().unwrap();
    for table in ["fb_records", "fb_values", "fb_events"] {
        let left = pg.psql_on(
            &url,
            &format!("SELECT count(*) FROM {table} WHERE org = '{made_id}'"),
        );
        assert_eq!(left, "0", "{table} keeps nothing of the deleted org");
    }
    let listed = pg.psql_on(
        &url,
        &format!("SELECT count(*) FROM fb_values WHERE org = '' AND key = '{made_id}'"),
    );
    assert_eq!(listed, "0");
}

#[test]
fn while_the_database_is_down_writes_are_refused_503_and_then_work_again() {
    let pg = Postgres::start();
    let s = on(&pg.database());
    let token = s.ready.access_token.clone();
    let write = |name: &str| {
        rest(
            &s,
            reqwest::Method::POST,
            &token,
            "/sobjects/Account",
            Some(json!({"Name": name})),
        )
    };
    assert_eq!(write("before").0, 201);
    pg.stop_server("fast");
    let (st, body) = write("while down");
    assert_eq!(st, 503, "{body}");
    assert_eq!(body[0]["errorCode"], "SERVER_UNAVAILABLE", "{body}");
    // Reads come from the org in memory.
    let (st, _) = get(&s, "/query?q=SELECT+Name+FROM+Account");
    assert_eq!(st, 200);
    pg.start_server();
    assert_eq!(write("after").0, 201, "back by itself");
    let (_, q) = get(&s, "/query?q=SELECT+Name+FROM+Account+ORDER+BY+Name");
    let names: Vec<&str> = q["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["after", "before"], "the refused write left nothing");
}

/// Two nodes on one database: the second stands by while the first holds the lease, takes
/// over once the first is paused past its lease, and the paused one, woken, commits
/// nothing and stops (exit status 3).
#[test]
fn a_standby_takes_over_and_a_paused_holder_commits_nothing() {
    let pg = Postgres::start();
    let url = pg.database();
    let mut a = on_with(&url, 2);
    let token = a.ready.access_token.clone();
    let write = |s: &Server, name: &str| {
        rest(
            s,
            reqwest::Method::POST,
            &token,
            "/sobjects/Account",
            Some(json!({"Name": name})),
        )
        .0
    };
    assert_eq!(write(&a, "by a"), 201);
    let mut b = standby(&url, 2);
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert!(b.is_waiting(), "b waits while a renews its lease");
    a.signal("STOP");
    let b = b.ready(TAKEOVER);
    assert_eq!(b.ready.org_id, a.ready.org_id);
    assert_eq!(accounts(&b, &token), ["by a"]);
    assert_eq!(write(&b, "by b"), 201);
    a.signal("CONT");
    // Refused (503, fenced), or the connection dropped as it stops: never acknowledged.
    let late = a
        .http()
        .post(format!("{}/sobjects/Account", a.data()))
        .header("Authorization", format!("Bearer {token}"))
        .json(&json!({"Name": "by a, after its lease"}))
        .send()
        .map(|r| r.status().as_u16());
    assert!(
        !matches!(late, Ok(201)),
        "a paused node that lost its lease commits nothing"
    );
    let exit = a.wait_for_exit(std::time::Duration::from_secs(10));
    assert_eq!(
        exit.and_then(|e| e.code()),
        Some(3),
        "it stops; log: {}",
        a.log()
    );
    assert_eq!(accounts(&b, &token), ["by a", "by b"]);
    let events = crate::events::all_events(&b, 0);
    let ids: Vec<u64> = events
        .iter()
        .map(|e| e["replayId"].as_u64().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "replay ids strictly increase: {ids:?}"
    );
}

/// A node that shuts down (SIGTERM) gives its lease up: the standby takes over at once,
/// long before the lease (30 s) would have expired.
#[test]
fn a_draining_node_hands_over_at_once() {
    let pg = Postgres::start();
    let url = pg.database();
    let mut first = on_with(&url, 30);
    let mut next = standby(&url, 30);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(next.is_waiting());
    let status = std::process::Command::new(bin())
        .args(["cluster", "status", "--json", "--store", &url])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let nodes: Value = serde_json::from_slice(&status.stdout).unwrap();
    let roles: Vec<(&str, &str)> = nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["Address"].as_str().unwrap(), n["Role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles.len(), 2, "{nodes}");
    assert_eq!(roles[0], (first.ready.http.as_str(), "serving"), "{nodes}");
    assert_eq!(roles[1].1, "standby", "{nodes}");
    assert_eq!(nodes[0]["Epoch"], 1);
    let started = std::time::Instant::now();
    assert!(first.terminate().success());
    let next = next.ready(TAKEOVER);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took over after {:?}",
        started.elapsed()
    );
    assert_eq!(next.ready.org_id, first.ready.org_id);
}

/// A node whose admin key is not the serving node's is refused at start, saying why (the
/// admin API sent to it would be passed on to a node that refuses its key); so is one
/// without a key of its own when the serving node has one.
#[test]
fn a_node_with_another_admin_key_is_refused() {
    let pg = Postgres::start();
    let url = pg.database();
    let mut opts = options(&url, 5);
    opts.env.push((
        "FORCEBUS_ADMIN_KEY".into(),
        "fbk_the_clusters_own_key".into(),
    ));
    let _serving = Server::start_with(&bin(), opts);
    let dir = std::env::temp_dir().join(format!("fb-admin-key-{}", std::process::id()));
    for key in [Some("fbk_another_key_entirely"), None] {
        let mut cmd = std::process::Command::new(bin());
        cmd.args(["serve", "--store", &url, "--listen", "127.0.0.1:0"])
            .args(["--grpc-listen", "127.0.0.1:0", "--data-dir"])
            .arg(&dir)
            .env_remove("FORCEBUS_ADMIN_KEY")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        if let Some(key) = key {
            cmd.env("FORCEBUS_ADMIN_KEY", key);
        }
        let mut child = cmd.spawn().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("a node with admin key {key:?} joined");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("admin_key: this node's admin key is not the one node")
                && err.contains("one set in its configuration"),
            "{err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server started while its database is down says so, naming the URL without its
/// password, and keeps trying: it is ready once the database is up.
#[test]
fn a_server_started_before_its_database_waits_for_it() {
    let pg = Postgres::start();
    let url = pg
        .database()
        .replace("postgres://forcebus@", "postgres://forcebus:s3cret@");
    pg.stop_server("fast");
    let mut pending = standby(&url, 5);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !pending
        .log()
        .contains("Cannot reach the PostgreSQL database")
    {
        assert!(pending.is_waiting(), "ready without its database");
        assert!(std::time::Instant::now() < deadline, "{}", pending.log());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let log = pending.log();
    assert!(
        log.contains("forcebus:***@") && !log.contains("s3cret"),
        "{log}"
    );
    assert!(pending.is_waiting());
    pg.start_server();
    let s = pending.ready(TAKEOVER);
    assert_eq!(get(&s, "/query?q=SELECT+Name+FROM+Account").0, 200);
}
