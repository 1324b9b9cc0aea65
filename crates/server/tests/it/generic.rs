//! Generic streaming: StreamingChannel records, the push resource, and `/u/` delivery
//! over the Streaming API (broadcast, per-user, replay).

use serde_json::{Value, json};

use crate::platform::{drain, subscribe};
use crate::{Authed, code, create, get, j, server};

#[test]
fn streaming_channels_push_to_subscribers() {
    let s = server();
    let id = create(
        &s,
        "StreamingChannel",
        json!({"Name": "/u/notifications/Alerts", "Description": "d"}),
    );
    assert!(id.starts_with("0M6"), "{id}");
    for bad in ["Alerts", "/u/", "/u/a b", "/topic/x"] {
        let (st, body) = j(s
            .http()
            .post(format!("{}/sobjects/StreamingChannel", s.data()))
            .bearer(&s)
            .json(&json!({"Name": bad}))
            .send()
            .unwrap());
        assert_eq!((st, code(&body)), (400, "INVALID_FIELD"), "{bad}: {body}");
    }
    let (_, q) = get(&s, "/query?q=SELECT+Id,Name+FROM+StreamingChannel");
    assert_eq!(q["records"][0]["Id"], json!(id));
    let push = |body: Value| -> (u16, Value) {
        j(s.http()
            .post(format!("{}/sobjects/StreamingChannel/{id}/push", s.data()))
            .bearer(&s)
            .json(&body)
            .send()
            .unwrap())
    };
    // Nobody listens yet.
    let (st, r) = push(json!({"pushEvents": [{"payload": "early", "userIds": []}]}));
    assert_eq!(
        (st, &r),
        (200, &json!([{"fanoutCount": 0, "userOnlineStatus": {}}]))
    );
    let (client, sub) = subscribe(&s, "/u/notifications/Alerts", -1);
    assert_eq!(sub["successful"], true, "{sub}");
    let (st, online) = get(&s, &format!("/sobjects/StreamingChannel/{id}/push"));
    assert_eq!(st, 200);
    let me = s.ready.user_id.clone();
    let me18 = online["OnlineUserIds"][0].as_str().unwrap().to_owned();
    assert!(me18.starts_with(&me[..15]), "{online}");
    assert_eq!(online["ChannelName"], "/u/notifications/Alerts");
    let (st, r) = push(json!({"pushEvents": [
        {"payload": "to all", "userIds": []},
        {"payload": "to me", "userIds": [me18]},
        {"payload": "to someone else", "userIds": ["005000000000000AAA"]},
    ]}));
    assert_eq!(st, 400, "an unknown user fails the call: {r}");
    let (st, r) = push(json!({"pushEvents": [
        {"payload": "to all", "userIds": []},
        {"payload": "to me", "userIds": [me18]},
    ]}));
    assert_eq!(st, 200, "{r}");
    assert_eq!(r[0], json!({"fanoutCount": -1, "userOnlineStatus": {}}));
    assert_eq!(r[1]["fanoutCount"], 1);
    assert_eq!(r[1]["userOnlineStatus"][&me18], true);
    let got = drain(&s, &client);
    let payloads: Vec<&str> = got
        .iter()
        .map(|m| m["data"]["payload"].as_str().unwrap())
        .collect();
    assert_eq!(payloads, ["to all", "to me"]);
    assert_eq!(got[0]["channel"], "/u/notifications/Alerts");
    assert!(
        got[0]["data"]["event"]["createdDate"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(got[0]["data"]["event"]["replayId"].is_u64());
    for (body, want) in [
        (json!({}), "JSON_PARSER_ERROR"),
        (json!({"pushEvents": [{"payload": 1}]}), "JSON_PARSER_ERROR"),
        (
            json!({"pushEvents": [{"payload": "x".repeat(3001)}]}),
            "STRING_TOO_LONG",
        ),
    ] {
        let (st, r) = push(body);
        assert_eq!((st, code(&r)), (400, want), "{r}");
    }
    let (replayer, _) = subscribe(&s, "/u/notifications/Alerts", -2);
    let all: Vec<Value> = drain(&s, &replayer)
        .iter()
        .map(|m| m["data"]["payload"].clone())
        .collect();
    assert_eq!(all, [json!("early"), json!("to all"), json!("to me")]);
    let (_, sub) = subscribe(&s, "/u/Nope", -1);
    assert_eq!(
        sub["error"],
        "400::The channel you requested to subscribe to does not exist {/u/Nope}"
    );
    let (st, _) = get(&s, "/sobjects/Account/001000000000000AAA/push");
    assert_eq!(st, 404);
}
