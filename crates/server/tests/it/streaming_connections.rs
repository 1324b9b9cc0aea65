//! A plain connection's plain requests (the Streaming API's, REST's, OAuth's) are served on
//! the listener's lean path, anything else (`HEAD`, a chunked body) by hyper from there
//! on. These tests speak raw HTTP/1.1 to check the bytes: the same answer from both paths,
//! keep-alive, pipelining, a head in pieces, a chunked body handed over, `Connection:
//! close`, bodies streamed in chunks or by their declared length, `100 Continue`.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use forcebus_testkit::Server;
use serde_json::{Value, json};

use crate::bayeux::oauth;
use crate::server;

/// One response read off the connection: status, headers (names lower case, in order),
/// body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

pub(crate) fn read_answer(r: &mut BufReader<TcpStream>) -> Answer {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':').unwrap();
        headers.push((n.to_ascii_lowercase(), v.trim().to_owned()));
    }
    let mut body = Vec::new();
    let len = headers.iter().find(|(n, _)| n == "content-length");
    if let Some((_, len)) = len {
        body.resize(len.parse().unwrap(), 0);
        r.read_exact(&mut body).unwrap();
    } else {
        // Chunked.
        loop {
            line.clear();
            r.read_line(&mut line).unwrap();
            let size = usize::from_str_radix(line.trim_end(), 16).unwrap();
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk).unwrap();
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn open(s: &Server) -> (TcpStream, BufReader<TcpStream>) {
    let raw = TcpStream::connect(&s.ready.http).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let reader = BufReader::new(raw.try_clone().unwrap());
    (raw, reader)
}

fn cometd_post(s: &Server, body: &Value, extra: &str) -> String {
    let body = body.to_string();
    format!(
        "POST /cometd/59.0 HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        oauth(s),
        body.len()
    )
}

fn handshake_body() -> Value {
    json!([{"channel": "/meta/handshake", "version": "1.0",
        "supportedConnectionTypes": ["long-polling"], "id": "1"}])
}

/// The headers of an answer in order, values but the date's and the API usage count's,
/// which move.
fn shape(a: &Answer) -> Vec<(String, String)> {
    a.headers
        .iter()
        .map(|(n, v)| {
            (
                n.clone(),
                if n == "date" || n == "sforce-limit-info" {
                    String::new()
                } else {
                    v.clone()
                },
            )
        })
        .collect()
}

/// Connections hyper took: TLS ones, and plain ones handed over.
fn handed_to_hyper(s: &Server) -> f64 {
    let text = crate::metrics::scrape(s);
    crate::metrics::value(
        &text,
        r#"forcebus_http_connections_total{served_by="hyper"}"#,
    )
    .unwrap_or_else(|| panic!("no hyper series in:\n{text}"))
}

/// Sends `HEAD …/limits`, which hands the connection to hyper, and reads its answer: a
/// 200 head with no body after it.
fn head_limits(s: &Server, raw: &mut TcpStream, r: &mut BufReader<TcpStream>) {
    raw.write_all(limits(s, "HEAD").as_bytes()).unwrap();
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    while line != "\r\n" {
        line.clear();
        r.read_line(&mut line).unwrap();
    }
}

fn limits(s: &Server, method: &str) -> String {
    format!(
        "{method} /services/data/v59.0/limits HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
        s.ready.access_token
    )
}

#[test]
fn both_paths_answer_alike_on_one_kept_alive_connection() {
    let s = server();
    let handed = handed_to_hyper(&s);
    let (mut raw, mut r) = open(&s);
    // Served on the lean path: the Streaming API's request, then REST's.
    raw.write_all(cometd_post(&s, &handshake_body(), "").as_bytes())
        .unwrap();
    let lean = read_answer(&mut r);
    assert_eq!(lean.status, 200);
    assert_eq!(lean.json()[0]["successful"], true, "{}", lean.json());
    assert!(lean.header("date").is_some_and(|d| d.ends_with(" GMT")));
    raw.write_all(limits(&s, "GET").as_bytes()).unwrap();
    let lean_rest = read_answer(&mut r);
    assert_eq!(
        lean_rest.status,
        200,
        "{}",
        String::from_utf8_lossy(&lean_rest.body)
    );
    assert_eq!(handed_to_hyper(&s), handed, "REST kept the connection lean");
    // A `HEAD` hands the connection to hyper, which answers it without a body...
    head_limits(&s, &mut raw, &mut r);
    assert_eq!(handed_to_hyper(&s), handed + 1.0);
    // ... and the same requests after it, on the same connection, in the same shape.
    raw.write_all(limits(&s, "GET").as_bytes()).unwrap();
    let hyper_rest = read_answer(&mut r);
    assert_eq!(hyper_rest.status, 200);
    raw.write_all(cometd_post(&s, &handshake_body(), "").as_bytes())
        .unwrap();
    let hyper = read_answer(&mut r);
    assert_eq!(hyper.status, 200);
    assert_eq!(hyper.json()[0]["successful"], true);
    // The bodies differ (a new clientId each) but not in length: the same headers, in the
    // same order, with the same values.
    assert_eq!(lean.body.len(), hyper.body.len());
    assert_eq!(shape(&lean), shape(&hyper));
    assert_eq!(shape(&lean_rest), shape(&hyper_rest));
    assert_eq!(
        lean_rest.json()["DailyApiRequests"]["Max"],
        hyper_rest.json()["DailyApiRequests"]["Max"]
    );
}

/// `GET /services/data/v59.0/{path}` on the connection, and its answer.
fn raw_get(s: &Server, raw: &mut TcpStream, r: &mut BufReader<TcpStream>, path: &str) -> Answer {
    write!(
        raw,
        "GET /services/data/v59.0/{path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
        s.ready.access_token
    )
    .unwrap();
    read_answer(r)
}

/// A REST answer whose body streams without a length comes in chunks on the lean path,
/// one with a declared length by it; a client waiting for `100 Continue` gets it; the
/// Streaming API's requests on the same connection are still answered whole.
#[test]
fn streamed_bodies_and_a_continue_on_the_lean_path() {
    let s = server();
    let handed = handed_to_hyper(&s);
    let job = crate::bulk2::new_job(
        &s,
        "ingest",
        json!({"object": "Account", "operation": "insert"}),
    );
    let id = job["id"].as_str().unwrap();
    let (mut raw, mut r) = open(&s);
    let csv = "Name\nStreamed one\nStreamed two\n";
    write!(
        raw,
        "PUT /services/data/v59.0/jobs/ingest/{id}/batches HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {}\r\nContent-Type: text/csv\r\nExpect: 100-continue\r\n\
         Content-Length: {}\r\n\r\n",
        s.ready.access_token,
        csv.len()
    )
    .unwrap();
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "HTTP/1.1 100 Continue\r\n");
    line.clear();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "\r\n");
    raw.write_all(csv.as_bytes()).unwrap();
    assert_eq!(read_answer(&mut r).status, 201);
    let (st, closed) = crate::bulk2::patch_state(&s, "ingest", id, "UploadComplete");
    assert_eq!(st, 200, "{closed}");
    crate::bulk2::wait(&s, "ingest", id);
    let results = raw_get(
        &s,
        &mut raw,
        &mut r,
        &format!("jobs/ingest/{id}/successfulResults"),
    );
    assert_eq!(results.status, 200);
    assert_eq!(
        results.header("transfer-encoding"),
        Some("chunked"),
        "{:?}",
        results.headers
    );
    let text = String::from_utf8(results.body).unwrap();
    assert!(text.starts_with("\"sf__Id\",\"sf__Created\""), "{text}");
    assert_eq!(text.matches("Streamed").count(), 2, "{text}");

    let version = crate::create(
        &s,
        "ContentVersion",
        json!({"Title": "Lean", "PathOnClient": "lean.txt", "VersionData": "aGVsbG8="}),
    );
    let blob = raw_get(
        &s,
        &mut raw,
        &mut r,
        &format!("sobjects/ContentVersion/{version}/VersionData"),
    );
    assert_eq!(blob.status, 200);
    assert_eq!(
        blob.header("content-length"),
        Some("5"),
        "{:?}",
        blob.headers
    );
    assert_eq!(blob.header("transfer-encoding"), None);
    assert_eq!(blob.body, b"hello");

    raw.write_all(cometd_post(&s, &handshake_body(), "").as_bytes())
        .unwrap();
    let whole = read_answer(&mut r);
    assert!(
        whole.header("content-length").is_some(),
        "{:?}",
        whole.headers
    );
    assert_eq!(whole.json()[0]["successful"], true);
    // All of it on the lean path: the connection was never hyper's.
    assert_eq!(handed_to_hyper(&s), handed);
}

