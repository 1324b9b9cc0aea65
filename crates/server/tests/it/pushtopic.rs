//! PushTopics over REST (create, update, delete, query, validation errors) and their
//! notifications on `/topic/{Name}` over the Streaming API, with replay and filters.

use serde_json::{Value, json};

use crate::platform::{drain, subscribe};
use crate::{Authed, code, create, get, j, server};

#[test]
fn push_topics_are_records_with_checked_queries() {
    let s = server();
    let id = create(
        &s,
        "PushTopic",
        json!({"Name": "AccountUpdates", "Query": "SELECT Id, Name, Industry FROM Account WHERE Industry = 'Technology'", "ApiVersion": 59.0}),
    );
    assert!(id.starts_with("0IF"), "{id}");
    let (st, r) = get(&s, &format!("/sobjects/PushTopic/{id}"));
    assert_eq!(st, 200);
    assert_eq!(r["NotifyForFields"], "Referenced");
    assert_eq!(r["NotifyForOperations"], "All");
    assert_eq!(r["IsActive"], true);
    assert_eq!(r["NotifyForOperationUndelete"], true);
    for path in ["/query", "/tooling/query"] {
        let (st, q) = get(
            &s,
            &format!("{path}?q=SELECT+Id,Name,Query,NotifyForFields+FROM+PushTopic"),
        );
        assert_eq!(st, 200, "{path}: {q}");
        assert_eq!(q["records"][0]["Name"], "AccountUpdates");
    }
    let bad = [
        (
            json!({"Name": "A", "Query": "SELECT Name FROM Account", "ApiVersion": 59.0}),
            "INVALID_FIELD",
        ),
        (
            json!({"Name": "B", "Query": "SELECT Id, Name FROM Account ORDER BY Name", "ApiVersion": 59.0}),
            "INVALID_FIELD",
        ),
        (
            json!({"Name": "AccountUpdates", "Query": "SELECT Id, Name FROM Account", "ApiVersion": 59.0}),
            "DUPLICATE_VALUE",
        ),
        (
            json!({"Name": "C".repeat(26), "Query": "SELECT Id, Name FROM Account", "ApiVersion": 59.0}),
            "STRING_TOO_LONG",
        ),
        (
            json!({"Name": "D", "Query": "SELECT Id, Name FROM Account", "ApiVersion": 59.0, "NotifyForFields": "Nope"}),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ),
        (
            json!({"Name": "E", "Query": "SELECT Id, Name FROM Account"}),
            "REQUIRED_FIELD_MISSING",
        ),
    ];
    for (body, want) in bad {
        let (st, got) = j(s
            .http()
            .post(format!("{}/sobjects/PushTopic", s.data()))
            .bearer(&s)
            .json(&body)
            .send()
            .unwrap());
        assert_eq!((st, code(&got)), (400, want), "{body}: {got}");
    }
    let (st, _) = j(s
        .http()
        .patch(format!("{}/sobjects/PushTopic/{id}", s.data()))
        .bearer(&s)
        .json(&json!({"NotifyForOperationDelete": false}))
        .send()
        .unwrap());
    assert_eq!(st, 204);
    let (_, r) = get(&s, &format!("/sobjects/PushTopic/{id}"));
    assert_eq!(r["NotifyForOperations"], "Extended");
    // Collections create and delete topics too.
    let (st, r) = j(s.http().post(format!("{}/composite/sobjects", s.data())).bearer(&s).json(&json!({"records": [
        {"attributes": {"type": "PushTopic"}, "Name": "X", "Query": "SELECT Id, Name FROM Contact", "ApiVersion": 59.0},
        {"attributes": {"type": "PushTopic"}, "Name": "Y", "Query": "SELECT Id FROM Contact LIMIT 1", "ApiVersion": 59.0},
    ]})).send().unwrap());
    assert_eq!(st, 200);
    assert_eq!(r[0]["success"], true, "{r}");
    assert_eq!(r[1]["errors"][0]["statusCode"], "INVALID_FIELD");
    let x = r[0]["id"].as_str().unwrap();
    let (st, _) = j(s
        .http()
        .delete(format!("{}/composite/sobjects?ids={x}", s.data()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 200);
    let (_, sub) = subscribe(&s, "/topic/X", -1);
    assert_eq!(
        sub["error"],
        "400::The channel you requested to subscribe to does not exist {/topic/X}"
    );
}

fn types(msgs: &[Value]) -> Vec<String> {
    msgs.iter()
        .map(|m| m["data"]["event"]["type"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn notifications_over_the_streaming_api() {
    let s = server();
    create(
        &s,
        "PushTopic",
        json!({"Name": "TechAccounts", "Query": "SELECT Id, Name, Industry FROM Account WHERE Industry = 'Technology'", "ApiVersion": 59.0}),
    );
    let (client, sub) = subscribe(&s, "/topic/TechAccounts", -1);
    assert_eq!(sub["successful"], true, "{sub}");
    let (filtered, sub) = subscribe(&s, "/topic/TechAccounts?Name=Acme", -1);
    assert_eq!(sub["successful"], true, "{sub}");
    assert_eq!(sub["subscription"], "/topic/TechAccounts?Name=Acme");
    let id = create(
        &s,
        "Account",
        json!({"Name": "Acme", "Industry": "Technology"}),
    );
    create(
        &s,
        "Account",
        json!({"Name": "Farm", "Industry": "Agriculture"}),
    );
    let other = create(
        &s,
        "Account",
        json!({"Name": "Other", "Industry": "Technology"}),
    );
    let patch = |id: &str, body: Value| {
        let r = s
            .http()
            .patch(format!("{}/sobjects/Account/{id}", s.data()))
            .bearer(&s)
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 204);
    };
    patch(&id, json!({"Name": "Acme"})); // the same value: Name did not change
    patch(&id, json!({"Phone": "555"})); // Phone is not in the query (Referenced)
    patch(&id, json!({"Industry": "Technology", "Name": "Acme Corp"}));
    let del = s
        .http()
        .delete(format!("{}/sobjects/Account/{id}", s.data()))
        .bearer(&s)
        .send()
        .unwrap();
    assert_eq!(del.status(), 204);
    let undelete = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header><SessionHeader xmlns="urn:partner.soap.sforce.com"><sessionId>{}</sessionId></SessionHeader></se:Header><se:Body><undelete xmlns="urn:partner.soap.sforce.com"><ids>{id}</ids></undelete></se:Body></se:Envelope>"#,
        s.ready.access_token
    );
    let r = s
        .http()
        .post(format!("{}/services/Soap/u/59.0", s.base()))
        .header("Content-Type", "text/xml")
        .header("SOAPAction", "undelete")
        .body(undelete)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let got = drain(&s, &client);
    assert_eq!(
        types(&got),
        ["created", "created", "updated", "deleted", "undeleted"],
        "{got:?}"
    );
    assert_eq!(got[4]["data"]["sobject"]["Name"], "Acme Corp");
    let m = &got[0];
    assert_eq!(m["channel"], "/topic/TechAccounts");
    assert_eq!(
        m["data"]["sobject"],
        json!({"Id": id, "Name": "Acme", "Industry": "Technology"})
    );
    let created = m["data"]["event"]["createdDate"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 24, "{created}");
    assert!(m["data"]["event"]["replayId"].is_u64());
    assert_eq!(m.get("successful"), None);
    assert_eq!(got[3]["data"]["sobject"], json!({"Id": id}));
    assert_eq!(got[1]["data"]["sobject"]["Id"], json!(other));
    // The filtered subscription sees only Acme, under its own channel name.
    let f = drain(&s, &filtered);
    // Only the create carries Name = Acme: the update renamed it, and a delete shows only Id.
    assert_eq!(types(&f), ["created"], "{f:?}");
    assert_eq!(f[0]["channel"], "/topic/TechAccounts?Name=Acme");
    assert_eq!(f[0]["data"]["sobject"]["Id"], json!(id));
    // Replay from the start, and from a stored id.
    let (replayer, _) = subscribe(&s, "/topic/TechAccounts", -2);
    let all = drain(&s, &replayer);
    assert_eq!(types(&all), types(&got));
    let second = all[1]["data"]["event"]["replayId"].as_i64().unwrap();
    let (from, _) = subscribe(&s, "/topic/TechAccounts", second);
    assert_eq!(types(&drain(&s, &from)), types(&got[2..]));
    let (_, sub) = subscribe(&s, "/topic/TechAccounts?Phone=1", -1);
    assert_eq!(sub["successful"], false, "filters name selected fields");
}
