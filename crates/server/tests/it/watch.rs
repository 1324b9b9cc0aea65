//! forcebus's views of an org's live state (the console's): who is subscribed and how far
//! behind, every schema id each event type has had, and the journal of recent calls.

use std::time::Duration;

use serde_json::{Value, json};

use crate::bayeux::{connect, handshake, oauth, post};
use crate::{Authed, create, get, j, server};

fn view(s: &forcebus_testkit::Server, path: &str, token: &str) -> (u16, Value) {
    j(s.http()
        .get(format!("{}/forcebus/v1/{path}", s.base()))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .unwrap())
}

/// Polls `path` until `ok` holds for its body (a few seconds at most).
fn until(s: &forcebus_testkit::Server, path: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let token = s.ready.access_token.clone();
    for _ in 0..100 {
        let (st, v) = view(s, path, &token);
        assert_eq!(st, 200, "{v}");
        if ok(&v) {
            return v;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{path} never showed what was waited for");
}

#[test]
fn subscribers_show_their_channel_position_and_lag() {
    let s = server();
    let (st, _) = view(&s, "subscribers", "not-a-token");
    assert_eq!(st, 401);
    let client = handshake(&s);
    let r = post(
        &s,
        Some(&oauth(&s)),
        "",
        json!([{"channel": "/meta/subscribe", "clientId": client, "subscription": "/data/AccountChangeEvent", "id": "2"}]),
    );
    assert_eq!(r[0]["successful"], true, "{r}");
    let rt = crate::pubsub::runtime();
    let (_tx, _stream) = crate::pubsub::subscribe_to_account_changes(&rt, &s);
    let both = until(&s, "subscribers", |v| {
        v["subscribers"].as_array().is_some_and(|a| a.len() == 2)
    });
    let subs = both["subscribers"].as_array().unwrap();
    let cometd = subs.iter().find(|x| x["protocol"] == "cometd").unwrap();
    assert_eq!(cometd["id"], client.as_str());
    assert_eq!(cometd["channel"], "/data/AccountChangeEvent");
    assert_eq!(cometd["user"], s.ready.user_id.as_str());
    assert_eq!(cometd["lagEvents"], 0);
    assert!(
        cometd["address"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:")),
        "{cometd}"
    );
    let pubsub = subs.iter().find(|x| x["protocol"] == "pubsub").unwrap();
    assert_eq!(pubsub["channel"], "/data/AccountChangeEvent");
    assert!(
        pubsub["address"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:")),
        "{pubsub}"
    );

    // Two changes the CometD client has not fetched: it is two events behind, the
    // Pub/Sub stream (with credit) takes them at once. A Contact is on no one's channel.
    create(&s, "Account", json!({"Name": "One"}));
    create(&s, "Contact", json!({"LastName": "Elsewhere"}));
    create(&s, "Account", json!({"Name": "Two"}));
    let behind = until(&s, "subscribers", |v| {
        v["subscribers"].as_array().unwrap().iter().any(|x| {
            x["protocol"] == "pubsub" && x["lagEvents"] == 0 && x["replayId"].as_u64() > Some(0)
        })
    });
    let cometd = behind["subscribers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["protocol"] == "cometd")
        .unwrap()
        .clone();
    assert_eq!(cometd["lagEvents"], 2, "{cometd}");
    assert!(cometd["lagSeconds"].as_f64().is_some_and(|l| l >= 0.0));
    let r = connect(&s, &client, "3", json!({"timeout": 0}));
    assert_eq!(r.as_array().unwrap().len(), 3, "{r}");
    let caught_up = until(&s, "subscribers", |v| {
        v["subscribers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["protocol"] == "cometd" && x["lagEvents"] == 0)
    });
    let cometd = caught_up["subscribers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["protocol"] == "cometd")
        .unwrap();
    assert_eq!(caught_up["lastReplayId"], cometd["replayId"]);
}

#[test]
fn schemas_list_every_id_an_event_type_has_had() {
    let s = crate::server_with(
        "[platform_events.Ping__e]\nlabel = \"Ping\"\nfields = [{ name = \"Note__c\", type = \"string\", length = 20 }]\n",
    );
    let (_, before) = get(&s, "/sobjects/AccountChangeEvent/eventSchema");
    let (st, made) = j(s
        .http()
        .post(format!("{}/tooling/sobjects/CustomField", s.data()))
        .bearer(&s)
        .json(&json!({"FullName": "Account.Watched__c", "Metadata": {"label": "Watched", "type": "Text", "length": 10}}))
        .send()
        .unwrap());
    assert_eq!(st, 201, "{made}");
    let (_, after) = get(&s, "/sobjects/AccountChangeEvent/eventSchema");
    let (st, v) = view(&s, "schemas", &s.ready.access_token);
    assert_eq!(st, 200, "{v}");
    let account = v["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "AccountChangeEvent")
        .unwrap();
    assert_eq!(account["kind"], "change");
    assert_eq!(account["current"], after["uuid"]);
    let ids: Vec<&str> = account["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&before["uuid"].as_str().unwrap()));
    assert_eq!(
        ids.last(),
        after["uuid"].as_str().as_ref(),
        "the current one last"
    );
    let shipped = v["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "Ping__e")
        .unwrap();
    assert_eq!(shipped["kind"], "platform");
}

#[test]
fn the_journal_keeps_recent_calls_with_their_errors_and_no_secrets() {
    let s = server();
    create(&s, "Account", json!({"Name": "Journalled"}));
    let (st, _) = get(&s, "/sobjects/Nope__c/describe");
    assert_eq!(st, 404);
    let st = s
        .http()
        .post(format!(
            "{}/services/oauth2/revoke?token=secret-value",
            s.base()
        ))
        .send()
        .unwrap()
        .status();
    assert_eq!(st, 400);
    let (st, v) = view(&s, "requests?limit=10", &s.ready.access_token);
    assert_eq!(st, 200, "{v}");
    let calls = v["requests"].as_array().unwrap();
    let revoke = &calls[0];
    assert_eq!(revoke["method"], "POST");
    assert!(
        !revoke["path"].as_str().unwrap().contains("secret-value"),
        "{revoke}"
    );
    let missing = &calls[1];
    assert_eq!(missing["status"], 404);
    assert_eq!(missing["error"][0]["errorCode"], "NOT_FOUND", "{missing}");
    let created = &calls[2];
    assert_eq!(
        (created["method"].as_str(), created["status"].as_u64()),
        (Some("POST"), Some(201))
    );
    assert!(created["error"].is_null());
    assert!(created["millis"].as_f64().is_some());
    assert!(
        calls
            .iter()
            .all(|c| !c["path"].as_str().unwrap().starts_with("/forcebus/v1/")),
        "the console's own reads are not journalled"
    );
}
