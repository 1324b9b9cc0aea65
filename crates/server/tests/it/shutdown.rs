//! Shutdown: prompt when idle and with parked long-polls (answered at once with
//! Salesforce's reconnect advice, well inside the grace period), and a second signal ends
//! the process without waiting.

use std::io::Write as _;
use std::time::{Duration, Instant};

use forcebus_testkit::{Options, Server};
use serde_json::{Value, json};

use crate::bayeux::{connect, handshake};
use crate::{bin, create};

/// The grace period the tests give, against which "promptly" is judged.
const GRACE: &str = "shutdown_grace_secs = 10\n";

fn on_disk() -> Server {
    Server::start_with(
        &bin(),
        Options {
            in_memory: false,
            config: Some(GRACE.into()),
            ..Default::default()
        },
    )
}

#[test]
fn an_idle_server_exits_promptly() {
    let mut s = on_disk();
    create(&s, "Account", json!({"Name": "x"}));
    let started = Instant::now();
    s.signal("TERM");
    let status = s.wait_for_exit(Duration::from_secs(3));
    assert!(
        status.is_some_and(|st| st.success()),
        "{status:?} after {:?}; log: {}",
        started.elapsed(),
        s.log()
    );
}

/// A client that keeps its connection open after its answers (any HTTP agent's pool) does
/// not hold the shutdown for the grace period: the idle connection is closed. Both requests
/// are the lean path's (hyper's connections drain by themselves).
#[test]
fn a_kept_alive_idle_connection_is_closed_at_once() {
    use std::io::{BufReader, Read as _};
    let mut s = on_disk();
    let mut raw = std::net::TcpStream::connect(&s.ready.http).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut r = BufReader::new(raw.try_clone().unwrap());
    let handshake = json!([{"channel": "/meta/handshake", "version": "1.0",
        "supportedConnectionTypes": ["long-polling"], "id": "1"}])
    .to_string();
    write!(
        raw,
        "POST /cometd/59.0 HTTP/1.1\r\nHost: x\r\nAuthorization: OAuth {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{handshake}\
         GET /services/data/v59.0/limits HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
        s.ready.access_token,
        handshake.len(),
        s.ready.access_token
    )
    .unwrap();
    // Both answers read, the connection left idle.
    for _ in 0..2 {
        let answer = crate::streaming_connections::read_answer(&mut r);
        assert_eq!(answer.status, 200);
    }
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    s.signal("TERM");
    let status = s.wait_for_exit(Duration::from_secs(3));
    assert!(
        status.is_some_and(|st| st.success()),
        "still running {:?} after SIGTERM with a 10 s grace: {status:?}; log: {}",
        started.elapsed(),
        s.log()
    );
    let mut rest = Vec::new();
    let _ = r.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
}

#[test]
fn parked_long_polls_are_answered_at_once_on_shutdown() {
    let mut s = on_disk();
    let client = handshake(&s);
    // The first connect is answered at once; the second parks (110 s hold).
    connect(&s, &client, "2", json!({"timeout": 0}));
    let (base, token) = (s.base(), s.ready.access_token.clone());
    let parked: Vec<_> = (0..3)
        .map(|i| {
            // Other sessions too, each with a parked connect of its own.
            let client = if i == 0 {
                client.clone()
            } else {
                handshake(&s)
            };
            if i > 0 {
                connect(&s, &client, "2", json!({"timeout": 0}));
            }
            let (base, token) = (base.clone(), token.clone());
            std::thread::spawn(move || {
                let r = reqwest::blocking::Client::new()
                    .post(format!("{base}/cometd/59.0"))
                    .header("Authorization", format!("OAuth {token}"))
                    .json(&json!([{"channel": "/meta/connect", "clientId": client,
                        "connectionType": "long-polling", "id": "3"}]))
                    .send()
                    .unwrap();
                r.json::<Value>().unwrap()
            })
        })
        .collect();
    // Let the connects park.
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    s.signal("TERM");
    let status = s.wait_for_exit(Duration::from_secs(3));
    let took = started.elapsed();
    assert!(
        status.is_some_and(|st| st.success()),
        "still running {took:?} after SIGTERM with a 10 s grace: {status:?}; log: {}",
        s.log()
    );
    for t in parked {
        let reply = t.join().unwrap();
        assert_eq!(reply[0]["channel"], "/meta/connect", "{reply}");
        assert_eq!(reply[0]["successful"], true, "{reply}");
        assert_eq!(reply[0]["advice"]["reconnect"], "retry", "{reply}");
    }
}

#[test]
fn a_second_signal_exits_at_once() {
    let mut s = on_disk();
    // A request whose body never finishes keeps its connection in flight, so the first
    // signal waits for it (up to the 10 s grace).
    let mut stalled = std::net::TcpStream::connect(&s.ready.http).unwrap();
    write!(
        stalled,
        "POST /services/data/v59.0/sobjects/Account HTTP/1.1\r\nHost: x\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"Na"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    s.signal("INT");
    assert!(
        s.wait_for_exit(Duration::from_millis(700)).is_none(),
        "the first signal waits for the request in flight"
    );
    let started = Instant::now();
    s.signal("INT");
    let status = s.wait_for_exit(Duration::from_secs(2));
    assert_eq!(
        status.and_then(|st| st.code()),
        Some(130),
        "exit after {:?}; log: {}",
        started.elapsed(),
        s.log()
    );
    assert!(s.log().contains("second signal"), "{}", s.log());
}
