//! Published platform events across SIGKILLs: every event acknowledged is replayed after
//! the restart exactly once. On SQLite a publish commits events alone, so its payloads go
//! to the org's segment files (`events/`), not the database, and are read back from them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use forcebus_testkit::{Options, Server};
use serde_json::{Value, json};

use crate::events::Writers;
use crate::platform::{EVENTS, drain, subscribe};
use crate::{CONFIG, bin};

#[test]
fn every_acknowledged_platform_event_is_replayed_once_across_sigkills() {
    let mut s = Server::start_with(
        &bin(),
        Options {
            in_memory: false,
            config: Some(format!("{CONFIG}\n{EVENTS}")),
            ..Default::default()
        },
    );
    let acked: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let mut seen: BTreeSet<u64> = BTreeSet::new();
    for round in 0..3u64 {
        let running = publishers(3, &s, &acked, round);
        std::thread::sleep(std::time::Duration::from_millis(300 + 200 * round));
        s.kill();
        running.stop();
        s.restart();
        let acked = acked.lock().unwrap().clone();
        assert!(
            !acked.is_empty(),
            "round {round} acknowledged nothing; log: {}",
            s.log()
        );
        let replayed = replay_all(&s);
        let ids: Vec<u64> = replayed.iter().map(|(id, _)| *id).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "round {round}: replay ids rise"
        );
        let now: BTreeSet<u64> = ids.iter().copied().collect();
        assert!(
            seen.is_subset(&now),
            "round {round}: an event replayed before is gone"
        );
        seen = now;
        let mut times: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, order) in &replayed {
            *times.entry(order.as_str()).or_default() += 1;
        }
        for order in &acked {
            assert_eq!(
                times.get(order.as_str()),
                Some(&1),
                "acknowledged {order}, round {round}"
            );
        }
        assert_eq!(
            times.values().copied().max(),
            Some(1),
            "round {round}: an event twice"
        );
        eprintln!(
            "round {round}: {} acknowledged, {} replayed",
            acked.len(),
            replayed.len()
        );
    }
    // On SQLite (not in the suite's pass on PostgreSQL), the payloads were read from the
    // segment files they were written to.
    if std::env::var_os(forcebus_testkit::STORE_VAR).is_none() {
        let segments = files_named(s.dir(), ".seg");
        assert!(
            !segments.is_empty(),
            "the payloads were written to segment files"
        );
    }
}

/// Every retained `Order_Shipped__e` from a fresh subscription at -2: replay id and order
/// number, in delivery order.
fn replay_all(s: &Server) -> Vec<(u64, String)> {
    let (client, sub) = subscribe(s, "/event/Order_Shipped__e", -2);
    assert_eq!(sub["successful"], true, "{sub}");
    let mut out = Vec::new();
    loop {
        let got = drain(s, &client);
        if got.is_empty() {
            return out;
        }
        for m in got {
            out.push((
                m["data"]["event"]["replayId"].as_u64().unwrap(),
                m["data"]["payload"]["Order_Number__c"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ));
        }
    }
}

fn files_named(dir: &std::path::Path, suffix: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_named(&path, suffix));
        } else if path.to_string_lossy().ends_with(suffix) {
            found.push(path);
        }
    }
    found
}

/// Threads publishing `Order_Shipped__e` over REST until stopped, each event's order
/// number unique (round, thread, count); the numbers answered 201 go to `acked`.
fn publishers(n: usize, s: &Server, acked: &Arc<Mutex<Vec<String>>>, round: u64) -> Writers {
    let (data, token) = (s.data(), s.ready.access_token.clone());
    Writers::spawn(n, acked, move |client, w, i| {
        let order = format!("{round}{w}{i:08}");
        let r = client
            .post(format!("{data}/sobjects/Order_Shipped__e"))
            .header("Authorization", format!("Bearer {token}"))
            .json(&json!({"Order_Number__c": order, "Notes__c": "x".repeat(1500)}))
            .send()
            .ok()
            .filter(|r| r.status() == 201)?;
        let body: Value = r.json().ok()?;
        (body["success"] == true).then(|| vec![order])
    })
}
