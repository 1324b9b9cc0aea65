//! Bounds on reading a request: a client that sends headers and part of a body cannot hold
//! its connection for ever.

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use forcebus_testkit::{Options, Server};

use crate::bin;

#[test]
fn a_body_that_never_finishes_is_cut_off_at_the_deadline() {
    let s = Server::start_with(
        &bin(),
        Options {
            in_memory: true,
            config: Some("request_body_timeout_secs = 1\n".into()),
            ..Default::default()
        },
    );
    let mut raw = std::net::TcpStream::connect(&s.ready.http).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        raw,
        "POST /services/data/v59.0/sobjects/Account HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: 1000\r\n\r\n{{\"Name\": \"slow",
        s.ready.access_token
    )
    .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    // The server answers and closes the connection: read to its end.
    let _ = raw.read_to_end(&mut answer);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "the connection was held {took:?} (deadline 1 s)"
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 4"), "{text}");
    // Nothing was created, and the server serves on.
    let (st, body) = crate::j(
        s.http()
            .get(format!("{}/query?q=SELECT+COUNT()+FROM+Account", s.data()))
            .header("Authorization", format!("Bearer {}", s.ready.access_token))
            .send()
            .unwrap(),
    );
    assert_eq!((st, body["totalSize"].as_u64()), (200, Some(0)), "{body}");
}

/// A review found: an error quoted the bad value whole (a 10 MB field value came
/// back in the error body). Messages are cut to 1,000 characters.
#[test]
fn an_error_does_not_echo_a_huge_value_back() {
    let s = crate::server();
    let huge = "9".repeat(5 << 20) + "x";
    let r = s
        .http()
        .post(format!("{}/sobjects/Account", s.data()))
        .header("Authorization", format!("Bearer {}", s.ready.access_token))
        .json(&serde_json::json!({"Name": "x", "NumberOfEmployees": huge}))
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().unwrap();
    assert_eq!(status, 400, "{}", &text[..text.len().min(300)]);
    assert!(text.len() < 4_000, "{} bytes of error", text.len());
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(body[0]["errorCode"].is_string(), "{body}");
}