/// faye's WebSocket probe, as jsforce's streaming client sends it before falling back to
/// long polling: nothing upgrades here, so the lean path answers the Streaming API's
/// refusal itself (as hyper does, byte for byte but the date) and the connection goes on
/// to carry the long polls.
#[test]
fn a_websocket_probe_is_refused_on_the_lean_path_and_the_connection_stays() {
    let s = server();
    let handed = handed_to_hyper(&s);
    let probe = format!(
        "GET /cometd/59.0 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: 4sNOMGlB8STY9mLHldG5og==\r\nSec-WebSocket-Version: 13\r\n\
         Authorization: {}\r\n\r\n",
        oauth(&s)
    );
    let (mut raw, mut r) = open(&s);
    raw.write_all(probe.as_bytes()).unwrap();
    let lean = read_answer(&mut r);
    assert_eq!(lean.status, 400);
    assert_eq!(
        String::from_utf8_lossy(&lean.body),
        "400::Invalid connection type websocket"
    );
    raw.write_all(cometd_post(&s, &handshake_body(), "").as_bytes())
        .unwrap();
    assert_eq!(read_answer(&mut r).json()[0]["successful"], true);
    assert_eq!(
        handed_to_hyper(&s),
        handed,
        "the probe kept the connection lean"
    );

    // The same probe on a connection a `HEAD` handed to hyper (its answer has no body).
    head_limits(&s, &mut raw, &mut r);
    raw.write_all(probe.as_bytes()).unwrap();
    let hyper = read_answer(&mut r);
    assert_eq!(handed_to_hyper(&s), handed + 1.0);
    assert_eq!((lean.status, &lean.body), (hyper.status, &hyper.body));
    assert_eq!(shape(&lean), shape(&hyper));
}

