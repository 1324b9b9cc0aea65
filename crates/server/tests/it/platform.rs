//! Platform events end to end: definitions from the config file and the metadata
//! endpoint, REST publishing and its errors, describe and schemas, collections, custom
//! event channels, and delivery over the Streaming API with replay across a restart.

use forcebus_testkit::{Options, Server};
use serde_json::{Value, json};

use crate::{Authed, CONFIG, bin, code, get, j};

pub(crate) const EVENTS: &str = r#"
[platform_events.Order_Shipped__e]
label = "Order Shipped"
fields = [
  { name = "Order_Number__c", type = "string", length = 10, required = true },
  { name = "Weight__c", type = "double", precision = 8, scale = 2 },
  { name = "Shipped_At__c", type = "datetime" },
  { name = "Fragile__c", type = "boolean" },
  { name = "Notes__c", type = "textarea", length = 2000 },
]
"#;

fn start(in_memory: bool) -> Server {
    Server::start_with(
        &bin(),
        Options {
            in_memory,
            config: Some(format!("{CONFIG}\n{EVENTS}")),
            ..Default::default()
        },
    )
}

fn publish(s: &Server, name: &str, body: Value) -> (u16, Value) {
    j(s.http()
        .post(format!("{}/sobjects/{name}", s.data()))
        .bearer(s)
        .json(&body)
        .send()
        .unwrap())
}

fn meta(s: &Server, method: reqwest::Method, name: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = s
        .http()
        .request(
            method,
            format!("{}/forcebus/v1/platform-events/{name}", s.base()),
        )
        .bearer(s);
    if let Some(b) = body {
        r = r.json(&b);
    }
    j(r.send().unwrap())
}

pub(crate) fn cometd(s: &Server, body: Value) -> Value {
    let r = s
        .http()
        .post(format!("{}/cometd/59.0", s.base()))
        .header("Authorization", format!("OAuth {}", s.ready.access_token))
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().unwrap()
}

/// Handshakes, subscribes with `replay`, and returns the client id.
pub(crate) fn subscribe(s: &Server, channel: &str, replay: i64) -> (String, Value) {
    let r = cometd(
        s,
        json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"], "id": "1"}]),
    );
    let client = r[0]["clientId"].as_str().unwrap().to_owned();
    let key = channel.split('?').next().unwrap();
    let r = cometd(
        s,
        json!([{"channel": "/meta/subscribe", "clientId": client, "subscription": channel, "id": "2",
                "ext": {"replay": {key: replay}}}]),
    );
    (client, r[0].clone())
}

/// The event messages a connect returns at once.
pub(crate) fn drain(s: &Server, client: &str) -> Vec<Value> {
    let r = cometd(
        s,
        json!([{"channel": "/meta/connect", "clientId": client, "connectionType": "long-polling", "id": "3", "advice": {"timeout": 0}}]),
    );
    r.as_array()
        .unwrap()
        .iter()
        .filter(|m| !m["channel"].as_str().unwrap().starts_with("/meta/"))
        .cloned()
        .collect()
}

