//! Idle orgs (`org_idle_unload_secs`): an org made through the admin API that nobody uses
//! is unloaded (the list says `loaded: false` and keeps its counts) and opened again by
//! its next request, token or username, with its records; an open Pub/Sub stream or a
//! Streaming API session keeps it loaded, and the stream goes on receiving events.

use std::time::{Duration, Instant};

use forcebus_testkit::{Options, Server};
use serde_json::{Value, json};

use crate::pubsub::{runtime, subscribe_as};

fn server() -> Server {
    Server::start_with(
        &crate::bin(),
        Options {
            config: Some("org_idle_unload_secs = 1\n".into()),
            ..Default::default()
        },
    )
}

fn admin(s: &Server) -> String {
    format!("Bearer {}", s.ready.admin_key)
}

/// The list's entry of org `id`.
fn listed(s: &Server, id: &str) -> Value {
    let list: Value = s
        .http()
        .get(format!("{}/forcebus/v1/orgs", s.base()))
        .header("Authorization", admin(s))
        .send()
        .unwrap()
        .json()
        .unwrap();
    list["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["org_id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} not in {list}"))
}

/// Waits until org `id` is (un)loaded, up to `within`; whether it came to be.
fn becomes(s: &Server, id: &str, loaded: bool, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if listed(s, id)["loaded"] == loaded {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// An org made through the admin API, as its answer describes it.
fn make_org(s: &Server, name: &str) -> Value {
    s.http()
        .post(format!("{}/forcebus/v1/orgs", s.base()))
        .header("Authorization", admin(s))
        .json(&json!({"name": name}))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn names(s: &Server, token: &str) -> (u16, Value) {
    let r = s
        .http()
        .get(format!("{}/query?q=SELECT+Name+FROM+Account", s.data()))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

fn create_account(s: &Server, token: &str, name: &str) {
    let r = s
        .http()
        .post(format!("{}/sobjects/Account", s.data()))
        .header("Authorization", format!("Bearer {token}"))
        .json(&json!({"Name": name}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
}

/// A Bulk API 1.0 job with one batch, run and closed (a closed job stays UploadComplete;
/// its batch is the work).
fn closed_bulk1_job(s: &Server, token: &str) {
    crate::bulk1::json_job(
        s,
        token,
        r#"{"operation":"insert","object":"Account","contentType":"JSON"}"#,
        &[r#"[{"Name":"Bulk"}]"#],
    );
}

#[test]
fn an_idle_org_is_unloaded_and_opened_again_by_its_next_request() {
    let s = server();
    let made = make_org(&s, "sleepy");
    let (id, token) = (
        made["org_id"].as_str().unwrap(),
        made["access_token"].as_str().unwrap(),
    );
    create_account(&s, token, "Kept");
    closed_bulk1_job(&s, token);
    let before = listed(&s, id);
    assert!(
        becomes(&s, id, false, Duration::from_secs(15)),
        "unloaded: {}",
        listed(&s, id)
    );
    let resting = listed(&s, id);
    assert_eq!(
        (&resting["records"], &resting["events"]),
        (&before["records"], &before["events"]),
        "counts kept while it rests"
    );
    // The admin key reads a resting org's entry without opening it.
    let shown: Value = s
        .http()
        .get(format!("{}/forcebus/v1/orgs/{id}", s.base()))
        .header("Authorization", admin(&s))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        (&shown["loaded"], &shown["records"]),
        (&json!(false), &before["records"])
    );
    assert_eq!(listed(&s, id)["loaded"], false);
    // Its token opens it again, its record there.
    let (st, q) = names(&s, token);
    assert_eq!((st, &q["totalSize"]), (200, &json!(2)), "{q}");
    assert_eq!(listed(&s, id)["loaded"], true);

    // Signing in by username opens a resting org too.
    assert!(becomes(&s, id, false, Duration::from_secs(15)));
    let r = s
        .http()
        .post(format!("{}/services/oauth2/token", s.base()))
        .form(&[
            ("grant_type", "password"),
            ("client_id", made["client_id"].as_str().unwrap()),
            ("client_secret", made["client_secret"].as_str().unwrap()),
            ("username", made["username"].as_str().unwrap()),
            (
                "password",
                &format!(
                    "{}{}",
                    made["password"].as_str().unwrap(),
                    made["security_token"].as_str().unwrap()
                ),
            ),
        ])
        .send()
        .unwrap();
    let signed: Value = r.json().unwrap();
    let fresh = signed["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{signed}"));
    assert!(fresh.starts_with(&id[..15]), "{fresh}");
    assert_eq!(names(&s, fresh).0, 200);

    // A deleted org is not opened again by its old token.
    let r = s
        .http()
        .delete(format!("{}/forcebus/v1/orgs/{id}", s.base()))
        .header("Authorization", admin(&s))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(names(&s, token).0, 401);
    assert!(!s.dir().join("data").join("orgs").join(id).exists());
}

/// An open Pub/Sub stream keeps its org loaded past the idle time, and receives the
/// next event; so does a Streaming API session (handshake only).
#[test]
fn streams_and_sessions_keep_an_org_loaded() {
    let s = server();
    let new_org = |name: &str| make_org(&s, name);
    let (streamed, sessioned) = (new_org("streamed"), new_org("sessioned"));
    let controlled = new_org("controlled");
    let controls = format!(
        "{}/forcebus/v1/orgs/{}/control",
        s.base(),
        controlled["org_id"].as_str().unwrap()
    );
    let r = s
        .http()
        .post(format!("{controls}/streaming"))
        .header("Authorization", admin(&s))
        .json(&json!({"delivery_delay_ms": 10}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (id, token) = (
        streamed["org_id"].as_str().unwrap().to_owned(),
        streamed["access_token"].as_str().unwrap().to_owned(),
    );
    let rt = runtime();
    let (tx, mut stream) = subscribe_as(&rt, &s, &token, &id);
    let session_id = sessioned["org_id"].as_str().unwrap().to_owned();
    let r = s
        .http()
        .post(format!("{}/cometd/59.0", s.base()))
        .header(
            "Authorization",
            format!("OAuth {}", sessioned["access_token"].as_str().unwrap()),
        )
        .json(&json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}]))
        .send()
        .unwrap();
    let hs: Value = r.json().unwrap();
    assert_eq!(hs[0]["successful"], true, "{hs}");

    // Well past the idle time (1 s; the sweep runs every second) both stay loaded.
    assert!(
        !becomes(&s, &id, false, Duration::from_secs(4)),
        "a Pub/Sub stream keeps its org"
    );
    assert_eq!(
        listed(&s, &session_id)["loaded"],
        true,
        "a Streaming API session keeps its org"
    );
    let controlled_id = controlled["org_id"].as_str().unwrap();
    assert_eq!(
        listed(&s, controlled_id)["loaded"],
        true,
        "a test control kept in memory keeps its org"
    );
    let r = s
        .http()
        .delete(&controls)
        .header("Authorization", admin(&s))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        becomes(&s, controlled_id, false, Duration::from_secs(15)),
        "it rests once the control is cleared"
    );
    create_account(&s, &token, "Streamed");
    let got = rt.block_on(async {
        loop {
            let r = tokio::time::timeout(Duration::from_secs(10), stream.message())
                .await
                .expect("an event within 10 s")
                .expect("the stream is open")
                .expect("not ended");
            if !r.events.is_empty() {
                return r.events.len();
            }
        }
    });
    assert_eq!(got, 1);
    // The client goes: its connection closes with its runtime.
    rt.block_on(async move { drop((tx, stream)) });
    drop(rt);
    assert!(
        becomes(&s, &id, false, Duration::from_secs(15)),
        "unloaded once the stream ends"
    );
}

/// An OAuth password grant with `username`, answered by whichever org the server picks.
fn sign_in(s: &Server, made: &Value, username: &str, password: &str) -> (u16, Value) {
    let r = s
        .http()
        .post(format!("{}/services/oauth2/token", s.base()))
        .form(&[
            ("grant_type", "password"),
            ("client_id", made["client_id"].as_str().unwrap()),
            ("client_secret", made["client_secret"].as_str().unwrap()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

#[test]
fn a_user_made_at_run_time_signs_in_to_its_org_awake_or_resting() {
    let s = server();
    let made = make_org(&s, "staffed");
    let (id, token) = (
        made["org_id"].as_str().unwrap(),
        made["access_token"].as_str().unwrap(),
    );
    let created: Value = s
        .http()
        .post(format!("{}/sobjects/User", s.data()))
        .header("Authorization", format!("Bearer {token}"))
        .json(&json!({"Username": "Late.Hire@staffed.test", "LastName": "Hire", "Email": "late@staffed.test", "Alias": "late"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let user = created["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"));
    let r = s
        .http()
        .post(format!("{}/sobjects/User/{user}/password", s.data()))
        .header("Authorization", format!("Bearer {token}"))
        .json(&json!({"NewPassword": "Hired4Sure"}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    // Found by the new username (any case) while the org is open: a token of that org.
    let (st, grant) = sign_in(&s, &made, "late.hire@staffed.test", "Hired4Sure");
    assert_eq!(st, 200, "{grant}");
    let org15 = &id[..15];
    assert!(
        grant["access_token"].as_str().unwrap().starts_with(org15),
        "{grant}"
    );
    // And once it rests.
    assert!(becomes(&s, id, false, Duration::from_secs(15)));
    let (st, grant) = sign_in(&s, &made, "Late.Hire@staffed.test", "Hired4Sure");
    assert_eq!(st, 200, "{grant}");
    assert!(grant["access_token"].as_str().unwrap().starts_with(org15));
    assert_eq!(listed(&s, id)["loaded"], true);
    // A username the org no longer has signs in nowhere.
    let r = s
        .http()
        .patch(format!("{}/sobjects/User/{user}", s.data()))
        .header(
            "Authorization",
            format!("Bearer {}", grant["access_token"].as_str().unwrap()),
        )
        .json(&json!({"Username": "renamed@staffed.test"}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let (st, _) = sign_in(&s, &made, "late.hire@staffed.test", "Hired4Sure");
    assert_eq!(st, 400);
    let (st, grant) = sign_in(&s, &made, "renamed@staffed.test", "Hired4Sure");
    assert_eq!(st, 200, "{grant}");
}
