//! The test controls over HTTP and from the command line: who may use them, bad bodies,
//! the clock (tokens expire, dates follow), gap events, dropped CometD sessions.

use std::process::Command;

use forcebus_testkit::Server;
use serde_json::{Value, json};

use crate::bayeux::{connect, handshake, post};
use crate::{bin, code, create, get, j, server};

pub(crate) fn control(s: &Server, key: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}/forcebus/v1/control{path}", s.base());
    let req = match body {
        Some(b) => s.http().post(url).json(&b),
        None => s.http().get(url),
    };
    j(req
        .header("Authorization", format!("Bearer {key}"))
        .send()
        .unwrap())
}

fn admin(s: &Server, path: &str, body: Value) -> Value {
    let (st, v) = control(s, &s.ready.admin_key, path, Some(body));
    assert!((200..300).contains(&st), "{st} {v}");
    v
}

#[test]
fn the_controls_take_the_admin_key_or_an_org_token_and_nothing_else() {
    let s = server();
    assert!(
        s.ready.admin_key.starts_with("fbk_"),
        "{}",
        s.ready.admin_key
    );
    let (st, v) = control(&s, &s.ready.admin_key, "", None);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["active"], json!([]), "everything off by default: {v}");
    assert_eq!(control(&s, &s.ready.access_token, "", None).0, 200);
    for bad in ["fbk_wrong", "", "00Dxx!nope"] {
        let (st, v) = control(&s, bad, "", None);
        assert_eq!((st, code(&v)), (401, "INVALID_SESSION_ID"), "{bad:?}");
    }
    let (st, _) = j(s
        .http()
        .post(format!("{}/forcebus/v1/control/clock", s.base()))
        .json(&json!({"advance_secs": 60}))
        .send()
        .unwrap());
    assert_eq!(st, 401, "no credentials, no control");
    assert_eq!(
        control(&s, &s.ready.admin_key, "", None).1["active"],
        json!([])
    );
}