#[test]
fn pipelined_requests_and_a_head_in_pieces_are_answered_in_order() {
    let s = server();
    let (mut raw, mut r) = open(&s);
    let one = cometd_post(&s, &handshake_body(), "");
    let bad = cometd_post(
        &s,
        &json!([{"channel": "/meta/connect", "clientId": "nope", "id": "2"}]),
        "",
    );
    raw.write_all(format!("{one}{bad}").as_bytes()).unwrap();
    let first = read_answer(&mut r);
    assert_eq!(first.json()[0]["channel"], "/meta/handshake");
    let second = read_answer(&mut r);
    assert_eq!(
        second.json()[0]["error"],
        "403::Unknown client",
        "{}",
        second.json()
    );
    // A head sent a few bytes at a time.
    let bytes = cometd_post(&s, &handshake_body(), "").into_bytes();
    for piece in bytes.chunks(37) {
        raw.write_all(piece).unwrap();
        raw.flush().unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(read_answer(&mut r).json()[0]["successful"], true);
}

#[test]
fn a_chunked_body_is_served_by_hyper_and_close_closes() {
    let s = server();
    let (mut raw, mut r) = open(&s);
    let body = handshake_body().to_string();
    write!(
        raw,
        "POST /cometd/59.0 HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        oauth(&s),
        body.len()
    )
    .unwrap();
    assert_eq!(read_answer(&mut r).json()[0]["successful"], true);

    let (mut raw, mut r) = open(&s);
    raw.write_all(cometd_post(&s, &handshake_body(), "Connection: close\r\n").as_bytes())
        .unwrap();
    let a = read_answer(&mut r);
    assert_eq!(a.json()[0]["successful"], true);
    assert_eq!(a.header("connection"), Some("close"));
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "the server closed after answering");
}

/// The connect answers at once with a body ready later; the request is still timed to
/// its reply.
#[test]
fn a_parked_connect_on_the_lean_path_answers_with_its_events() {
    let s = server();
    let held = r#"forcebus_http_request_duration_seconds_sum{family="cometd"}"#;
    let before = crate::metrics::value(&crate::metrics::scrape(&s), held).unwrap_or(0.0);
    let client = crate::bayeux::handshake(&s);
    let sub = json!([{"channel": "/meta/subscribe", "clientId": client,
        "subscription": "/data/AccountChangeEvent", "id": "2"}]);
    assert_eq!(
        crate::bayeux::post(&s, Some(&oauth(&s)), "", sub)[0]["successful"],
        true
    );
    crate::bayeux::connect(&s, &client, "3", json!({"timeout": 0}));
    let (mut raw, mut r) = open(&s);
    let connect = json!([{"channel": "/meta/connect", "clientId": client,
        "connectionType": "long-polling", "id": "4"}]);
    raw.write_all(cometd_post(&s, &connect, "").as_bytes())
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    crate::create(&s, "Account", json!({"Name": "Parked"}));
    let a = read_answer(&mut r);
    assert_eq!(a.status, 200);
    assert!(a.header("content-length").is_some(), "{:?}", a.headers);
    let messages = a.json();
    let event = messages
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["channel"] == "/data/AccountChangeEvent")
        .unwrap_or_else(|| panic!("no event: {messages}"));
    assert_eq!(event["data"]["payload"]["Name"], "Parked");
    let after = crate::metrics::value(&crate::metrics::scrape(&s), held).unwrap();
    assert!(
        after - before >= 0.25,
        "cometd requests timed {before} -> {after} s"
    );
}