#[test]
fn publishing_over_rest_and_its_errors() {
    let s = start(true);
    let (st, body) = publish(
        &s,
        "Order_Shipped__e",
        json!({"Order_Number__c": "ORD-1", "Weight__c": 2.5, "Shipped_At__c": "2024-05-02T09:15:27.481Z"}),
    );
    assert_eq!(st, 201, "{body}");
    assert!(body["id"].as_str().unwrap().starts_with("e00"), "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["errors"][0]["statusCode"], "OPERATION_ENQUEUED");
    let uuid = body["errors"][0]["message"].as_str().unwrap().to_owned();
    assert_eq!(uuid.len(), 36);
    assert_eq!(body["errors"][0]["fields"], json!([]));
    let cases = [
        (
            json!({"Nope__c": 1, "Order_Number__c": "A"}),
            "INVALID_FIELD",
        ),
        (json!({"Weight__c": 1}), "REQUIRED_FIELD_MISSING"),
        (
            json!({"Order_Number__c": "ORD-1234567890"}),
            "STRING_TOO_LONG",
        ),
        (
            json!({"Order_Number__c": "A", "Weight__c": "heavy"}),
            "JSON_PARSER_ERROR",
        ),
        (
            json!({"Order_Number__c": "A", "Shipped_At__c": "yesterday"}),
            "JSON_PARSER_ERROR",
        ),
        (
            json!({"Order_Number__c": "A", "CreatedDate": "2024-05-02T09:15:27.481Z"}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
        ),
        (
            json!({"Order_Number__c": "A", "ReplayId": "1"}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
        ),
    ];
    for (body, want) in cases {
        let (st, got) = publish(&s, "Order_Shipped__e", body.clone());
        assert_eq!((st, code(&got)), (400, want), "{body}: {got}");
    }
    let (st, _) = publish(&s, "Nope__e", json!({}));
    assert_eq!(st, 404);
    // Events are not records: no query, no retrieve.
    let (st, body) = get(&s, "/query?q=SELECT+Id+FROM+Order_Shipped__e");
    assert_eq!((st, code(&body)), (400, "INVALID_TYPE"), "{body}");
    // Exactly one event reached the log: the valid one.
    let (client, sub) = subscribe(&s, "/event/Order_Shipped__e", -2);
    assert_eq!(sub["successful"], true, "{sub}");
    let got = drain(&s, &client);
    assert_eq!(got.len(), 1, "{got:?}");
    let m = &got[0];
    assert_eq!(m["channel"], "/event/Order_Shipped__e");
    assert_eq!(m["data"]["event"]["EventUuid"], json!(uuid));
    assert!(m["data"]["event"]["replayId"].is_u64());
    let p = &m["data"]["payload"];
    assert_eq!(p["Order_Number__c"], "ORD-1");
    assert_eq!(p["Weight__c"], 2.5);
    assert_eq!(p["Shipped_At__c"], "2024-05-02T09:15:27.481Z");
    assert_eq!(p["Fragile__c"], false);
    assert_eq!(p["Notes__c"], Value::Null);
    assert!(p["CreatedDate"].as_str().unwrap().ends_with('Z'));
    assert_eq!(p["CreatedById"].as_str().unwrap().len(), 18);
    let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "CreatedDate",
            "CreatedById",
            "Order_Number__c",
            "Weight__c",
            "Shipped_At__c",
            "Fragile__c",
            "Notes__c"
        ]
    );
    // The message names the schema it was published with, served over REST.
    let schema_id = m["data"]["schema"].as_str().unwrap();
    let (st, schema) = get(
        &s,
        &format!("/event/eventSchema/{schema_id}?payloadFormat=COMPACT"),
    );
    assert_eq!(st, 200, "{schema}");
    assert_eq!(schema["name"], "Order_Shipped__e");
    assert_eq!(schema["uuid"], schema_id);
    assert_eq!(
        schema["fields"][0],
        json!({"name": "CreatedDate", "type": "long", "doc": "CreatedDate:DateTime"})
    );
    let (st, by_name) = get(
        &s,
        "/sobjects/Order_Shipped__e/eventSchema?payloadFormat=COMPACT",
    );
    assert_eq!((st, &by_name), (200, &schema));
    // Endpoints before API 52.0 leave EventUuid out of data.event.
    let old = |body: Value| -> Value {
        s.http()
            .post(format!("{}/cometd/45.0", s.base()))
            .header("Authorization", format!("OAuth {}", s.ready.access_token))
            .json(&body)
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let r = old(
        json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"], "id": "1"}]),
    );
    let c45 = r[0]["clientId"].as_str().unwrap().to_owned();
    old(
        json!([{"channel": "/meta/subscribe", "clientId": c45, "subscription": "/event/Order_Shipped__e", "id": "2",
                "ext": {"replay": {"/event/Order_Shipped__e": -2}}}]),
    );
    let r = old(
        json!([{"channel": "/meta/connect", "clientId": c45, "connectionType": "long-polling", "id": "3", "advice": {"timeout": 0}}]),
    );
    let mut legacy = m["data"].clone();
    legacy["event"].as_object_mut().unwrap().remove("EventUuid");
    assert_eq!(r[0]["data"], legacy, "{r}");
}

#[test]
fn describe_and_collections() {
    let s = start(true);
    let (st, d) = get(&s, "/sobjects/Order_Shipped__e/describe");
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["name"], "Order_Shipped__e");
    assert_eq!(d["keyPrefix"], "e00");
    assert_eq!(
        (d["createable"].as_bool(), d["queryable"].as_bool()),
        (Some(true), Some(false))
    );
    let names: Vec<&str> = d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        &names[..4],
        ["ReplayId", "CreatedDate", "CreatedById", "EventUuid"]
    );
    assert!(names.contains(&"Order_Number__c"));
    let (_, global) = get(&s, "/sobjects");
    assert!(
        global["sobjects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "Order_Shipped__e")
    );
    let post = |body: Value| -> (u16, Value) {
        j(s.http()
            .post(format!("{}/composite/sobjects", s.data()))
            .bearer(&s)
            .json(&body)
            .send()
            .unwrap())
    };
    let (client, _) = subscribe(&s, "/event/Order_Shipped__e", -1);
    // A mix of an event and a record, both fine.
    let (st, r) = post(json!({"allOrNone": true, "records": [
        {"attributes": {"type": "Order_Shipped__e"}, "Order_Number__c": "A"},
        {"attributes": {"type": "Account"}, "Name": "Mixed"},
        {"attributes": {"type": "Order_Shipped__e"}, "Order_Number__c": "B"},
    ]}));
    assert_eq!(st, 200, "{r}");
    assert_eq!(r[0]["errors"][0]["statusCode"], "OPERATION_ENQUEUED");
    assert!(r[1]["id"].as_str().unwrap().starts_with("001"));
    assert_eq!(r[2]["success"], true);
    let got: Vec<Value> = drain(&s, &client)
        .iter()
        .map(|m| m["data"]["payload"]["Order_Number__c"].clone())
        .collect();
    assert_eq!(got, [json!("A"), json!("B")]);
    // allOrNone with one bad event: nothing is published or written.
    let (st, r) = post(json!({"allOrNone": true, "records": [
        {"attributes": {"type": "Order_Shipped__e"}, "Order_Number__c": "C"},
        {"attributes": {"type": "Account"}, "Name": "Never"},
        {"attributes": {"type": "Order_Shipped__e"}},
    ]}));
    assert_eq!(st, 200);
    assert_eq!(
        r[0]["errors"][0]["statusCode"], "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "{r}"
    );
    assert_eq!(
        r[1]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(r[2]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING");
    // allOrNone with a bad record: no event either.
    let (_, r) = post(json!({"allOrNone": true, "records": [
        {"attributes": {"type": "Order_Shipped__e"}, "Order_Number__c": "D"},
        {"attributes": {"type": "Account"}},
    ]}));
    assert_eq!(
        r[0]["errors"][0]["statusCode"], "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "{r}"
    );
    assert_eq!(r[1]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING");
    // Without allOrNone the good ones go through.
    let (_, r) = post(json!({"records": [
        {"attributes": {"type": "Order_Shipped__e"}, "Order_Number__c": "E"},
        {"attributes": {"type": "Order_Shipped__e"}, "Order_Number__c": "TOO LONG VALUE"},
    ]}));
    assert_eq!(r[0]["success"], true);
    assert_eq!(r[1]["errors"][0]["statusCode"], "STRING_TOO_LONG");
    let got: Vec<Value> = drain(&s, &client)
        .iter()
        .map(|m| m["data"]["payload"]["Order_Number__c"].clone())
        .collect();
    assert_eq!(got, [json!("E")]);
    let (_, q) = get(&s, "/query?q=SELECT+Id+FROM+Account+WHERE+Name+=+'Never'");
    assert_eq!(q["totalSize"], 0);
}

#[test]
fn runtime_definitions_new_schema_ids_channels_and_restart() {
    let mut s = start(false);
    let (st, body) = meta(
        &s,
        reqwest::Method::PUT,
        "Low_Ink__e",
        Some(json!({"label": "Low Ink", "fields": [
            {"name": "Printer_Model__c", "type": "string", "length": 20},
        ]})),
    );
    assert_eq!(st, 201, "{body}");
    let first_id = body["schemaId"].as_str().unwrap().to_owned();
    assert_eq!(body["keyPrefix"], "e01");
    let (st, _) = publish(&s, "Low_Ink__e", json!({"Printer_Model__c": "XZO-5"}));
    assert_eq!(st, 201);
    let (st, body) = meta(
        &s,
        reqwest::Method::PUT,
        "Low_Ink__e",
        Some(json!({"label": "Low Ink", "fields": [
            {"name": "Printer_Model__c", "type": "string", "length": 20},
            {"name": "Ink_Percentage__c", "type": "double", "precision": 5, "scale": 2},
        ]})),
    );
    assert_eq!(st, 200, "{body}");
    let second_id = body["schemaId"].as_str().unwrap().to_owned();
    assert_ne!(first_id, second_id, "a field change gives a new schema id");
    let (st, _) = publish(
        &s,
        "Low_Ink__e",
        json!({"Printer_Model__c": "XZO-6", "Ink_Percentage__c": 0.2}),
    );
    assert_eq!(st, 201);
    // Bad definitions are refused and change nothing.
    for bad in [
        json!({"fields": [{"name": "P__c", "type": "picklist", "picklist": ["a"]}]}),
        json!({"fields": [{"name": "NoSuffix", "type": "string"}]}),
        json!({"nope": 1}),
    ] {
        let (st, body) = meta(&s, reqwest::Method::PUT, "Low_Ink__e", Some(bad.clone()));
        assert_eq!(st, 400, "{bad}: {body}");
    }
    let (st, _) = meta(&s, reqwest::Method::PUT, "Account", Some(json!({})));
    assert_eq!(st, 400);
    // A custom event channel with the event as member.
    let tooling = |object: &str, body: Value| {
        j(s.http()
            .post(format!("{}/tooling/sobjects/{object}", s.data()))
            .bearer(&s)
            .json(&body)
            .send()
            .unwrap())
    };
    let (st, b) = tooling(
        "PlatformEventChannel",
        json!({"FullName": "Printers__chn", "Metadata": {"channelType": "event", "label": "Printers"}}),
    );
    assert_eq!(st, 201, "{b}");
    let (st, b) = tooling(
        "PlatformEventChannelMember",
        json!({"FullName": "Printers_chn_Low_Ink_e", "Metadata": {"eventChannel": "Printers__chn", "selectedEntity": "AccountChangeEvent"}}),
    );
    assert_eq!(st, 400, "an event channel takes platform events: {b}");
    let (st, b) = tooling(
        "PlatformEventChannelMember",
        json!({"FullName": "Printers_chn_Low_Ink_e", "Metadata": {"eventChannel": "Printers__chn", "selectedEntity": "Low_Ink__e"}}),
    );
    assert_eq!(st, 201, "{b}");
    let (st, _) = meta(&s, reqwest::Method::DELETE, "Low_Ink__e", None);
    assert_eq!(st, 400, "a member selects it");
    s.restart();
    let (st, list) = j(s
        .http()
        .get(format!("{}/forcebus/v1/platform-events", s.base()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 200);
    let names: Vec<&str> = list["platformEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Low_Ink__e", "Order_Shipped__e"],
        "runtime definitions survive a restart"
    );
    for channel in ["/event/Low_Ink__e", "/event/Printers__chn"] {
        let (client, sub) = subscribe(&s, channel, -2);
        assert_eq!(sub["successful"], true, "{sub}");
        let got = drain(&s, &client);
        let schemas: Vec<&str> = got
            .iter()
            .map(|m| m["data"]["schema"].as_str().unwrap())
            .collect();
        assert_eq!(
            schemas,
            [first_id.as_str(), second_id.as_str()],
            "{channel}: events keep their schema"
        );
        assert!(got.iter().all(|m| m["channel"] == channel));
        assert_eq!(got[1]["data"]["payload"]["Ink_Percentage__c"], 0.2);
        assert_eq!(got[0]["data"]["payload"].get("Ink_Percentage__c"), None);
    }
    let (st, old) = get(
        &s,
        &format!("/event/eventSchema/{first_id}?payloadFormat=COMPACT"),
    );
    assert_eq!(st, 200, "old schema ids stay resolvable");
    assert_eq!(old["fields"].as_array().unwrap().len(), 3);
    // Unknown channels, and names are case-sensitive.
    let (_, sub) = subscribe(&s, "/event/low_ink__e", -1);
    assert_eq!(
        sub["error"],
        "400::The channel you requested to subscribe to does not exist {/event/low_ink__e}"
    );
    let (_, sub) = subscribe(&s, "/event/Nope__chn", -1);
    assert_eq!(sub["successful"], false);
}

/// A review found: a platform event definition took 5,000 fields. Salesforce's
/// allocations hold: 800 custom fields an event, 100 definitions an org.
#[test]
fn definitions_keep_salesforces_limits() {
    let s = start(true);
    let fields = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"name": format!("F{i}__c"), "type": "string"}))
            .collect()
    };
    let (st, body) = meta(
        &s,
        reqwest::Method::PUT,
        "Wide__e",
        Some(json!({"fields": fields(5_000)})),
    );
    assert_eq!(st, 400, "{body}");
    assert!(
        body[0]["message"].as_str().unwrap().contains("at most 800"),
        "{body}"
    );
    let (st, body) = meta(
        &s,
        reqwest::Method::PUT,
        "Wide__e",
        Some(json!({"fields": fields(800)})),
    );
    assert_eq!(st, 201, "{body}");
    let (_, all) = meta(&s, reqwest::Method::GET, "", None);
    let existing = all["platformEvents"].as_array().map_or(0, Vec::len);
    for i in existing..100 {
        let (st, body) = meta(
            &s,
            reqwest::Method::PUT,
            &format!("Many{i}__e"),
            Some(json!({})),
        );
        assert_eq!(st, 201, "{body}");
    }
    let (st, body) = meta(&s, reqwest::Method::PUT, "OneTooMany__e", Some(json!({})));
    assert_eq!(st, 400, "{body}");
    assert!(
        body[0]["message"].as_str().unwrap().contains("at most 100"),
        "{body}"
    );
    // Replacing an existing one is still allowed at the limit.
    let (st, body) = meta(
        &s,
        reqwest::Method::PUT,
        "Many99__e",
        Some(json!({"label": "x"})),
    );
    assert_eq!(st, 200, "{body}");
}
