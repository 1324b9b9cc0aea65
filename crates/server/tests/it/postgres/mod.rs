//! The server on PostgreSQL (`--store`): the crash test every engine passes, a node that
//! keeps nothing of its own (a new server with an empty data dir on the same database
//! serves the same orgs, records, files, events, users and tokens), and nodes sharing the
//! database: orgs spread over them, taken over, handed over, moved.

mod bulk;
mod forwarding;
mod restart;
mod spread;
mod subscribers;
mod takeovers;

use forcebus_testkit::pg::Postgres;
use forcebus_testkit::{Options, Pending, Server};
use serde_json::{Value, json};

use crate::orgs::{accounts, new_org, rest};
use crate::{bin, get};

fn on(url: &str) -> Server {
    on_with(url, 5)
}

/// A node on the database at `url` whose lease lasts `lease_secs`; returns once it is
/// ready (it listens, and the default org is served: by it, or by a node it reached).
fn on_with(url: &str, lease_secs: u64) -> Server {
    Server::start_with(&bin(), options(url, lease_secs))
}

/// A node started without waiting for its ready line (killed if dropped before).
fn pending(url: &str, lease_secs: u64) -> Pending {
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
    for table in ["fb_records", "fb_values", "fb_events", "fb_event_runs"] {
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

/// Two nodes on one database: a serves the default org and b passes its requests on;
/// a is paused past its lease, b takes the org over, and a, woken, commits nothing more
/// for it: what reaches a goes on to b, and every acknowledged write is there once, in
/// one strictly increasing run of replay ids.
#[test]
fn a_paused_node_commits_nothing_for_the_org_it_lost() {
    let pg = Postgres::start();
    let url = pg.database();
    let a = on_with(&url, 2);
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
    let b = on_with(&url, 2);
    assert_eq!(b.ready.org_id, a.ready.org_id);
    assert_eq!(write(&b, "through b"), 201);
    assert_eq!(serving(&url, "default"), node_of(&a));
    a.signal("STOP");
    // b takes the org once a's lease has run out.
    let deadline = std::time::Instant::now() + TAKEOVER;
    while write(&b, "by b") != 201 {
        assert!(std::time::Instant::now() < deadline, "b never took over");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(serving(&url, "default"), node_of(&b));
    a.signal("CONT");
    // Straight after waking, a is asked to write: it may not use what it held.
    let late: Vec<u16> = (0..5)
        .map(|n| write(&a, &format!("through a after its lease {n}")))
        .collect();
    assert!(
        late.iter().all(|s| *s == 201 || *s == 503),
        "{late:?}; log: {}",
        a.log()
    );
    let acked = late.iter().filter(|s| **s == 201).count();
    let names = accounts(&b, &token);
    assert_eq!(names.len(), 3 + acked, "{names:?}");
    let events = crate::events::all_events(&b, 0);
    let ids: Vec<u64> = events
        .iter()
        .map(|e| e["replayId"].as_u64().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "replay ids strictly increase: {ids:?}"
    );
    let creates = events
        .iter()
        .filter(|e| e["kind"] == "AccountChangeEvent")
        .count();
    assert_eq!(creates, names.len(), "one CREATE each");
    assert!(
        a.log()
            .contains("Another node serves an org of this node's now"),
        "{}",
        a.log()
    );
    assert_eq!(serving(&url, "default"), node_of(&b), "a took nothing back");
}

/// A node's id, as its `/forcebus/health` says.
pub(super) fn node_of(s: &Server) -> String {
    let health: Value = s
        .http()
        .get(format!("{}/forcebus/health", s.base()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    health["node"].as_str().expect("a node's id").to_owned()
}

/// The node serving the org `key` (`default` or an 18-character id), from
/// `forcebus cluster status --orgs`.
pub(super) fn serving(url: &str, key: &str) -> String {
    let status = cluster_status(url);
    status["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["Org"] == key)
        .and_then(|o| o["Node"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// `forcebus cluster status --orgs --json`.
pub(super) fn cluster_status(url: &str) -> Value {
    let out = std::process::Command::new(bin())
        .args(["cluster", "status", "--orgs", "--json", "--store", url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A node that shuts down (SIGTERM) hands its orgs to the others at once, long before its
/// lease (30 s) would have run out, and says so in `cluster status`.
#[test]
fn a_draining_node_hands_its_orgs_over_at_once() {
    let pg = Postgres::start();
    let url = pg.database();
    let mut first = on_with(&url, 30);
    let (st, made) = new_org(&first, json!({"name": "moves"}));
    assert_eq!(st, 201, "{made}");
    let made_id = made["org_id"].as_str().unwrap().to_owned();
    let made_token = made["access_token"].as_str().unwrap().to_owned();
    let next = on_with(&url, 30);
    let status = cluster_status(&url);
    let nodes = status["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2, "{status}");
    let row = |node: &str| nodes.iter().find(|n| n["Node"] == node).unwrap().clone();
    assert_eq!(row(&node_of(&first))["Orgs"], 2, "{status}");
    assert_eq!(row(&node_of(&first))["State"], "serving", "{status}");
    assert_eq!(row(&node_of(&next))["Orgs"], 0, "{status}");
    let started = std::time::Instant::now();
    assert!(first.terminate().success());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "drained in {:?}",
        started.elapsed()
    );
    assert_eq!(serving(&url, "default"), node_of(&next));
    assert_eq!(serving(&url, &made_id), node_of(&next));
    let token = next.ready.access_token.clone();
    assert_eq!(
        rest(
            &next,
            reqwest::Method::GET,
            &token,
            "/sobjects/Account",
            None
        )
        .0,
        200
    );
    let (st, q) = rest(
        &next,
        reqwest::Method::GET,
        &made_token,
        "/query?q=SELECT+Id+FROM+Account",
        None,
    );
    assert_eq!(st, 200, "{q}");
    assert!(first.log().contains("Drained."), "{}", first.log());
}

/// A node whose admin key is not the live nodes' is refused at start, saying why (the
/// admin API sent to it may be passed on to a node that refuses its key); so is one
/// without a key of its own when the live nodes have one.
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
            err.contains("admin_key: this node's admin key is not the one the nodes serving")
                && err.contains("one set in their configuration"),
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
    let mut pending = pending(&url, 5);
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
