//! One scenario over both event protocols: a REST create, update and delete of an
//! Account, watched over the Streaming API (CometD long polling, JSON) and over the
//! Pub/Sub API (gRPC, Avro). Both must deliver the same three change events: the same
//! replay ids, change types, record ids, transaction keys, commit numbers and changed
//! fields.

use std::collections::HashMap;
use std::time::Duration;

use forcebus_avro::Schema;
use forcebus_pubsub::proto::{ConsumerEvent, FetchResponse, SchemaRequest};
use forcebus_testkit::Server;
use serde_json::{Value, json};

use crate::bayeux::{connect, handshake, post};
use crate::pubsub::{plaintext, request, runtime, subscribe_to_account_changes};
use crate::{Authed, create, j};

const CHANNEL: &str = "/data/AccountChangeEvent";

/// What both protocols must agree on for one change event.
#[derive(Debug, PartialEq)]
struct Change {
    replay_id: u64,
    change_type: String,
    record_ids: Vec<String>,
    transaction_key: String,
    commit_number: i64,
    /// Sorted: the set of changed fields, whatever order a protocol lists them in.
    changed_fields: Vec<String>,
}

impl Change {
    /// From an event's replay id and its `ChangeEventHeader` as JSON, with the changed
    /// fields given as names.
    fn new(replay_id: u64, header: &Value, mut changed_fields: Vec<String>) -> Self {
        changed_fields.sort();
        Self {
            replay_id,
            change_type: header["changeType"].as_str().unwrap().to_owned(),
            record_ids: strings(&header["recordIds"]),
            transaction_key: header["transactionKey"].as_str().unwrap().to_owned(),
            commit_number: header["commitNumber"].as_i64().unwrap(),
            changed_fields,
        }
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn streaming_and_pubsub_deliver_the_same_change_events() {
    let s = crate::server();
    let rt = runtime();
    let client = subscribe_over_cometd(&s);
    let (_requests, mut stream) = subscribe_to_account_changes(&rt, &s);

    let id = create(&s, "Account", json!({"Name": "Both ways"}));
    let record = format!("{}/sobjects/Account/{id}", s.data());
    let (st, body) = j(s
        .http()
        .patch(&record)
        .bearer(&s)
        .json(&json!({"Name": "Both ways, renamed", "Phone": "555-0100"}))
        .send()
        .unwrap());
    assert_eq!(st, 204, "{body}");
    let (st, body) = j(s.http().delete(&record).bearer(&s).send().unwrap());
    assert_eq!(st, 204, "{body}");

    let over_cometd = cometd_changes(&s, &client, 3);
    let over_pubsub = rt.block_on(pubsub_changes(&s, &mut stream, 3));
    assert_eq!(over_cometd, over_pubsub);
    let types: Vec<&str> = over_cometd.iter().map(|c| c.change_type.as_str()).collect();
    assert_eq!(types, ["CREATE", "UPDATE", "DELETE"]);
    assert!(over_cometd.iter().all(|c| c.record_ids == [id.as_str()]));
    assert!(
        over_cometd
            .windows(2)
            .all(|w| w[0].replay_id < w[1].replay_id)
    );
    let update = &over_cometd[1].changed_fields;
    assert!(
        update.iter().any(|f| f == "Name") && update.iter().any(|f| f == "Phone"),
        "{update:?}"
    );
}

/// A CometD client subscribed to new Account change events.
fn subscribe_over_cometd(s: &Server) -> String {
    let client = handshake(s);
    connect(s, &client, "1", json!({}));
    let auth = format!("OAuth {}", s.ready.access_token);
    let r = post(
        s,
        Some(&auth),
        "",
        json!([{"channel": "/meta/subscribe", "clientId": client, "subscription": CHANNEL, "id": "2"}]),
    );
    assert_eq!(r[0]["successful"], true, "{r}");
    client
}

/// The first `n` change events the CometD client receives.
fn cometd_changes(s: &Server, client: &str, n: usize) -> Vec<Change> {
    let mut changes = Vec::new();
    for id in 3..13 {
        let r = connect(s, client, &id.to_string(), json!({}));
        let events = r
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["channel"] == CHANNEL);
        changes.extend(events.map(|m| {
            let header = &m["data"]["payload"]["ChangeEventHeader"];
            Change::new(
                m["data"]["event"]["replayId"].as_u64().unwrap(),
                header,
                strings(&header["changedFields"]),
            )
        }));
        if changes.len() >= n {
            return changes;
        }
    }
    panic!("ten connects brought {} of {n} events", changes.len());
}

/// The first `n` change events of a Pub/Sub subscription, their Avro payloads decoded
/// with the schemas the server gives for them.
async fn pubsub_changes(
    s: &Server,
    stream: &mut tonic::Streaming<FetchResponse>,
    n: usize,
) -> Vec<Change> {
    let mut events: Vec<ConsumerEvent> = Vec::new();
    while events.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("events within 10 s");
        events.extend(next.unwrap().expect("an open stream").events);
    }
    let mut schemas: HashMap<String, Schema> = HashMap::new();
    let mut changes = Vec::new();
    for e in events {
        let event = e.event.expect("an event");
        if !schemas.contains_key(&event.schema_id) {
            schemas.insert(event.schema_id.clone(), schema(s, &event.schema_id).await);
        }
        let schema = &schemas[&event.schema_id];
        let value = forcebus_avro::decode(schema, &event.payload).unwrap();
        let payload = forcebus_avro::to_json(schema, &value);
        let header = &payload["ChangeEventHeader"];
        let changed = forcebus_avro::change::names_from_bitmap(
            schema.as_record().unwrap(),
            &strings(&header["changedFields"]),
        );
        let replay_id = forcebus_pubsub::replay::decode(&e.replay_id).unwrap();
        changes.push(Change::new(replay_id, header, changed));
    }
    changes
}

/// The schema with this id, from GetSchema.
async fn schema(s: &Server, id: &str) -> Schema {
    let info = plaintext(s)
        .await
        .get_schema(request(
            s,
            SchemaRequest {
                schema_id: id.to_owned(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    Schema::from_json(&serde_json::from_str(&info.schema_json).unwrap()).unwrap()
}
