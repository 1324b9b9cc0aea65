//! Runtime CDC selection and custom channels through the tooling sObjects
//! PlatformEventChannel and PlatformEventChannelMember: filters, enrichment, validation.

use forcebus_testkit::{Options, Server};
use serde_json::{Value, json};

use crate::{Authed, bin, code, j};

fn tooling(s: &Server, object: &str, body: Value) -> (u16, Value) {
    j(s.http()
        .post(format!("{}/tooling/sobjects/{object}", s.data()))
        .bearer(s)
        .json(&body)
        .send()
        .unwrap())
}

fn channel_events(s: &Server, channel: &str) -> Vec<Value> {
    let (st, body) = j(s
        .http()
        .get(format!("{}/forcebus/v1/events", s.base()))
        .query(&[("channel", channel), ("limit", "1000")])
        .bearer(s)
        .send()
        .unwrap());
    assert_eq!(st, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

fn write(s: &Server, method: reqwest::Method, path: &str, body: Value) -> Value {
    let r = s
        .http()
        .request(method, format!("{}{path}", s.data()))
        .bearer(s)
        .json(&body)
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().unwrap_or(Value::Null)
}

#[test]
fn custom_channels_filter_and_enrich() {
    let s = Server::start_with(
        &bin(),
        Options {
            in_memory: true,
            ..Default::default()
        },
    );
    let (st, ch) = tooling(
        &s,
        "PlatformEventChannel",
        json!({"FullName": "SalesEvents__chn", "Metadata": {"channelType": "data", "label": "Sales Events"}}),
    );
    assert_eq!(st, 201, "{ch}");
    assert!(ch["id"].as_str().unwrap().starts_with("0YL"));
    assert_eq!(ch["warnings"], json!([]));
    let member = json!({"FullName": "SalesEvents_chn_AccountChangeEvent", "Metadata": {
        "eventChannel": "SalesEvents__chn", "selectedEntity": "AccountChangeEvent",
        "filterExpression": "Industry = 'Agriculture' AND NumberOfEmployees > 1000",
        "enrichedFields": [{"name": "Name"}, {"name": "Industry"}],
    }});
    let (st, m) = tooling(&s, "PlatformEventChannelMember", member);
    assert_eq!(st, 201, "{m}");
    let member_id = m["id"].as_str().unwrap().to_owned();
    assert!(member_id.starts_with("0v8"));
    let (st, q) = j(s.http().get(format!("{}/tooling/query", s.data())).query(&[("q", "SELECT Id, DeveloperName, EventChannel, SelectedEntity, FilterExpression FROM PlatformEventChannelMember")]).bearer(&s).send().unwrap());
    assert_eq!(st, 200, "{q}");
    assert_eq!(q["records"][0]["SelectedEntity"], "AccountChangeEvent");
    assert_eq!(q["records"][0]["EventChannel"], "SalesEvents__chn");
    let (st, body) = j(s
        .http()
        .get(format!("{}/query", s.data()))
        .query(&[("q", "SELECT Id FROM PlatformEventChannelMember")])
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(
        (st, code(&body)),
        (400, "INVALID_TYPE"),
        "a tooling object, not a data object"
    );
    let (st, got) = j(s
        .http()
        .get(format!(
            "{}/tooling/sobjects/PlatformEventChannelMember/{member_id}",
            s.data()
        ))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 200);
    assert_eq!(
        got["Metadata"]["enrichedFields"],
        json!([{"name": "Name"}, {"name": "Industry"}])
    );

    let farm = write(
        &s,
        reqwest::Method::POST,
        "/sobjects/Account",
        json!({"Name": "Farm", "Industry": "Agriculture", "NumberOfEmployees": 5000}),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    write(
        &s,
        reqwest::Method::POST,
        "/sobjects/Account",
        json!({"Name": "Small Farm", "Industry": "Agriculture", "NumberOfEmployees": 10}),
    );
    write(
        &s,
        reqwest::Method::POST,
        "/sobjects/Account",
        json!({"Name": "Oil", "Industry": "Energy", "NumberOfEmployees": 9000}),
    );
    write(
        &s,
        reqwest::Method::PATCH,
        &format!("/sobjects/Account/{farm}"),
        json!({"Phone": "555"}),
    );
    let events = channel_events(&s, "/data/SalesEvents__chn");
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| {
            e["event"]["ChangeEventHeader"]["changeType"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        kinds,
        ["CREATE", "UPDATE"],
        "only the record that passes the filter"
    );
    let update = &events[1]["event"];
    assert_eq!(update["fields"]["Phone"], "555");
    assert_eq!(
        (
            update["fields"]["Name"].as_str(),
            update["fields"]["Industry"].as_str()
        ),
        (Some("Farm"), Some("Agriculture")),
        "enriched fields added to updates"
    );
    assert_eq!(
        channel_events(&s, "/data/AccountChangeEvent").len(),
        4,
        "the standard channel shows everything"
    );
    let plain = channel_events(&s, "/data/AccountChangeEvent");
    assert!(
        plain[3]["event"]["fields"].get("Industry").is_none(),
        "enrichment belongs to the custom channel"
    );
    // Updating the filter applies to later changes.
    let r = s
        .http()
        .patch(format!(
            "{}/tooling/sobjects/PlatformEventChannelMember/{member_id}",
            s.data()
        ))
        .bearer(&s)
        .json(&json!({"Metadata": {"filterExpression": "ChangeEventHeader.changeType = 'DELETE'"}}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    write(
        &s,
        reqwest::Method::PATCH,
        &format!("/sobjects/Account/{farm}"),
        json!({"Phone": "556"}),
    );
    s.http()
        .delete(format!("{}/sobjects/Account/{farm}", s.data()))
        .bearer(&s)
        .send()
        .unwrap();
    let events = channel_events(&s, "/data/SalesEvents__chn");
    assert_eq!(
        events[1]["event"]["fields"]["NumberOfEmployees"], 5000,
        "fields the filter names are enriched"
    );
    assert_eq!(
        events.last().unwrap()["event"]["ChangeEventHeader"]["changeType"],
        "DELETE"
    );
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[2]["event"]["fields"]["Name"], "Farm",
        "deletes are enriched too"
    );
}

#[test]
fn runtime_selection_and_validation() {
    let s = Server::start_with(
        &bin(),
        Options {
            in_memory: true,
            config: Some("cdc_entities = [\"Account\"]\n".into()),
            ..Default::default()
        },
    );
    write(
        &s,
        reqwest::Method::POST,
        "/sobjects/Contact",
        json!({"LastName": "Before"}),
    );
    let (st, body) = j(s
        .http()
        .get(format!("{}/forcebus/v1/events", s.base()))
        .query(&[("channel", "/data/ContactChangeEvent")])
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(
        (st, code(&body)),
        (404, "NOT_FOUND"),
        "Contact is not selected"
    );
    let (st, m) = tooling(
        &s,
        "PlatformEventChannelMember",
        json!({"FullName": "ChangeEvents_ContactChangeEvent", "Metadata": {"eventChannel": "ChangeEvents", "selectedEntity": "ContactChangeEvent"}}),
    );
    assert_eq!(st, 201, "{m}");
    write(
        &s,
        reqwest::Method::POST,
        "/sobjects/Contact",
        json!({"LastName": "After"}),
    );
    let events = channel_events(&s, "/data/ContactChangeEvent");
    assert_eq!(events.len(), 1, "only changes after the selection");
    assert_eq!(events[0]["event"]["fields"]["Name"]["LastName"], "After");
    let cases = [
        (
            "PlatformEventChannel",
            json!({"FullName": "NoSuffix", "Metadata": {"channelType": "data"}}),
        ),
        (
            "PlatformEventChannelMember",
            json!({"FullName": "X", "Metadata": {"eventChannel": "Nope__chn", "selectedEntity": "AccountChangeEvent"}}),
        ),
        (
            "PlatformEventChannelMember",
            json!({"FullName": "Y", "Metadata": {"eventChannel": "ChangeEvents", "selectedEntity": "NopeChangeEvent"}}),
        ),
        (
            "PlatformEventChannelMember",
            json!({"FullName": "Z", "Metadata": {"eventChannel": "ChangeEvents", "selectedEntity": "AccountChangeEvent", "filterExpression": "Bogus__c = 1"}}),
        ),
        (
            "PlatformEventChannelMember",
            json!({"FullName": "W", "Metadata": {"eventChannel": "ChangeEvents", "selectedEntity": "AccountChangeEvent", "enrichedFields": (0..11).map(|i| json!({"name": format!("F{i}")})).collect::<Vec<_>>()}}),
        ),
        ("ApexClass", json!({})),
    ];
    for (object, body) in cases {
        let (st, resp) = tooling(&s, object, body.clone());
        assert!(st == 400 || st == 404, "{object} {body} -> {st} {resp}");
    }
    let (st, ch) = tooling(
        &s,
        "PlatformEventChannel",
        json!({"FullName": "Ops__chn", "Metadata": {"channelType": "data", "label": "Ops"}}),
    );
    assert_eq!(st, 201);
    let (_, m) = tooling(
        &s,
        "PlatformEventChannelMember",
        json!({"FullName": "Ops_chn_AccountChangeEvent", "Metadata": {"eventChannel": "Ops__chn", "selectedEntity": "AccountChangeEvent"}}),
    );
    let member = m["id"].as_str().unwrap().to_owned();
    let r = s
        .http()
        .patch(format!(
            "{}/tooling/sobjects/PlatformEventChannelMember/{member}",
            s.data()
        ))
        .bearer(&s)
        .json(&json!({"Metadata": {"selectedEntity": "ContactChangeEvent"}}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400, "SelectedEntity cannot be updated");
    let channel = ch["id"].as_str().unwrap();
    let r = s
        .http()
        .delete(format!(
            "{}/tooling/sobjects/PlatformEventChannel/{channel}",
            s.data()
        ))
        .bearer(&s)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400, "a channel with members cannot be deleted");
    let r = s
        .http()
        .delete(format!(
            "{}/tooling/sobjects/PlatformEventChannelMember/{member}",
            s.data()
        ))
        .bearer(&s)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = s
        .http()
        .delete(format!(
            "{}/tooling/sobjects/PlatformEventChannel/{channel}",
            s.data()
        ))
        .bearer(&s)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let (st, _) = j(s
        .http()
        .get(format!(
            "{}/tooling/sobjects/PlatformEventChannel/{channel}",
            s.data()
        ))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 404);
}
