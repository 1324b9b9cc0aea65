//! The Streaming API over raw HTTP: handshake, connect holding rules, subscribe with
//! replay, event delivery from the log, Salesforce's error strings, probes.

use forcebus_testkit::Server;
use serde_json::{Value, json};

use crate::{Authed, create, server};

pub(crate) fn post(s: &Server, auth: Option<&str>, path: &str, body: Value) -> Value {
    let mut req = s
        .http()
        .post(format!("{}/cometd/59.0{path}", s.base()))
        .json(&body);
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let r = req.send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let v: Value = r.json().unwrap();
    assert!(
        v.is_array() && !v.as_array().unwrap().is_empty(),
        "always a non-empty array: {v}"
    );
    v
}

pub(crate) fn oauth(s: &Server) -> String {
    format!("OAuth {}", s.ready.access_token)
}

pub(crate) fn handshake(s: &Server) -> String {
    let r = post(
        s,
        Some(&oauth(s)),
        "",
        json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["in-process", "websocket", "long-polling"], "id": "1"}]),
    );
    r[0]["clientId"].as_str().unwrap().to_owned()
}

pub(crate) fn connect(s: &Server, client: &str, id: &str, advice: Value) -> Value {
    post(
        s,
        Some(&oauth(s)),
        "",
        json!([{"channel": "/meta/connect", "clientId": client, "connectionType": "long-polling", "id": id, "advice": advice}]),
    )
}

#[test]
fn handshake_and_authentication() {
    let s = server();
    let r = post(
        &s,
        Some(&oauth(&s)),
        "",
        json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"], "id": "a7"}]),
    );
    let h = &r[0];
    assert_eq!(
        (
            h["successful"].as_bool(),
            h["id"].as_str(),
            h["version"].as_str()
        ),
        (Some(true), Some("a7"), Some("1.0"))
    );
    assert_eq!(h["ext"], json!({"replay": true, "payload.format": true}));
    assert_eq!(h["supportedConnectionTypes"], json!(["long-polling"]));
    assert!(h["clientId"].as_str().unwrap().len() >= 20);
    assert!(h.get("advice").is_none());
    for auth in [
        format!("Bearer {}", s.ready.access_token),
        s.ready.access_token.clone(),
    ] {
        let r = post(
            &s,
            Some(&auth),
            "/handshake",
            json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}]),
        );
        assert_eq!(r[0]["successful"], true, "{auth}");
    }
    let r = post(
        &s,
        None,
        "/",
        json!({"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"], "id": "2"}),
    );
    assert_eq!(
        r[0],
        json!({"channel": "/meta/handshake", "id": "2", "ext": {"sfdc": {"failureReason": "401::Request requires authentication"}, "replay": true}, "advice": {"reconnect": "none"}, "error": "403::Handshake denied", "successful": false})
    );
    let r = post(
        &s,
        Some("OAuth 00Dnope!x"),
        "",
        json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}]),
    );
    assert_eq!(
        r[0]["ext"]["sfdc"]["failureReason"],
        "401::Authentication invalid"
    );
}

