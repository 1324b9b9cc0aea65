//! OpenTelemetry export (`otlp_endpoint`): one write followed from its REST call to its
//! delivery. A collector here is a plain HTTP listener decoding what arrives with the
//! OpenTelemetry project's own protobuf types (OTLP/HTTP, `POST /v1/traces`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use serde_json::json;

use crate::bayeux::{connect, handshake, oauth, post};

/// Spans received, and the address they are sent to.
fn collector() -> (Arc<Mutex<Vec<Span>>>, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let spans = Arc::new(Mutex::new(Vec::new()));
    let got = spans.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            let mut path = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if path.is_empty() {
                    path = line.split(' ').nth(1).unwrap_or("").to_owned();
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            if path == "/v1/traces"
                && let Ok(req) = ExportTraceServiceRequest::decode(body.as_slice())
            {
                let mut all = got.lock().unwrap();
                for r in req.resource_spans {
                    for s in r.scope_spans {
                        all.extend(s.spans);
                    }
                }
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    (spans, format!("http://{addr}"))
}

#[test]
fn a_write_is_followed_from_its_request_to_its_delivery() {
    let (spans, endpoint) = collector();
    let s = crate::server_with(&format!("otlp_endpoint = \"{endpoint}\"\n"));
    let client = handshake(&s);
    let r = post(
        &s,
        Some(&oauth(&s)),
        "",
        json!([{"channel": "/meta/subscribe", "clientId": client, "subscription": "/data/AccountChangeEvent", "id": "2"}]),
    );
    assert_eq!(r[0]["successful"], true, "{r}");
    crate::create(&s, "Account", json!({"Name": "Traced"}));
    let r = connect(&s, &client, "3", json!({"timeout": 0}));
    assert_eq!(
        r.as_array().unwrap().len(),
        2,
        "the event, then the connect: {r}"
    );

    let start = Instant::now();
    let (request, commit, deliver) = loop {
        let all = spans.lock().unwrap().clone();
        // The org makes records of its own at start (its users, the Standard Price Book):
        // the commit wanted is the one under a request.
        let under_request = all.iter().filter(|s| s.name == "commit").find_map(|c| {
            all.iter()
                .find(|r| r.span_id == c.parent_span_id && r.name == "request")
                .map(|r| (r.clone(), c.clone()))
        });
        let deliver = all.iter().find(|s| s.name == "deliver").cloned();
        if let (Some((r, c)), Some(d)) = (under_request, deliver) {
            break (r, c, d);
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "spans so far: {:?}",
            all.iter()
                .map(|s| (&s.name, hex(&s.span_id), hex(&s.parent_span_id)))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        commit.trace_id, request.trace_id,
        "the commit is the request's"
    );
    let method = request
        .attributes
        .iter()
        .find(|a| a.key == "method")
        .and_then(|a| a.value.as_ref())
        .map(|v| format!("{v:?}"))
        .unwrap_or_default();
    assert!(method.contains("POST"), "{method}");
    assert!(
        deliver
            .links
            .iter()
            .any(|l| l.trace_id == commit.trace_id && l.span_id == commit.span_id),
        "the delivery links to the commit of its event: {:?}",
        deliver.links
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
