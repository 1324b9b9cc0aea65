//! Orgs spread over three nodes on one database: each org is served by exactly one node,
//! new orgs go to the node serving the fewest, every org is reached through every node,
//! `forcebus cluster move` moves one, resting orgs stay unloaded wherever they go, and a
//! node killed has only its own orgs taken over by the others.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use forcebus_testkit::pg::Postgres;
use forcebus_testkit::{Options, Server};
use serde_json::{Value, json};

use super::{TAKEOVER, cluster_status, node_of, options, serving};
use crate::bin;
use crate::orgs::{accounts, new_org, rest};

/// A node that unloads an org idle for two seconds.
fn node(url: &str) -> Server {
    let mut o: Options = options(url, 2);
    o.env
        .push(("FORCEBUS_ORG_IDLE_UNLOAD_SECS".into(), "2".into()));
    Server::start_with(&bin(), o)
}

/// Each org's node and epoch, from `forcebus cluster status --orgs`.
fn leases(url: &str) -> BTreeMap<String, (String, i64)> {
    cluster_status(url)["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["Org"].as_str().unwrap().to_owned(),
                (
                    o["Node"].as_str().unwrap_or_default().to_owned(),
                    o["Epoch"].as_i64().unwrap(),
                ),
            )
        })
        .collect()
}

/// Each node's row of `forcebus cluster status`, by node.
fn nodes(url: &str) -> BTreeMap<String, Value> {
    cluster_status(url)["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["Node"].as_str().unwrap().to_owned(), n.clone()))
        .collect()
}

fn write(s: &Server, token: &str, name: &str) -> u16 {
    rest(
        s,
        reqwest::Method::POST,
        token,
        "/sobjects/Account",
        Some(json!({"Name": name})),
    )
    .0
}

#[test]
fn orgs_spread_over_nodes_are_reached_through_any_moved_and_taken_over_alone() {
    let pg = Postgres::start();
    let url = pg.database();
    let mut all: Vec<Server> = (0..3).map(|_| node(&url)).collect();
    let ids: Vec<String> = all.iter().map(node_of).collect();

    // The default org is loaded where it is served (it never rests).
    let status = cluster_status(&url);
    let default = status["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["Org"] == "default");
    assert_eq!(
        default.map(|o| &o["Loaded"]),
        Some(&json!(true)),
        "{status}"
    );

    // Six orgs made through the first node: each goes to the node serving the fewest.
    let mut orgs: Vec<(String, String)> = Vec::new();
    for n in 0..6 {
        let (st, made) = new_org(&all[0], json!({"name": format!("spread-{n}")}));
        assert_eq!(st, 201, "{made}");
        orgs.push((
            made["org_id"].as_str().unwrap().to_owned(),
            made["access_token"].as_str().unwrap().to_owned(),
        ));
    }
    let held = leases(&url);
    let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
    for (node, _) in held.values() {
        *per_node.entry(node.as_str()).or_default() += 1;
    }
    assert_eq!(per_node.len(), 3, "every node serves some: {held:?}");
    assert!(
        per_node.values().all(|n| (2..=3).contains(n)),
        "7 orgs over 3 nodes: {per_node:?}"
    );

    // Every org through every node: written three times, read back the same anywhere.
    for (org, token) in &orgs {
        for (n, s) in all.iter().enumerate() {
            assert_eq!(write(s, token, &format!("{org} via {n}")), 201);
        }
        for s in &all {
            assert_eq!(accounts(s, token).len(), 3, "{org}");
        }
    }
    // The list, asked of any node, names each org's node.
    let listed = all[1]
        .http()
        .get(format!("{}/forcebus/v1/orgs", all[1].base()))
        .bearer_auth(&all[1].ready.admin_key)
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap();
    for (org, _) in &orgs {
        let entry = listed["orgs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["org_id"] == org.as_str())
            .unwrap_or_else(|| panic!("{org} listed: {listed}"));
        assert_eq!(entry["node"], held[org].0.as_str(), "{entry}");
        assert!(entry["records"].as_u64().unwrap() >= 3, "{entry}");
        assert!(
            entry["log"]["last_replay_id"].as_u64().unwrap() >= 3,
            "{entry}"
        );
    }

    // A move: the org is served by the node asked, with a new epoch; writes through the
    // node that served it go on.
    let (moved, moved_token) = orgs
        .iter()
        .find(|(o, _)| held[o].0 == ids[0])
        .cloned()
        .expect("the first node serves a made org");
    let out = std::process::Command::new(bin())
        .args(["cluster", "move", &moved, &ids[2], "--store", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(serving(&url, &moved), ids[2]);
    assert_eq!(leases(&url)[&moved].1, held[&moved].1 + 1);
    assert_eq!(write(&all[0], &moved_token, "after the move"), 201);
    assert_eq!(accounts(&all[1], &moved_token).len(), 4);
    let bad = std::process::Command::new(bin())
        .args(["cluster", "move", &moved, "no-such-node", "--store", &url])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("no live node is called no-such-node"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    // Left alone, the made orgs rest: each node keeps loaded only the default org, if
    // it serves it.
    let default_node = serving(&url, "default");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = nodes(&url);
        let loaded: Vec<i64> = ids
            .iter()
            .map(|id| rows[id]["Loaded"].as_i64().unwrap())
            .collect();
        let want: Vec<i64> = ids
            .iter()
            .map(|id| i64::from(*id == default_node))
            .collect();
        if loaded == want {
            break;
        }
        assert!(Instant::now() < deadline, "orgs never rested: {rows:?}");
        std::thread::sleep(Duration::from_millis(250));
    }

    // The second node is killed: its orgs go to the others, resting ones stay resting,
    // and no other org changes hands.
    let before = leases(&url);
    all[1].kill();
    let deadline = Instant::now() + TAKEOVER;
    loop {
        let now = leases(&url);
        if now.values().all(|(node, _)| *node != ids[1]) {
            for (org, (node, epoch)) in &before {
                if *node == ids[1] {
                    assert_eq!(now[org].1, epoch + 1, "{org} taken once");
                } else {
                    assert_eq!(&now[org], &before[org], "{org} stays where it was");
                }
            }
            break;
        }
        assert!(Instant::now() < deadline, "never taken over: {now:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let rows = nodes(&url);
    for id in [&ids[0], &ids[2]] {
        let serves_default = serving(&url, "default") == *id;
        assert_eq!(
            rows[id]["Loaded"].as_i64().unwrap(),
            i64::from(serves_default),
            "the orgs taken over rest: {rows:?}"
        );
    }
    for (org, token) in &orgs {
        let want = if *org == moved { 4 } else { 3 };
        assert_eq!(accounts(&all[2], token).len(), want, "{org}");
        assert_eq!(write(&all[0], token, "after the kill"), 201, "{org}");
    }

    // A client id is one org's across the nodes: a second org asking for it through
    // another node is refused, and makes nothing.
    let app = |name: &str| json!({"name": name, "config": {"app": {"client_id": "spread-app"}}});
    let (st, made) = new_org(&all[0], app("with-app"));
    assert_eq!(st, 201, "{made}");
    let listed = leases(&url).len();
    let (st, refused) = new_org(&all[2], app("same-app"));
    assert_eq!(st, 400, "{refused}");
    assert!(
        refused
            .to_string()
            .contains("client id spread-app is taken"),
        "{refused}"
    );
    assert_eq!(leases(&url).len(), listed, "nothing made");
}
