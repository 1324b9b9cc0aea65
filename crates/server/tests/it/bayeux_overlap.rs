//! Overlapping `/meta/connect`s of one session: a client that retries after a client-side
//! timeout, or a proxy that keeps an abandoned request open upstream. The newer connect
//! releases the older one; the session must stay alive while the newer one is parked.

use std::io::Write as _;
use std::time::Duration;

use forcebus_testkit::Server;
use serde_json::{Value, json};

use crate::bayeux::{connect, handshake, oauth, post};
use crate::create;

/// Sends a connect on a raw socket and leaves it open, as an abandoned request is.
fn abandoned_connect(s: &Server, client: &str, id: &str) -> std::net::TcpStream {
    let body = json!([{"channel": "/meta/connect", "clientId": client,
        "connectionType": "long-polling", "id": id}])
    .to_string();
    let mut raw = std::net::TcpStream::connect(&s.ready.http).unwrap();
    write!(
        raw,
        "POST /cometd/59.0 HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        oauth(s),
        body.len()
    )
    .unwrap();
    raw
}

/// A connect on its own thread, answered when it is answered.
fn parked_connect(s: &Server, client: &str, id: &str) -> std::thread::JoinHandle<Value> {
    let (base, auth) = (s.base(), oauth(s));
    let body = json!([{"channel": "/meta/connect", "clientId": client,
        "connectionType": "long-polling", "id": id}]);
    std::thread::spawn(move || {
        reqwest::blocking::Client::new()
            .post(format!("{base}/cometd/59.0"))
            .header("Authorization", auth)
            .json(&body)
            .send()
            .unwrap()
            .json()
            .unwrap()
    })
}

/// A review found: the session's "parked" mark was a flag that the released older
/// connect cleared while the newer one was still parked; on a quiet channel the session
/// then expired under the parked connect, and the client's next connect got
/// `403::Unknown client`, losing every event in between.
#[test]
fn a_session_whose_connects_overlap_survives_a_quiet_channel() {
    let s =
        crate::server_with("streaming_session_timeout_secs = 1\nstreaming_connect_hold_secs = 5\n");
    let client = handshake(&s);
    connect(&s, &client, "1", json!({"timeout": 0}));
    let r = post(
        &s,
        Some(&oauth(&s)),
        "",
        json!([{"channel": "/meta/subscribe", "clientId": client,
            "subscription": "/data/AccountChangeEvent", "id": "2"}]),
    );
    assert_eq!(r[0]["successful"], true, "{r}");
    // The older connect parks, and its client gives up on it without closing it.
    let older = abandoned_connect(&s, &client, "3");
    std::thread::sleep(Duration::from_millis(300));
    // The retry parks too, releasing the older one.
    let newer = parked_connect(&s, &client, "4");
    std::thread::sleep(Duration::from_millis(300));
    // The channel stays quiet past the session timeout; a handshake sweeps the sessions.
    std::thread::sleep(Duration::from_millis(1_500));
    handshake(&s);
    // The parked connect gets the next event...
    let id = create(&s, "Account", json!({"Name": "After the quiet"}));
    let r = newer.join().unwrap();
    assert_eq!(r[0]["channel"], "/data/AccountChangeEvent", "{r}");
    assert_eq!(
        r[0]["data"]["payload"]["ChangeEventHeader"]["recordIds"],
        json!([id])
    );
    assert_eq!(r.as_array().unwrap().last().unwrap()["successful"], true);
    // ...and the session goes on.
    let r = connect(&s, &client, "5", json!({"timeout": 0}));
    assert_eq!(r[0]["successful"], true, "{r}");
    drop(older);
}

/// A newer connect releases the older one at once, answered empty and successful; the
/// next event goes to the newer connect, which the client is waiting on.
#[test]
fn a_newer_connect_releases_the_older_one_and_gets_the_next_event() {
    let s = crate::server();
    let client = handshake(&s);
    connect(&s, &client, "1", json!({"timeout": 0}));
    post(
        &s,
        Some(&oauth(&s)),
        "",
        json!([{"channel": "/meta/subscribe", "clientId": client,
            "subscription": "/data/AccountChangeEvent", "id": "2"}]),
    );
    let older = parked_connect(&s, &client, "3");
    std::thread::sleep(Duration::from_millis(300));
    let newer = parked_connect(&s, &client, "4");
    let r = older.join().unwrap();
    assert_eq!(
        r.as_array().unwrap().len(),
        1,
        "only the connect reply: {r}"
    );
    assert_eq!(
        (r[0]["id"].as_str(), r[0]["successful"].as_bool()),
        (Some("3"), Some(true))
    );
    let id = create(&s, "Account", json!({"Name": "For the newer"}));
    let r = newer.join().unwrap();
    assert_eq!(
        r[0]["data"]["payload"]["ChangeEventHeader"]["recordIds"],
        json!([id]),
        "{r}"
    );
}