#[test]
fn delivery_with_replay_and_holding_rules() {
    let s = server();
    let first = create(&s, "Account", json!({"Name": "Before"}));
    let client = handshake(&s);
    // The first connect is answered at once, with the advice.
    let r = connect(&s, &client, "2", json!({}));
    assert_eq!(
        r[0]["advice"],
        json!({"interval": 0, "timeout": 110000, "reconnect": "retry"})
    );
    // faye's batch: [connect with timeout 0, subscribe], answered at once.
    let r = post(
        &s,
        Some(&oauth(&s)),
        "",
        json!([
            {"channel": "/meta/connect", "clientId": client, "connectionType": "long-polling", "id": "3", "advice": {"timeout": 0}},
            {"channel": "/meta/subscribe", "clientId": client, "subscription": "/data/AccountChangeEvent", "id": "4", "ext": {"replay": {"/data/AccountChangeEvent": -2}}},
        ]),
    );
    let replies: Vec<&str> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["channel"].as_str().unwrap())
        .collect();
    assert_eq!(replies, ["/meta/connect", "/meta/subscribe"]);
    assert_eq!(
        r[0].get("advice"),
        None,
        "later connect replies carry no advice"
    );
    assert_eq!(
        (r[1]["successful"].as_bool(), r[1]["subscription"].as_str()),
        (Some(true), Some("/data/AccountChangeEvent"))
    );
    // -2 replays what is retained: events come first, the connect reply last.
    let r = connect(&s, &client, "5", json!({}));
    let msgs = r.as_array().unwrap();
    assert_eq!(msgs.last().unwrap()["channel"], "/meta/connect");
    let e = &msgs[0];
    assert_eq!(e["channel"], "/data/AccountChangeEvent");
    assert!(
        e.get("successful").is_none(),
        "events never carry successful"
    );
    assert!(e["data"]["event"]["replayId"].as_u64().unwrap() >= 1);
    assert_eq!(
        e["data"]["payload"]["ChangeEventHeader"]["recordIds"],
        json!([first])
    );
    assert_eq!(
        e["data"]["payload"]["ChangeEventHeader"]["changeType"],
        "CREATE"
    );
    assert!(
        e["data"]["payload"]["CreatedDate"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(e["data"]["schema"].as_str().unwrap().len(), 22);
    // A held connect wakes when an event arrives.
    let (base, token, c2) = (s.base(), s.ready.access_token.clone(), client.clone());
    let waiter = std::thread::spawn(move || {
        let r: Value = reqwest::blocking::Client::new()
            .post(format!("{base}/cometd/59.0"))
            .header("Authorization", format!("OAuth {token}"))
            .json(&json!([{"channel": "/meta/connect", "clientId": c2, "connectionType": "long-polling", "id": "6"}]))
            .send()
            .unwrap()
            .json()
            .unwrap();
        r
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let second = create(&s, "Account", json!({"Name": "While parked"}));
    let r = waiter.join().unwrap();
    assert_eq!(
        r[0]["data"]["payload"]["ChangeEventHeader"]["recordIds"],
        json!([second])
    );
    assert_eq!(r.as_array().unwrap().last().unwrap()["id"], "6");
    // Resubscribing after the last seen id replays only what came later.
    let last = r[0]["data"]["event"]["replayId"].as_i64().unwrap();
    let other = handshake(&s);
    connect(&s, &other, "1", json!({}));
    let third = create(&s, "Account", json!({"Name": "After"}));
    post(
        &s,
        Some(&oauth(&s)),
        "",
        json!([{"channel": "/meta/subscribe", "clientId": other, "subscription": "/data/ChangeEvents", "ext": {"replay": {"/data/ChangeEvents": last}}}]),
    );
    let r = connect(&s, &other, "2", json!({"timeout": 0}));
    let ids: Vec<&Value> = r
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["channel"] == "/data/ChangeEvents")
        .map(|m| &m["data"]["payload"]["ChangeEventHeader"]["recordIds"][0])
        .collect();
    assert_eq!(ids, [&json!(third)]);
}

#[test]
fn salesforce_error_strings() {
    let s = server();
    let client = handshake(&s);
    let sub = |channel: &str, ext: Value| {
        post(&s, Some(&oauth(&s)), "", json!([{"channel": "/meta/subscribe", "clientId": client, "subscription": channel, "id": "9", "ext": ext}]))[0].clone()
    };
    let r = sub("/topic/AccountUpdates", json!({}));
    assert_eq!(
        r["error"],
        "400::The channel you requested to subscribe to does not exist {/topic/AccountUpdates}"
    );
    assert_eq!(
        (r["subscription"].as_str(), r["successful"].as_bool()),
        (Some("/topic/AccountUpdates"), Some(false))
    );
    let r = sub(
        "/data/AccountChangeEvent",
        json!({"replay": {"/data/ContactChangeEvent": -1}}),
    );
    assert_eq!(
        r["error"],
        "400::The replayId for channel {/data/AccountChangeEvent} wasn't found using the provided replay ID map {{/data/ContactChangeEvent=-1}}. Ensure that the channel name you provided in the replay map is valid and matches the channel name used for subscribing."
    );
    let r = sub(
        "/data/AccountChangeEvent",
        json!({"replay": {"/data/AccountChangeEvent": 999999}}),
    );
    assert_eq!(
        r["error"],
        "400::The replayId {999999} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events."
    );
    assert_eq!(
        sub("", json!({}))["error"],
        "400::Channel name not specified"
    );
    assert_eq!(
        sub("data/X", json!({}))["error"],
        "400::Channel subscriptions must start with a leading '/'"
    );
    let r = post(
        &s,
        Some(&oauth(&s)),
        "",
        json!([{"channel": "/meta/connect", "clientId": "nope", "connectionType": "long-polling", "id": "304"}]),
    );
    assert_eq!(
        r[0],
        json!({"channel": "/meta/connect", "id": "304", "error": "403::Unknown client", "advice": {"interval": 0, "reconnect": "handshake"}, "successful": false}),
        "Salesforce's reply, without the clientId"
    );
    // Disconnect ends the session.
    let r = post(
        &s,
        Some(&oauth(&s)),
        "",
        json!([{"channel": "/meta/disconnect", "clientId": client, "id": "10"}]),
    );
    assert_eq!(r[0]["successful"], true);
    let r = connect(&s, &client, "11", json!({}));
    assert_eq!(r[0]["error"], "403::Unknown client");
    // A revoked token fails the next connect with reconnect none.
    let other = handshake(&s);
    s.http()
        .post(format!("{}/services/oauth2/revoke", s.base()))
        .form(&[("token", s.ready.access_token.as_str())])
        .send()
        .unwrap();
    let r = connect(&s, &other, "1", json!({}));
    assert_eq!(
        (r[0]["error"].as_str(), &r[0]["advice"]["reconnect"]),
        (Some("401::Authentication invalid"), &json!("none"))
    );
}

#[test]
fn transports_versions_and_hostile_input() {
    let s = server();
    let r = s
        .http()
        .get(format!("{}/cometd/59.0", s.base()))
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400, "WebSocket probes are refused at once");
    let r = s
        .http()
        .post(format!("{}/cometd/36.0", s.base()))
        .body("[]")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = s
        .http()
        .post(format!("{}/cometd/59.0", s.base()))
        .bearer(&s)
        .body("not json")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = s
        .http()
        .post(format!("{}/cometd/59.0", s.base()))
        .bearer(&s)
        .body(format!("[{}]", "1,".repeat(20_000) + "1"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = post(
        &s,
        Some(&oauth(&s)),
        "",
        json!([{"channel": "/event/Foo__e", "data": {}, "id": "p"}]),
    );
    assert_eq!(
        r[0]["successful"], false,
        "clients cannot publish over CometD"
    );
}

#[test]
fn a_parked_connect_never_blocks_the_same_clients_subscribe() {
    let s = server();
    create(&s, "Account", json!({"Name": "Retained"}));
    let client = handshake(&s);
    connect(&s, &client, "1", json!({}));
    let (base, token, c2) = (s.base(), s.ready.access_token.clone(), client.clone());
    let parked = std::thread::spawn(move || {
        let r: Value = reqwest::blocking::Client::new()
            .post(format!("{base}/cometd/59.0"))
            .header("Authorization", format!("OAuth {token}"))
            .json(&json!([{"channel": "/meta/connect", "clientId": c2, "connectionType": "long-polling", "id": "2"}]))
            .send()
            .unwrap()
            .json()
            .unwrap();
        r
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Answered on a second connection while the connect is parked...
    let r = post(
        &s,
        Some(&oauth(&s)),
        "",
        json!([{"channel": "/meta/subscribe", "clientId": client, "subscription": "/data/AccountChangeEvent", "id": "3", "ext": {"replay": {"/data/AccountChangeEvent": -2}}}]),
    );
    assert_eq!(r[0]["successful"], true);
    // ...and the parked connect then delivers the replayed event.
    let r = parked.join().unwrap();
    assert_eq!(r[0]["channel"], "/data/AccountChangeEvent");
    assert_eq!(r.as_array().unwrap().last().unwrap()["id"], "2");
}

/// A review found: another user's token could subscribe on, read from and
/// disconnect the admin's clientId. To anyone but its user a clientId is unknown.
#[test]
fn a_client_id_is_usable_only_by_the_user_who_made_it() {
    let s = forcebus_testkit::Server::start_with(
        &crate::bin(),
        forcebus_testkit::Options {
            in_memory: true,
            config: Some(
                "[[users]]\nusername = \"admin@forcebus.local\"\npassword = \"forcebus\"\n\
                 [[users]]\nusername = \"other@forcebus.local\"\npassword = \"other-pw\"\n"
                    .into(),
            ),
            ..Default::default()
        },
    );
    let (st, body) = crate::j(
        s.http()
            .post(format!("{}/services/oauth2/token", s.base()))
            .form(&[
                ("grant_type", "password"),
                ("client_id", &s.ready.client_id),
                ("client_secret", &s.ready.client_secret),
                ("username", "other@forcebus.local"),
                ("password", "other-pw"),
            ])
            .send()
            .unwrap(),
    );
    assert_eq!(st, 200, "{body}");
    let other = format!("OAuth {}", body["access_token"].as_str().unwrap());
    let admins = handshake(&s);
    for (channel, extra) in [
        (
            "/meta/subscribe",
            json!({"subscription": "/data/AccountChangeEvent"}),
        ),
        ("/meta/connect", json!({"connectionType": "long-polling"})),
        (
            "/meta/unsubscribe",
            json!({"subscription": "/data/AccountChangeEvent"}),
        ),
        ("/meta/disconnect", json!({})),
    ] {
        let mut msg = json!({"channel": channel, "clientId": admins, "id": "9"});
        msg.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let r = post(&s, Some(&other), "", json!([msg]));
        assert_eq!(r[0]["successful"], false, "{channel}: {r}");
        assert_eq!(r[0]["error"], "403::Unknown client", "{channel}: {r}");
    }
    // The admin's session is untouched.
    let r = connect(&s, &admins, "10", json!({"timeout": 0}));
    assert_eq!(
        r.as_array().unwrap().last().unwrap()["successful"],
        true,
        "{r}"
    );
}

/// A review found: one 29 KB POST of 1,000 handshakes took half a user's 2,000
/// sessions. One handshake per request; the rest are refused and make no session.
#[test]
fn a_request_makes_at_most_one_session() {
    let s = server();
    let batch: Vec<Value> = (0..50)
        .map(|i| {
            json!({"channel": "/meta/handshake", "version": "1.0",
            "supportedConnectionTypes": ["long-polling"], "id": i.to_string()})
        })
        .collect();
    let r = post(&s, Some(&oauth(&s)), "", Value::Array(batch));
    let made = r
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["successful"] == true)
        .count();
    assert_eq!(made, 1, "{r}");
    assert_eq!(r[1]["error"], "400::Only one handshake per request", "{r}");
}

/// A review found: a client that hung up during a parked `/meta/connect` kept its
/// session for ever (the parked flag was never cleared, and the sweeper skips parked
/// sessions). The session now expires `session_timeout` after the connect ended.
#[test]
fn a_client_that_hangs_up_mid_poll_loses_its_session_after_the_timeout() {
    use std::io::Write as _;
    let s =
        crate::server_with("streaming_session_timeout_secs = 1\nstreaming_connect_hold_secs = 3\n");
    let client = handshake(&s);
    connect(&s, &client, "2", json!({"timeout": 0}));
    let body = json!([{"channel": "/meta/connect", "clientId": client,
        "connectionType": "long-polling", "id": "3"}])
    .to_string();
    let mut raw = std::net::TcpStream::connect(&s.ready.http).unwrap();
    write!(
        raw,
        "POST /cometd/59.0 HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        oauth(&s),
        body.len()
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(raw);
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let r = connect(&s, &client, "4", json!({}));
    assert_eq!(r[0]["error"], "403::Unknown client", "{r}");
    assert_eq!(r[0]["advice"]["reconnect"], "handshake", "{r}");
}

/// A review found: replay values other than -1, -2 and stored ids were taken as -1.
#[test]
fn a_negative_replay_id_other_than_minus_one_or_two_is_refused() {
    let s = server();
    let client = handshake(&s);
    for bad in [-3, -100, i64::MIN] {
        let r = post(
            &s,
            Some(&oauth(&s)),
            "",
            json!([{"channel": "/meta/subscribe", "clientId": client, "id": "5",
                "subscription": "/data/AccountChangeEvent",
                "ext": {"replay": {"/data/AccountChangeEvent": bad}}}]),
        );
        assert_eq!(r[0]["successful"], false, "{r}");
        assert_eq!(
            r[0]["error"],
            format!(
                "400::The replayId {{{bad}}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events."
            ),
            "{r}"
        );
    }
}

/// A review found: a subscriber overtaken by the log's size cap got
/// `successful: true` and no events, for ever. Now its connect fails with
/// `403::Unknown client` (handshake advice), and resubscribing from its last replay id
/// gets Salesforce's invalid-replay error, so the client can fall back.
#[test]
fn a_subscriber_overtaken_by_the_size_cap_is_told_so() {
    let s = crate::server_with("event_log_max_bytes = 20000\nretention_sweep_secs = 1\n");
    let client = handshake(&s);
    let r = post(
        &s,
        Some(&oauth(&s)),
        "",
        json!([{"channel": "/meta/subscribe", "clientId": client, "id": "2",
            "subscription": "/data/AccountChangeEvent",
            "ext": {"replay": {"/data/AccountChangeEvent": -1}}}]),
    );
    assert_eq!(r[0]["successful"], true, "{r}");
    connect(&s, &client, "3", json!({"timeout": 0}));
    let first = crate::create(&s, "Account", json!({"Name": "first"}));
    let r = connect(&s, &client, "4", json!({"timeout": 0}));
    let seen = r[0]["data"]["event"]["replayId"]
        .as_u64()
        .expect("the first event");
    assert_eq!(
        r[0]["data"]["payload"]["ChangeEventHeader"]["recordIds"][0],
        first
    );
    // Far more than the cap, then a sweep removes the oldest.
    for i in 0..60 {
        crate::create(
            &s,
            "Account",
            json!({"Name": format!("filler {i} {}", "x".repeat(200)), "Description": "y".repeat(2000)}),
        );
    }
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    let r = connect(&s, &client, "5", json!({"timeout": 0}));
    let last = r.as_array().unwrap().last().unwrap();
    assert_eq!(last["error"], "403::Unknown client", "{r}");
    assert_eq!(last["advice"]["reconnect"], "handshake", "{r}");
    let client = handshake(&s);
    let r = post(
        &s,
        Some(&oauth(&s)),
        "",
        json!([{"channel": "/meta/subscribe", "clientId": client, "id": "6",
            "subscription": "/data/AccountChangeEvent",
            "ext": {"replay": {"/data/AccountChangeEvent": seen}}}]),
    );
    assert_eq!(r[0]["successful"], false, "{r}");
    assert!(
        r[0]["error"]
            .as_str()
            .unwrap()
            .contains("you provided was invalid"),
        "{r}"
    );
}

/// A review found: a parked connect kept its session after the token was revoked.
/// It is answered at once with `401::Authentication invalid` (advice `none`).
#[test]
fn a_parked_connect_ends_when_its_token_is_revoked() {
    let s = server();
    let client = handshake(&s);
    connect(&s, &client, "2", json!({"timeout": 0}));
    let (base, auth) = (s.base(), oauth(&s));
    let parked = std::thread::spawn(move || {
        let started = std::time::Instant::now();
        let r: Value = reqwest::blocking::Client::new()
            .post(format!("{base}/cometd/59.0"))
            .header("Authorization", auth)
            .json(&json!([{"channel": "/meta/connect", "clientId": client,
                "connectionType": "long-polling", "id": "3"}]))
            .send()
            .unwrap()
            .json()
            .unwrap();
        (r, started.elapsed())
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let r = s
        .http()
        .post(format!("{}/services/oauth2/revoke", s.base()))
        .form(&[("token", s.ready.access_token.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let (r, took) = parked.join().unwrap();
    assert!(
        took < std::time::Duration::from_secs(10),
        "answered after {took:?}"
    );
    assert_eq!(r[0]["error"], "401::Authentication invalid", "{r}");
    assert_eq!(r[0]["advice"]["reconnect"], "none", "{r}");
}
