//! Change events over REST: schemas by entity and by id, describeGlobal entries, the event
//! log view, and a crash test (SIGKILL during writes, several times).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use forcebus_testkit::{Options, Server};
use serde_json::{Value, json};

use crate::{Authed, bin, code, get, j, server};

/// Every event after `after`, paging through the log view.
pub(crate) fn all_events(s: &Server, mut after: u64) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let (st, body) = j(s
            .http()
            .get(format!(
                "{}/forcebus/v1/events?after={after}&limit=1000",
                s.base()
            ))
            .bearer(s)
            .send()
            .unwrap());
        assert_eq!(st, 200, "{body}");
        let page = body["events"].as_array().unwrap().clone();
        if page.is_empty() {
            return out;
        }
        after = page.last().unwrap()["replayId"].as_u64().unwrap();
        out.extend(page);
    }
}

#[test]
fn rest_writes_produce_change_events_with_their_schemas() {
    let s = server();
    let r = s
        .http()
        .post(format!("{}/sobjects/Account", s.data()))
        .bearer(&s)
        .header("Sforce-Call-Options", "client=etl-sync")
        .json(&json!({"Name": "Acme", "BillingCity": "Paris"}))
        .send()
        .unwrap();
    let (st, body) = j(r);
    assert_eq!(st, 201);
    let id = body["id"].as_str().unwrap().to_owned();
    s.http()
        .patch(format!("{}/sobjects/Account/{id}", s.data()))
        .bearer(&s)
        .json(&json!({"Phone": "555"}))
        .send()
        .unwrap();
    let events: Vec<Value> = all_events(&s, 0)
        .into_iter()
        .filter(|e| e["kind"] == "AccountChangeEvent")
        .collect();
    assert_eq!(events.len(), 2);
    let create = &events[0]["event"];
    assert_eq!(create["ChangeEventHeader"]["changeType"], "CREATE");
    assert_eq!(create["ChangeEventHeader"]["recordIds"], json!([id]));
    assert_eq!(
        create["ChangeEventHeader"]["changeOrigin"],
        "com/salesforce/api/rest/59.0;client=etl-sync"
    );
    assert_eq!(create["ChangeEventHeader"]["commitUser"], s.ready.user_id);
    assert_eq!(create["fields"]["BillingAddress"], json!({"City": "Paris"}));
    assert_eq!(
        events[1]["event"]["ChangeEventHeader"]["changedFields"],
        json!(["Phone", "LastModifiedDate"])
    );
    assert!(events[1]["avro"].as_str().is_some_and(|a| !a.is_empty()));
    assert!(events[1]["replayId"].as_u64() > events[0]["replayId"].as_u64());
    // Schemas: by entity and by id, COMPACT and EXPANDED.
    let schema_id = create["schemaId"].as_str().unwrap();
    assert_eq!(schema_id.len(), 22);
    let (st, compact) = get(
        &s,
        "/sobjects/AccountChangeEvent/eventSchema?payloadFormat=COMPACT",
    );
    assert_eq!(st, 200);
    assert_eq!(compact["uuid"], schema_id);
    assert_eq!(compact["name"], "AccountChangeEvent");
    assert_eq!(compact["fields"][0]["name"], "ChangeEventHeader");
    let (st, by_id) = get(
        &s,
        &format!("/event/eventSchema/{schema_id}?payloadFormat=COMPACT"),
    );
    assert_eq!((st, &by_id), (200, &compact));
    let (_, expanded) = get(&s, &format!("/event/eventSchema/{schema_id}"));
    assert_eq!(expanded["type"], "expanded-record");
    assert_eq!(expanded["uuid"], schema_id, "EXPANDED carries the id too");
    assert_eq!(
        expanded["fields"][0]["type"]["fields"][1]["type"]["fields"][0]["name"],
        "ChangeEventHeader"
    );
    let (st, body) = get(
        &s,
        &format!("/event/eventSchema/{schema_id}?payloadFormat=FANCY"),
    );
    assert_eq!((st, code(&body)), (400, "INVALID_INPUT"));
    let (st, body) = get(&s, "/event/eventSchema/AAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!((st, code(&body)), (404, "NOT_FOUND"));
    let (st, _) = get(&s, "/sobjects/Invoice__ChangeEvent/eventSchema");
    assert_eq!(st, 200, "custom objects have change events too");
    let (_, global) = get(&s, "/sobjects");
    let entry = global["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "AccountChangeEvent")
        .unwrap()
        .clone();
    assert_eq!(
        (
            entry["associateEntityType"].as_str(),
            entry["associateParentEntity"].as_str()
        ),
        (Some("ChangeEvent"), Some("Account"))
    );
    assert_eq!(
        (entry["queryable"].as_bool(), entry["triggerable"].as_bool()),
        (Some(false), Some(true))
    );
    let (st, _) = j(s
        .http()
        .get(format!("{}/forcebus/v1/events", s.base()))
        .send()
        .unwrap());
    assert_eq!(st, 401);
}

#[test]
fn every_acknowledged_write_has_exactly_one_event_across_sigkills() {
    let mut s = Server::start_with(
        &bin(),
        Options {
            in_memory: false,
            ..Default::default()
        },
    );
    acknowledged_writes_survive_sigkills(&mut s);
}

/// Three rounds of writers killed midway (SIGKILL): every acknowledged write is there
/// after the restart, with exactly one CREATE event; replay ids strictly increase; no
/// event disappears; every event has its record.
pub(crate) fn acknowledged_writes_survive_sigkills(s: &mut Server) {
    let acked: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let mut seen_ids: BTreeSet<u64> = BTreeSet::new();
    for round in 0..3 {
        let writers = Writers::start(3, s, &s.ready.access_token, &acked, round);
        std::thread::sleep(std::time::Duration::from_millis(300 + 200 * round));
        s.kill();
        writers.stop();
        s.restart();
        let acked = acked.lock().unwrap().clone();
        assert!(
            !acked.is_empty(),
            "round {round} acknowledged nothing; log: {}",
            s.log()
        );
        let (creates, now) = account_creates(s, &seen_ids, round);
        seen_ids = now;
        for id in &acked {
            assert_eq!(
                creates.get(id),
                Some(&1),
                "acknowledged record {id} has exactly one CREATE event"
            );
            let (st, _) = get(s, &format!("/sobjects/Account/{id}"));
            assert_eq!(st, 200, "acknowledged record {id} survived");
        }
        for id in creates.keys() {
            let (st, _) = get(s, &format!("/sobjects/Account/{id}"));
            assert_eq!(st, 200, "event for {id} has its record");
        }
        assert_eq!(creates.values().copied().max(), Some(1));
        eprintln!(
            "round {round}: {} acknowledged writes, {} events",
            acked.len(),
            seen_ids.len()
        );
    }
}

/// Threads creating Accounts through `s`'s REST API until stopped, one at a time (even
/// writers) or five per call through the composite collections API, all or none (odd
/// ones); the ids answered go to `acked` (a failed call, the server being down, waits a
/// little).
pub(crate) struct Writers {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Writers {
    pub(crate) fn start(
        n: usize,
        s: &Server,
        token: &str,
        acked: &Arc<Mutex<Vec<String>>>,
        round: u64,
    ) -> Self {
        Self::start_at(n, &s.data(), token, acked, &format!("R{round}"))
    }

    /// Writers through the data API at `data` (`http://host:port/services/data/vNN.0`),
    /// naming their Accounts after `tag`.
    pub(crate) fn start_at(
        n: usize,
        data: &str,
        token: &str,
        acked: &Arc<Mutex<Vec<String>>>,
        tag: &str,
    ) -> Self {
        let (data, token, tag) = (data.to_owned(), token.to_owned(), tag.to_owned());
        Self::spawn(n, acked, move |client, w, i| {
            if w % 2 == 0 {
                create_one(client, &data, &token, &format!("{tag} W{w} #{i}"))
            } else {
                let names: Vec<String> = (0..5).map(|k| format!("{tag} W{w} #{i}.{k}")).collect();
                create_five(client, &data, &token, &names)
            }
        })
    }

    /// `n` threads, each calling `call(client, its number, its count)` until stopped: the
    /// keys a call answers go to `acked` (a failed call, the server being down, waits a
    /// little).
    pub(crate) fn spawn(
        n: usize,
        acked: &Arc<Mutex<Vec<String>>>,
        call: impl Fn(&reqwest::blocking::Client, usize, u64) -> Option<Vec<String>>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let call = Arc::new(call);
        let threads = (0..n)
            .map(|w| {
                let (acked, stop, call) = (acked.clone(), stop.clone(), call.clone());
                std::thread::spawn(move || {
                    let client = reqwest::blocking::Client::new();
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        match call(&client, w, i) {
                            Some(keys) => acked.lock().unwrap().extend(keys),
                            None => std::thread::sleep(std::time::Duration::from_millis(20)),
                        }
                        i += 1;
                    }
                })
            })
            .collect();
        Self { stop, threads }
    }

    /// Stops them and waits for their last calls.
    pub(crate) fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
    }
}

/// One Account created through `POST /sobjects/Account`: its id, once answered 201.
fn create_one(
    client: &reqwest::blocking::Client,
    data: &str,
    token: &str,
    name: &str,
) -> Option<Vec<String>> {
    let r = client
        .post(format!("{data}/sobjects/Account"))
        .header("Authorization", format!("Bearer {token}"))
        .json(&json!({"Name": name}))
        .send()
        .ok()?;
    if r.status() != 201 {
        return None;
    }
    let body: Value = r.json().ok()?;
    Some(vec![body["id"].as_str()?.to_owned()])
}

/// Accounts created in one `POST /composite/sobjects` (all or none): their ids, once
/// every one succeeded.
fn create_five(
    client: &reqwest::blocking::Client,
    data: &str,
    token: &str,
    names: &[String],
) -> Option<Vec<String>> {
    let records: Vec<Value> = names
        .iter()
        .map(|n| json!({"attributes": {"type": "Account"}, "Name": n}))
        .collect();
    let r = client
        .post(format!("{data}/composite/sobjects"))
        .header("Authorization", format!("Bearer {token}"))
        .json(&json!({"allOrNone": true, "records": records}))
        .send()
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    let body: Value = r.json().ok()?;
    let results = body.as_array()?;
    if results.len() != names.len() || results.iter().any(|x| x["success"] != true) {
        return None;
    }
    results
        .iter()
        .map(|x| x["id"].as_str().map(str::to_owned))
        .collect()
}

/// The log's Account CREATE events by record id, after checking that replay ids strictly
/// increase and that no event of `seen` disappeared; and the replay ids now.
pub(crate) fn account_creates(
    s: &Server,
    seen: &BTreeSet<u64>,
    round: u64,
) -> (BTreeMap<String, usize>, BTreeSet<u64>) {
    let events = all_events(s, 0);
    let mut creates: BTreeMap<String, usize> = BTreeMap::new();
    let mut last = 0;
    for e in &events {
        let id = e["replayId"].as_u64().unwrap();
        assert!(id > last, "round {round}: replay ids strictly increase");
        last = id;
        let header = &e["event"]["ChangeEventHeader"];
        if e["kind"] == "AccountChangeEvent" && header["changeType"] == "CREATE" {
            for r in header["recordIds"].as_array().unwrap() {
                *creates.entry(r.as_str().unwrap().to_owned()).or_default() += 1;
            }
        }
    }
    let now: BTreeSet<u64> = events
        .iter()
        .map(|e| e["replayId"].as_u64().unwrap())
        .collect();
    assert!(seen.is_subset(&now), "round {round}: no event disappears");
    (creates, now)
}

#[test]
fn change_event_objects_describe_and_schema_changes() {
    let mut s = Server::start_with(
        &bin(),
        Options {
            in_memory: false,
            ..Default::default()
        },
    );
    let (st, info) = get(&s, "/sobjects/AccountChangeEvent");
    assert_eq!(
        (st, info["objectDescribe"]["associateParentEntity"].as_str()),
        (200, Some("Account"))
    );
    let (st, d) = get(&s, "/sobjects/AccountChangeEvent/describe");
    assert_eq!(st, 200);
    let names: Vec<&str> = d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        &names[..5],
        ["Id", "ReplayId", "ChangeEventHeader", "Name", "Type"]
    );
    assert!(
        names.contains(&"BillingAddress")
            && !names.contains(&"BillingCity")
            && !names.contains(&"SystemModstamp")
    );
    assert_eq!(d["fields"][2]["type"], "complexvalue");
    for path in [
        "/sobjects/NopeChangeEvent",
        "/sobjects/NopeChangeEvent/describe",
        "/sobjects/NopeChangeEvent/eventSchema",
    ] {
        let (st, body) = get(&s, path);
        assert_eq!((st, code(&body)), (404, "NOT_FOUND"), "{path}");
    }
    // Adding a field through the config yields a new schema id; events keep theirs, and the
    // old id stays resolvable.
    let r = s
        .http()
        .post(format!("{}/sobjects/Account", s.data()))
        .bearer(&s)
        .json(&json!({"Name": "Before"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let before = all_events(&s, 0)
        .into_iter()
        .rfind(|e| e["kind"] == "AccountChangeEvent")
        .unwrap();
    let old_id = before["event"]["schemaId"].as_str().unwrap().to_owned();
    s.set_config("[[objects.Account.fields]]\nname = \"Region__c\"\ntype = \"string\"\n");
    s.restart();
    let r = s
        .http()
        .post(format!("{}/sobjects/Account", s.data()))
        .bearer(&s)
        .json(&json!({"Name": "After", "Region__c": "EMEA"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let events: Vec<Value> = all_events(&s, 0)
        .into_iter()
        .filter(|e| e["kind"] == "AccountChangeEvent")
        .collect();
    let new_id = events.last().unwrap()["event"]["schemaId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_id, old_id);
    assert_eq!(
        events[0]["event"]["schemaId"], old_id,
        "events keep the id they were written with"
    );
    assert_eq!(
        events.last().unwrap()["event"]["fields"]["Region__c"],
        "EMEA"
    );
    let (st, old) = get(
        &s,
        &format!("/event/eventSchema/{old_id}?payloadFormat=COMPACT"),
    );
    assert_eq!(st, 200);
    assert!(
        old["fields"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["name"] != "Region__c")
    );
    let (_, new) = get(
        &s,
        &format!("/event/eventSchema/{new_id}?payloadFormat=COMPACT"),
    );
    assert!(
        new["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "Region__c")
    );
}

#[test]
fn bulk_load_mode_emits_merged_gap_events() {
    let s = server();
    let records: Vec<Value> = (0..5)
        .map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("Seed {i}")}))
        .collect();
    let (st, res) = j(s
        .http()
        .post(format!("{}/composite/sobjects", s.data()))
        .bearer(&s)
        .header("X-Forcebus-Bulk-Load", "true")
        .json(&json!({"records": records}))
        .send()
        .unwrap());
    assert_eq!(st, 200);
    let ids: Vec<&str> = res
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let events: Vec<Value> = all_events(&s, 0)
        .into_iter()
        .filter(|e| e["kind"] == "AccountChangeEvent")
        .collect();
    assert_eq!(events.len(), 1, "one gap event for the five creates");
    let h = &events[0]["event"]["ChangeEventHeader"];
    assert_eq!(h["changeType"], "GAP_CREATE");
    assert_eq!(h["recordIds"], json!(ids));
    assert_eq!(
        events[0]["event"]["fields"],
        json!({}),
        "gap events carry no body"
    );
    let (st, _) = get(&s, &format!("/sobjects/Account/{}", ids[0]));
    assert_eq!(st, 200, "the records themselves are written");
}

/// A review found: the size cap was enforced only at each retention sweep (every
/// minute), so a busy log grew many times past it. Passing the cap by a quarter wakes the
/// sweep at once. (Past the cap and a half an append sweeps the log itself; the events
/// here come to about 1.4 times the cap, so it is the sweeper that is tested.)
#[test]
fn the_size_cap_is_enforced_without_waiting_for_the_sweep_interval() {
    const CAP: f64 = 100_000.0;
    let s = Server::start_with(
        &bin(),
        Options {
            in_memory: false,
            config: Some("event_log_max_bytes = 100000\nretention_sweep_secs = 3600\n".into()),
            ..Default::default()
        },
    );
    let account = |i: usize| {
        crate::create(
            &s,
            "Account",
            json!({"Name": format!("A{i}"), "Description": "d".repeat(2000)}),
        );
    };
    let bytes = || {
        crate::metrics::value(&crate::metrics::scrape(&s), "forcebus_event_log_bytes")
            .expect("the event log's bytes are served")
    };
    account(0);
    let before = bytes();
    account(1);
    let one = bytes() - before;
    let n = ((1.4 * CAP - bytes()) / one).ceil() as usize + 2;
    for i in 2..n {
        account(i);
    }
    // Swept down to the cap when the log passed it by a quarter, then grown again by the
    // events after: within the quarter either way.
    let mut kept = f64::MAX;
    for _ in 0..50 {
        kept = bytes();
        if kept <= 1.25 * CAP {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        kept <= 1.25 * CAP,
        "{kept} bytes kept of {n} events ({one} bytes each) under a cap of {CAP}"
    );
    assert!(!all_events(&s, 0).is_empty(), "the newest events are kept");
}