#[test]
fn bad_control_bodies_get_salesforce_errors_and_change_nothing() {
    let s = server();
    for (path, body) in [
        ("/clock", json!({})),
        ("/clock", json!({"advance_secs": 0})),
        ("/clock", json!({"advance_secs": -5})),
        ("/clock", json!({"advance_secs": 60, "backwards": true})),
        ("/streaming", json!({"delivery_delay_ms": 600_001})),
        ("/streaming", json!({"drop_sessions": "yes"})),
        (
            "/pubsub",
            json!({"fail": "replayid.corrupted", "rpc": "Nope"}),
        ),
        ("/pubsub", json!({"fail": "teapot"})),
        ("/pubsub", json!({"fail": "auth.error", "times": 0})),
        ("/pubsub", json!({"rpc": "Subscribe"})),
        ("/gap", json!({"object": "Account"})),
        (
            "/gap",
            json!({"object": "Account", "overflow": true, "changeType": "GAP_UPDATE"}),
        ),
        ("/gap", json!({"object": "Nope__c", "overflow": true})),
        ("/gap", json!([1, 2])),
    ] {
        let (st, v) = control(&s, &s.ready.admin_key, path, Some(body.clone()));
        assert_eq!(st, 400, "{path} {body}: {v}");
        assert!(!code(&v).is_empty());
        assert!(v[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (st, v) = j(s
        .http()
        .post(format!("{}/forcebus/v1/control/clock", s.base()))
        .header("Authorization", format!("Bearer {}", s.ready.admin_key))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap());
    assert_eq!((st, code(&v)), (400, "JSON_PARSER_ERROR"));
    let (_, v) = control(&s, &s.ready.admin_key, "", None);
    assert_eq!(v["active"], json!([]), "nothing changed: {v}");
    assert_eq!(v["clock"]["offset_secs"], json!(0.0));
}

fn login(s: &Server) -> String {
    let (st, body) = j(s
        .http()
        .post(format!("{}/services/oauth2/token", s.base()))
        .form(&[
            ("grant_type", "password"),
            ("client_id", &s.ready.client_id),
            ("client_secret", &s.ready.client_secret),
            ("username", &s.ready.username),
            ("password", &s.ready.password),
        ])
        .send()
        .unwrap());
    assert_eq!(st, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

#[test]
fn the_clock_expires_tokens_and_moves_dates_and_soql_follows() {
    let s = server();
    create(&s, "Account", json!({"Name": "Before"}));
    let v = admin(&s, "/clock", json!({"advance_secs": 3 * 24 * 3600}));
    assert_eq!(v["active"], json!(["clock.advanced"]));
    // The session timeout (2 h) passed: the old token is dead, a new login works.
    let (st, body) = get(&s, "/limits");
    assert_eq!((st, code(&body)), (401, "INVALID_SESSION_ID"));
    let token = login(&s);
    let (st, body) = j(s
        .http()
        .post(format!("{}/sobjects/Account", s.data()))
        .header("Authorization", format!("Bearer {token}"))
        .json(&json!({"Name": "After"}))
        .send()
        .unwrap());
    assert_eq!(st, 201, "{body}");
    let q = |soql: &str| {
        let (st, body) = j(s
            .http()
            .get(format!("{}/query", s.data()))
            .query(&[("q", soql)])
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .unwrap());
        assert_eq!(st, 200, "{body}");
        let mut names: Vec<String> = body["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        q("SELECT Name FROM Account WHERE CreatedDate = LAST_N_DAYS:1"),
        ["After"]
    );
    assert_eq!(
        q("SELECT Name FROM Account WHERE CreatedDate < LAST_N_DAYS:2"),
        ["Before"]
    );
    // Frozen, the clock stands still: two records created apart share their CreatedDate.
    admin(&s, "/clock", json!({"freeze": true}));
    let (_, a) = j(s
        .http()
        .post(format!("{}/sobjects/Account", s.data()))
        .header("Authorization", format!("Bearer {token}"))
        .json(&json!({"Name": "F1"}))
        .send()
        .unwrap());
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (_, b) = j(s
        .http()
        .post(format!("{}/sobjects/Account", s.data()))
        .header("Authorization", format!("Bearer {token}"))
        .json(&json!({"Name": "F2"}))
        .send()
        .unwrap());
    let created = |id: &Value| {
        let (_, r) = j(s
            .http()
            .get(format!(
                "{}/sobjects/Account/{}",
                s.data(),
                id.as_str().unwrap()
            ))
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .unwrap());
        r["CreatedDate"].clone()
    };
    assert_eq!(created(&a["id"]), created(&b["id"]));
    let (st, v) = j(s
        .http()
        .delete(format!("{}/forcebus/v1/control", s.base()))
        .header("Authorization", format!("Bearer {}", s.ready.admin_key))
        .send()
        .unwrap());
    assert_eq!(st, 200);
    assert_eq!(
        v["active"],
        json!(["clock.advanced"]),
        "unfrozen; time passed stays passed"
    );
}

#[test]
fn a_gap_event_reaches_the_change_event_channel() {
    let s = server();
    let id = create(&s, "Account", json!({"Name": "Gappy"}));
    let v = admin(
        &s,
        "/gap",
        json!({"object": "Account", "changeType": "GAP_UPDATE", "recordIds": [id]}),
    );
    let replay = v["events"][0]["replayId"].as_u64().unwrap();
    let client = handshake(&s);
    let auth = format!("OAuth {}", s.ready.access_token);
    let r = post(
        &s,
        Some(&auth),
        "",
        json!([{"channel": "/meta/subscribe", "clientId": client, "subscription": "/data/ChangeEvents", "ext": {"replay": {"/data/ChangeEvents": replay - 1}}}]),
    );
    assert_eq!(r[0]["successful"], json!(true), "{r}");
    let r = connect(&s, &client, "2", json!({"timeout": 0}));
    let event = r
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["channel"] == "/data/ChangeEvents")
        .unwrap_or_else(|| panic!("no event: {r}"));
    let h = &event["data"]["payload"]["ChangeEventHeader"];
    assert_eq!(h["changeType"], "GAP_UPDATE");
    assert_eq!(h["recordIds"], json!([id]));
    assert_eq!(h["changeOrigin"], "");
    assert_eq!(event["data"]["event"]["replayId"], json!(replay));
    let body: Vec<&String> = event["data"]["payload"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "ChangeEventHeader")
        .collect();
    assert!(
        body.is_empty(),
        "no record fields on the CometD form: {body:?}"
    );
}

#[test]
fn dropped_sessions_answer_the_parked_connect_then_are_unknown() {
    let s = server();
    let client = handshake(&s);
    let first = connect(&s, &client, "1", json!({"timeout": 0}));
    assert_eq!(first[0]["successful"], json!(true));
    let parked = std::thread::scope(|scope| {
        let waiting = scope.spawn(|| connect(&s, &client, "2", json!({})));
        std::thread::sleep(std::time::Duration::from_millis(300));
        admin(&s, "/streaming", json!({"drop_sessions": true}));
        waiting.join().unwrap()
    });
    let reply = parked.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        reply["successful"],
        json!(true),
        "answered as usual: {reply}"
    );
    assert_ne!(reply["advice"]["reconnect"], json!("none"), "{reply}");
    let next = connect(&s, &client, "3", json!({"timeout": 0}));
    assert_eq!(next[0]["error"], "403::Unknown client", "{next}");
    assert_eq!(
        next[0]["advice"],
        json!({"interval": 0, "reconnect": "handshake"})
    );
    let again = handshake(&s);
    assert_ne!(again, client);
    assert_eq!(
        connect(&s, &again, "4", json!({"timeout": 0}))[0]["successful"],
        json!(true)
    );
}

#[test]
fn the_cli_drives_a_running_servers_controls() {
    let s = server();
    let run = |args: &[&str]| {
        let out = Command::new(bin())
            .arg("control")
            .args(["--data-dir", s.dir().join("data").to_str().unwrap()])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run(&[
        "pubsub",
        "--fail",
        "replayid.corrupted",
        "--rpc",
        "Subscribe",
        "--times",
        "2",
    ]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["pubsub"]["fail"][0]["remaining"], json!(2));
    let (ok, _, err) = run(&["gap", "--object", "Nope__c", "--overflow"]);
    assert!(!ok);
    assert!(err.contains("400"), "{err}");
    let (ok, out, _) = run(&["clear"]);
    assert!(ok);
    assert!(out.contains("\"active\": []"), "{out}");
    let (ok, out, err) = run(&[
        "show",
        "--url",
        &s.ready.http,
        "--key",
        &s.ready.access_token,
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("\"clock\""));
}

#[test]
fn the_admin_key_can_be_set_in_the_config_and_a_weak_one_is_refused() {
    let s = Server::start_with(
        &bin(),
        forcebus_testkit::Options {
            in_memory: true,
            config: Some("admin_key = \"ci-admin-key-0123456789\"\n".into()),
            ..Default::default()
        },
    );
    assert_eq!(s.ready.admin_key, "ci-admin-key-0123456789");
    assert_eq!(control(&s, "ci-admin-key-0123456789", "", None).0, 200);
    let dir = std::env::temp_dir().join(format!("fb-weak-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("weak.toml"), "admin_key = \"short\"\n").unwrap();
    let out = Command::new(bin())
        .current_dir(&dir)
        .args([
            "serve",
            "--in-memory",
            "--listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
            "--config",
            "weak.toml",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("admin_key: must be at least 16"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Salesforce keeps a session alive while its CometD client stays connected: a clock jump
/// of days leaves a parked connect and its token working (an idle token expires), and after
/// the session is dropped the client handshakes again with the same token.
#[test]
fn a_connected_clients_token_outlives_a_clock_jump() {
    let s = server();
    let client = handshake(&s);
    assert_eq!(
        connect(&s, &client, "1", json!({"timeout": 0}))[0]["successful"],
        json!(true)
    );
    let idle = login(&s);
    let parked = std::thread::scope(|scope| {
        let waiting = scope.spawn(|| connect(&s, &client, "2", json!({})));
        std::thread::sleep(std::time::Duration::from_millis(300));
        admin(&s, "/clock", json!({"advance_secs": 3 * 24 * 3600}));
        create_as(&s, &idle, 401);
        admin(&s, "/streaming", json!({"drop_sessions": true}));
        waiting.join().unwrap()
    });
    let reply = parked.as_array().unwrap().last().unwrap().clone();
    assert_eq!(reply["successful"], json!(true), "{reply}");
    let again = handshake(&s);
    assert_eq!(
        connect(&s, &again, "3", json!({"timeout": 0}))[0]["successful"],
        json!(true)
    );
    create_as(&s, &s.ready.access_token, 201);
}

fn create_as(s: &Server, token: &str, want: u16) {
    let (st, body) = j(s
        .http()
        .post(format!("{}/sobjects/Account", s.data()))
        .header("Authorization", format!("Bearer {token}"))
        .json(&json!({"Name": "X"}))
        .send()
        .unwrap());
    assert_eq!(st, want, "{body}");
}
