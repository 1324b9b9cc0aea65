//! PostgreSQL restarted under load: while it is down every write is refused with
//! Salesforce's `SERVER_UNAVAILABLE` (REST, Tooling, a SOAP fault; no 500, no hang),
//! writes succeed again
//! by themselves once it is back, and every write acknowledged before, during or after is
//! there with exactly one CREATE event.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use forcebus_testkit::pg::Postgres;
use serde_json::{Value, json};

use super::on;

/// What one writer saw: the ids acknowledged, and every refusal's status and error code.
#[derive(Default)]
struct Seen {
    acked: Vec<String>,
    refused: Vec<(u16, String)>,
}

#[test]
fn a_database_restarted_under_writers_loses_nothing_acknowledged() {
    let pg = Postgres::start();
    let s = on(&pg.database());
    let (url, token) = (
        format!("{}/sobjects/Account", s.data()),
        s.ready.access_token.clone(),
    );
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (url, token, seen, stop) = (url.clone(), token.clone(), seen.clone(), stop.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let r = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({"Name": format!("W{w} #{i}")}))
                        .send()
                        .expect("the server answers while its database is down");
                    let status = r.status().as_u16();
                    let body: Value = r.json().unwrap();
                    let mut seen = seen.lock().unwrap();
                    if status == 201 {
                        seen.acked.push(body["id"].as_str().unwrap().to_owned());
                    } else {
                        let code = body[0]["errorCode"].as_str().unwrap_or("").to_owned();
                        seen.refused.push((status, code));
                        drop(seen);
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    i += 1;
                }
            })
        })
        .collect();
    let acked = || seen.lock().unwrap().acked.len();
    // A Contact in the Recycle Bin, to undelete while the database is down.
    let binned = crate::create(&s, "Contact", json!({"LastName": "Binned"}));
    let st = s
        .http()
        .delete(format!("{}/sobjects/Contact/{binned}", s.data()))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .status();
    assert_eq!(st, 204);
    std::thread::sleep(Duration::from_millis(500));
    let before = acked();
    pg.stop_server("fast");
    // Other kinds of write are refused the same way: a Tooling record, a SOAP call.
    let (st, body) = crate::j(s
        .http()
        .post(format!("{}/tooling/sobjects/PlatformEventChannel", s.data()))
        .bearer_auth(&token)
        .json(&json!({"FullName": "Down__chn", "Metadata": {"channelType": "event", "label": "Down"}}))
        .send()
        .unwrap());
    assert_eq!(
        (st, body[0]["errorCode"].clone()),
        (503, json!("SERVER_UNAVAILABLE")),
        "{body}"
    );
    let undelete = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header><SessionHeader xmlns="urn:partner.soap.sforce.com"><sessionId>{token}</sessionId></SessionHeader></se:Header><se:Body><undelete xmlns="urn:partner.soap.sforce.com"><ids>{binned}</ids></undelete></se:Body></se:Envelope>"#
    );
    let fault = s
        .http()
        .post(format!("{}/services/Soap/u/59.0", s.base()))
        .header("Content-Type", "text/xml")
        .header("SOAPAction", "undelete")
        .body(undelete)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(fault.contains("SERVER_UNAVAILABLE"), "{fault}");
    std::thread::sleep(Duration::from_secs(2));
    let down = acked();
    pg.start_server();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acked() < down + 50 {
        assert!(
            std::time::Instant::now() < deadline,
            "writes did not come back"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let seen = seen.lock().unwrap();
    assert!(before > 0, "writes went through before the restart");
    assert!(
        !seen.refused.is_empty(),
        "writes were refused while it was down"
    );
    for (status, code) in &seen.refused {
        assert_eq!(
            (*status, code.as_str()),
            (503, "SERVER_UNAVAILABLE"),
            "a write refused while the database was down"
        );
    }
    let (creates, _) = crate::events::account_creates(&s, &Default::default(), 0);
    for id in &seen.acked {
        assert_eq!(creates.get(id), Some(&1), "{id} has exactly one CREATE");
    }
    let (st, count) = crate::get(&s, "/query?q=SELECT+COUNT()+FROM+Account");
    assert_eq!(st, 200, "{count}");
    assert_eq!(
        count["totalSize"].as_u64(),
        Some(creates.len() as u64),
        "every event has its record, and no record lacks its event"
    );
    eprintln!(
        "{before} acknowledged before the restart, {} in all, {} refused while down",
        seen.acked.len(),
        seen.refused.len()
    );
}

/// PostgreSQL restarted under three nodes' load, for longer than a node's lease: every
/// node's writes are refused with `SERVER_UNAVAILABLE` while it is down and come back by
/// themselves; no org changes hands for it (every node's lease looked expired when the
/// database came back, and each waited for the others to renew theirs); every write
/// acknowledged has exactly one CREATE in its org.
#[test]
fn a_database_restarted_under_a_cluster_loses_nothing_and_moves_nothing() {
    use crate::orgs::new_org;
    let pg = Postgres::start();
    let url = pg.database();
    let nodes: Vec<forcebus_testkit::Server> = (0..3).map(|_| super::on_with(&url, 2)).collect();
    let mut tokens = vec![nodes[0].ready.access_token.clone()];
    for n in 0..2 {
        let (st, made) = new_org(&nodes[0], json!({"name": format!("restart-{n}")}));
        assert_eq!(st, 201, "{made}");
        tokens.push(made["access_token"].as_str().unwrap().to_owned());
    }
    let leases_before = super::cluster_status(&url)["orgs"].clone();
    let acked: Vec<Arc<Mutex<Vec<String>>>> = tokens.iter().map(|_| Arc::default()).collect();
    let writers: Vec<crate::events::Writers> = tokens
        .iter()
        .zip(&acked)
        .enumerate()
        .map(|(n, (token, acked))| {
            let data = nodes[n % 3].data();
            crate::events::Writers::start_at(1, &data, token, acked, &format!("O{n}"))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    pg.stop_server("fast");
    std::thread::sleep(Duration::from_secs(3));
    let down: Vec<usize> = acked.iter().map(|a| a.lock().unwrap().len()).collect();
    pg.start_server();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acked
        .iter()
        .zip(&down)
        .any(|(a, d)| a.lock().unwrap().len() < d + 20)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "writes did not come back to every org"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for w in writers {
        w.stop();
    }
    let leases_after = super::cluster_status(&url)["orgs"].clone();
    assert_eq!(leases_after, leases_before, "no org changed hands");
    for (n, (token, acked)) in tokens.iter().zip(&acked).enumerate() {
        let through = &nodes[(n + 1) % 3];
        let (st, q) = crate::orgs::rest(
            through,
            reqwest::Method::GET,
            token,
            "/query?q=SELECT+Id+FROM+Account",
            None,
        );
        assert_eq!(st, 200, "{q}");
        let ids: std::collections::HashSet<&str> = q["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Id"].as_str().unwrap())
            .collect();
        let acked = acked.lock().unwrap();
        for id in acked.iter() {
            assert!(
                ids.contains(id.as_str()),
                "org {n}: {id} acknowledged and kept"
            );
        }
        eprintln!(
            "org {n}: {} acknowledged, {} records",
            acked.len(),
            ids.len()
        );
    }
}