#[test]
fn a_body_that_never_finishes_is_cut_off_on_the_lean_path_too() {
    let s = forcebus_testkit::Server::start_with(
        &crate::bin(),
        forcebus_testkit::Options {
            in_memory: true,
            config: Some("request_body_timeout_secs = 1\n".into()),
            ..Default::default()
        },
    );
    let (mut raw, mut r) = open(&s);
    write!(
        raw,
        "POST /cometd/59.0 HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n[{{\"channel\"",
        oauth(&s)
    )
    .unwrap();
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let _ = r.read_to_end(&mut rest);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "held {took:?} (deadline 1 s)"
    );
    // Answered as through hyper: the handler's refusal of a body that failed, then closed.
    let text = String::from_utf8_lossy(&rest);
    assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    assert!(text.contains("Connection: close\r\n"), "{text}");
    assert!(
        text.ends_with("the request body was not received within 1s"),
        "{text}"
    );
    // The server serves on.
    let client = crate::bayeux::handshake(&s);
    assert!(!client.is_empty());
}

/// A REST or SOAP body that stops short is answered on the lean path as through hyper (a
/// chunked body is hyper's): the handler's own refusal, then the connection closes.
#[test]
fn a_rest_or_soap_body_that_stops_short_is_answered_as_through_hyper() {
    let s = forcebus_testkit::Server::start_with(
        &crate::bin(),
        forcebus_testkit::Options {
            in_memory: true,
            config: Some("request_body_timeout_secs = 1\n".into()),
            ..Default::default()
        },
    );
    let token = s.ready.access_token.clone();
    for path in [
        "/services/data/v59.0/sobjects/Account",
        "/services/Soap/u/59.0",
    ] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nSOAPAction: \"\"\r\n"
        );
        let mut answers = Vec::new();
        for framing in [
            "Content-Length: 5000\r\n\r\n{\"Na",
            "Transfer-Encoding: chunked\r\n\r\n1388\r\n{\"Na",
        ] {
            let (mut raw, mut r) = open(&s);
            write!(raw, "{head}{framing}").unwrap();
            let a = read_answer(&mut r);
            let mut rest = Vec::new();
            let _ = r.read_to_end(&mut rest);
            assert!(rest.is_empty(), "closed after the answer");
            answers.push(a);
        }
        let (lean, hyper) = (&answers[0], &answers[1]);
        assert_eq!(lean.status, hyper.status, "{path}");
        assert_eq!(
            lean.body,
            hyper.body,
            "{path}: {}",
            String::from_utf8_lossy(&lean.body)
        );
        assert_eq!(lean.header("content-type"), hyper.header("content-type"));
        assert_ne!(lean.status, 200);
    }
}

/// The lean path reads no body larger than the handlers take (`max_body_bytes`): one
/// within it is answered here, a larger one goes to hyper, which refuses it as before.
#[test]
fn a_body_over_the_configured_limit_is_hyper_s_to_refuse() {
    let s = crate::server_with("max_body_bytes = 2048\n");
    let handed = handed_to_hyper(&s);
    let (mut raw, mut r) = open(&s);
    let post = |raw: &mut TcpStream, pad: usize| {
        let body = format!("{{\"Name\": \"Padded\"{}}}", " ".repeat(pad));
        write!(
            raw,
            "POST /services/data/v59.0/sobjects/Account HTTP/1.1\r\nHost: x\r\n\
             Authorization: Bearer {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            s.ready.access_token,
            body.len()
        )
        .unwrap();
    };
    post(&mut raw, 1500);
    let created = read_answer(&mut r);
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(handed_to_hyper(&s), handed);
    post(&mut raw, 4000);
    let refused = read_answer(&mut r);
    assert_eq!(
        refused.status,
        413,
        "{}",
        String::from_utf8_lossy(&refused.body)
    );
    assert_eq!(handed_to_hyper(&s), handed + 1.0);
}
