//! Which heads the lean path takes, and a property test over what a client can send.

use proptest::prelude::*;

use super::*;

/// Reads `bytes` with the default bound on other bodies.
fn parse_as_served(bytes: &[u8]) -> Parsed {
    parse(bytes, MAX_OTHER_BODY)
}

fn lean_head(bytes: &[u8]) -> Head {
    match parse_as_served(bytes) {
        Parsed::Lean(h) => *h,
        other => panic!("not lean: {other:?} for {}", String::from_utf8_lossy(bytes)),
    }
}

fn is_hyper(bytes: &[u8]) -> bool {
    matches!(parse_as_served(bytes), Parsed::Hyper)
}

#[test]
fn a_streaming_api_post_is_read_here() {
    let bytes = b"POST /cometd/62.0 HTTP/1.1\r\nHost: x\r\nAuthorization: OAuth 00Dx!y\r\n\
        Content-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive, Close\r\n\r\n[]";
    let h = lean_head(bytes);
    assert_eq!(h.len, bytes.len() - 2);
    assert_eq!(h.body_len, 2);
    assert!(h.close);
    assert_eq!(h.request.method(), Method::POST);
    assert_eq!(h.request.uri(), "/cometd/62.0");
    assert_eq!(h.request.headers()["authorization"], "OAuth 00Dx!y");
    assert_eq!(h.request.headers().len(), 5);
}

#[test]
fn a_get_without_a_body_is_read_here() {
    let h = lean_head(b"GET /cometd/62.0/handshake?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((h.body_len, h.close), (0, false));
    assert_eq!(h.request.uri().query(), Some("x=1"));
}

#[test]
fn a_rest_request_is_read_here_too() {
    let bytes = b"PATCH /services/data/v62.0/sobjects/Account/001x HTTP/1.1\r\nHost: x\r\n\
        Expect: 100-Continue\r\nContent-Length: 2\r\n\r\n{}";
    let h = lean_head(bytes);
    assert_eq!(h.request.method(), Method::PATCH);
    assert_eq!(
        (h.body_len, h.streaming_api, h.expects_continue),
        (2, false, true)
    );
    for method in ["GET", "POST", "PUT", "DELETE", "OPTIONS"] {
        let h = lean_head(format!("{method} /services/oauth2/token HTTP/1.1\r\n\r\n").as_bytes());
        assert_eq!(h.request.method().as_str(), method);
        assert!(!h.streaming_api && !h.expects_continue);
    }
    let big = format!(
        "POST /services/data/v62.0/composite HTTP/1.1\r\nContent-Length: {MAX_OTHER_BODY}\r\n\r\n"
    );
    assert_eq!(lean_head(big.as_bytes()).body_len, MAX_OTHER_BODY);
    // A lower configured limit lowers the bound; a higher one does not raise it.
    assert!(matches!(parse(big.as_bytes(), 2048), Parsed::Hyper));
    assert!(matches!(parse(big.as_bytes(), usize::MAX), Parsed::Lean(_)));
    let small = "POST /services/data/v62.0/composite HTTP/1.1\r\nContent-Length: 2048\r\n\r\n";
    assert!(matches!(parse(small.as_bytes(), 2048), Parsed::Lean(_)));
    // The Streaming API's bound is its own.
    let bayeux = "POST /cometd/62.0 HTTP/1.1\r\nContent-Length: 4096\r\n\r\n";
    assert!(matches!(parse(bayeux.as_bytes(), 2048), Parsed::Lean(_)));
    assert!(lean_head(b"GET /cometd/62.0 HTTP/1.1\r\n\r\n").streaming_api);
}

/// faye's and the CometD client's WebSocket probe (as jsforce sends it): nothing here
/// upgrades, so it is an ordinary request, answered here, and the connection stays.
#[test]
fn a_websocket_probe_is_read_here() {
    let h = lean_head(
        b"GET /cometd/59.0 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: 4sNOMGlB8STY9mLHldG5og==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert_eq!(h.request.method(), Method::GET);
    assert!(h.streaming_api && !h.close);
    assert_eq!(h.request.headers()["upgrade"], "websocket");
    // An upgrade offered with a body is read as any other body.
    let h = lean_head(b"POST /x HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade, close\r\nContent-Length: 2\r\n\r\n{}");
    assert_eq!((h.body_len, h.close), (2, true));
}

#[test]
fn everything_else_is_hyper_s() {
    let too_big = format!(
        "POST /services/data/v62.0/jobs/ingest/750x/batches HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        MAX_OTHER_BODY + 1
    );
    assert!(is_hyper(too_big.as_bytes()));
    for bytes in [
        &b"POST /cometd/62.0 HTTP/1.0\r\nContent-Length: 2\r\n\r\n[]"[..],
        b"GET /services/data HTTP/1.0\r\n\r\n",
        b"HEAD /cometd/62.0 HTTP/1.1\r\n\r\n",
        b"HEAD /services/data HTTP/1.1\r\n\r\n",
        b"CONNECT x:443 HTTP/1.1\r\n\r\n",
        b"TRACE / HTTP/1.1\r\n\r\n",
        b"OPTIONS * HTTP/1.1\r\n\r\n",
        b"GET http://x/services/data HTTP/1.1\r\n\r\n",
        b"POST /cometd/62.0 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST /services/data/v62.0/sobjects/Account HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST /cometd/62.0 HTTP/1.1\r\nExpect: 102-processing\r\nContent-Length: 2\r\n\r\n",
        b"POST /x HTTP/1.1\r\nExpect: 100-continue\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
        b"POST /cometd/62.0 HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n[]",
        b"POST /cometd/62.0 HTTP/1.1\r\nContent-Length: +2\r\n\r\n[]",
        b"POST /cometd/62.0 HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\n[]",
        b"POST /cometd/62.0 HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"POST /cometd/62.0 HTTP/1.1\r\nContent-Length: 65537\r\n\r\n",
        b"POST /cometd/62.0 HTTP/1.1\r\nBad Header: x\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"\x00\x01garbage\r\n\r\n",
    ] {
        assert!(is_hyper(bytes), "{}", String::from_utf8_lossy(bytes));
    }
    let many: String = (0..40).map(|i| format!("X-H{i}: v\r\n")).collect();
    assert!(is_hyper(
        format!("POST /cometd/62.0 HTTP/1.1\r\n{many}\r\n").as_bytes()
    ));
    let long = "a".repeat(MAX_HEAD);
    assert!(is_hyper(
        format!("POST /cometd/62.0 HTTP/1.1\r\nX: {long}\r\n\r\n").as_bytes()
    ));
    // A head that never ends is hyper's (to refuse) once it passes the bound.
    assert!(is_hyper(
        format!("POST /cometd/62.0 HTTP/1.1\r\nX: {long}").as_bytes()
    ));
    assert!(matches!(
        parse_as_served(b"POST /cometd/62.0 HTTP/1.1\r\nX: 1"),
        Parsed::Partial
    ));
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9-]{0,20}".prop_filter("framing headers are tested above", |n| {
        let n = n.to_ascii_lowercase();
        ![
            "content-length",
            "transfer-encoding",
            "expect",
            "connection",
        ]
        .contains(&n.as_str())
    })
}

proptest! {
    /// Whatever the bytes, reading them never panics, and what is taken here is
    /// consistent with them: a head no longer than the bytes and the bound, and a body
    /// within its bound.
    #[test]
    fn any_bytes_are_judged_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Parsed::Lean(h) = parse_as_served(&bytes) {
            prop_assert!(h.len <= bytes.len() && h.len <= MAX_HEAD);
            let api = h.request.uri().path().starts_with("/cometd/");
            prop_assert_eq!(h.streaming_api, api);
            let bound = if api { MAX_STREAMING_API_BODY } else { MAX_OTHER_BODY };
            prop_assert!(h.body_len <= bound);
            prop_assert!(h.request.uri().path().starts_with('/'));
        }
    }

    /// A well-formed request (the Streaming API's or another) comes back as sent, and
    /// every shorter prefix of its head asks for more bytes.
    #[test]
    fn a_request_reads_back_as_sent(
        method in prop::sample::select(vec!["POST", "PATCH", "PUT", "DELETE"]),
        path in prop::sample::select(vec!["/cometd/", "/services/data/v"]),
        version in "[0-9]{2}\\.0",
        headers in proptest::collection::vec((token(), "[ -~&&[^ ]]([ -~]{0,40}[!-~])?"), 0..20),
        body_len in 0usize..=MAX_STREAMING_API_BODY,
        close in any::<bool>(),
    ) {
        let mut text = format!("{method} {path}{version} HTTP/1.1\r\n");
        for (n, v) in &headers {
            text.push_str(&format!("{n}: {v}\r\n"));
        }
        text.push_str(&format!("Content-Length: {body_len}\r\n"));
        if close {
            text.push_str("Connection: close\r\n");
        }
        text.push_str("\r\n");
        let bytes = text.as_bytes();
        let h = lean_head(bytes);
        prop_assert_eq!(h.len, bytes.len());
        prop_assert_eq!(h.body_len, body_len);
        prop_assert_eq!(h.close, close);
        prop_assert_eq!(h.request.method().as_str(), method);
        let path = format!("{path}{version}");
        prop_assert_eq!(h.request.uri().path(), path.as_str());
        for (n, v) in &headers {
            let got: Vec<_> = h.request.headers().get_all(n.as_str()).iter().collect();
            prop_assert!(got.iter().any(|g| g.as_bytes() == v.as_bytes()), "{}: {:?}", n, got);
        }
        for cut in 0..bytes.len() {
            prop_assert!(matches!(parse_as_served(&bytes[..cut]), Parsed::Partial), "cut at {}", cut);
        }
    }
}

/// A request as read: method, target, headers in order, body.
type Read = (Method, String, Vec<(String, Vec<u8>)>, Vec<u8>);

/// What hyper's own server makes of `bytes`, or `None` if it refuses them.
fn as_hyper_reads(bytes: &[u8]) -> Option<Read> {
    use http_body_util::BodyExt as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
            let tx = tx.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = body.collect().await.map(|b| b.to_bytes().to_vec());
                let headers = parts
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                    .collect::<Vec<_>>();
                let _ = tx.send((parts.method, parts.uri.to_string(), headers, body));
                Ok::<_, std::convert::Infallible>(hyper::Response::new(String::new()))
            }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(server), service);
        let served = tokio::spawn(conn);
        client.write_all(bytes).await.unwrap();
        // hyper refuses by answering 400 and closing; a request it takes reaches the service.
        let seen = tokio::select! {
            biased;
            seen = rx.recv() => seen,
            _ = async {
                let mut answer = Vec::new();
                let _ = client.read_to_end(&mut answer).await;
            } => rx.try_recv().ok(),
        };
        served.abort();
        let (method, uri, headers, body) = seen?;
        Some((method, uri, headers, body.ok()?))
    })
}

/// The lean path takes `bytes`, and reads them exactly as hyper would: the same method,
/// target, headers and body (so a request cannot mean one thing here and another to hyper).
fn taken_and_read_as_hyper_does(bytes: &[u8]) {
    let Parsed::Lean(h) = parse_as_served(bytes) else {
        panic!("not taken: {}", String::from_utf8_lossy(bytes));
    };
    let body = &bytes[h.len..(h.len + h.body_len).min(bytes.len())];
    let ours = (
        h.request.method().clone(),
        h.request.uri().to_string(),
        h.request
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect::<Vec<_>>(),
        body.to_vec(),
    );
    let theirs = as_hyper_reads(bytes);
    assert_eq!(Some(ours), theirs, "{}", String::from_utf8_lossy(bytes));
}

#[test]
fn what_is_read_here_hyper_reads_alike() {
    for bytes in [
        &b"POST /cometd/62.0 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]"[..],
        b"POST /cometd/62.0 HTTP/1.1\r\nContent-Length: 0002\r\n\r\n[]",
        b"POST /cometd/62.0 HTTP/1.1\r\nContent-Length:  2  \r\n\r\n[]",
        b"POST /cometd/62.0 HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
        b"POST /cometd/62.0 HTTP/1.1\nHost: x\nContent-Length: 2\n\n[]",
        b"POST /cometd/62.0 HTTP/1.1\r\nX-A: a\tb \r\nx-a: c\r\nContent-Length: 0\r\n\r\n",
        b"POST /cometd/62.0?x=%20&y HTTP/1.1\r\nCONTENT-LENGTH: 1\r\n\r\n[",
        b"GET /cometd//62.0/ HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /cometd/62.0 HTTP/1.1\r\nX: \x80\xff\r\nContent-Length: 0\r\n\r\n",
        b"PATCH /services/data/v62.0/sobjects/Account/001x HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
        b"DELETE /services/data/v62.0/sobjects/Account/001x?a=b HTTP/1.1\r\nHost: x\r\n\r\n",
        b"OPTIONS /services/data/ HTTP/1.1\r\nOrigin: http://x\r\n\r\n",
        b"POST /services/oauth2/token HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\na=b",
    ] {
        taken_and_read_as_hyper_does(bytes);
    }
    // What hyper would read otherwise is hyper's: a length beside chunking, a folded line.
    for bytes in [
        &b"POST /cometd/62.0 HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
        b"POST /cometd/62.0 HTTP/1.1\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
    ] {
        assert!(is_hyper(bytes), "{}", String::from_utf8_lossy(bytes));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The same over generated requests, with the odd spaces and cases clients send.
    #[test]
    fn generated_requests_read_as_hyper_reads_them(
        version in "[0-9]{2}\\.0",
        headers in proptest::collection::vec((token(), "[ -~&&[^ ]]([ -~\t]{0,40}[!-~])?"), 0..12),
        body in proptest::collection::vec(any::<u8>(), 0..300),
        spaces in "[ \t]{0,2}",
        crlf in any::<bool>(),
        method in prop::sample::select(vec!["POST", "PATCH", "PUT", "DELETE", "GET"]),
        path in prop::sample::select(vec!["/cometd/", "/services/data/v"]),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = format!("{method} {path}{version} HTTP/1.1{eol}");
        for (n, v) in &headers {
            text.push_str(&format!("{n}:{spaces}{v}{eol}"));
        }
        text.push_str(&format!("content-Length:{spaces}{}{spaces}{eol}{eol}", body.len()));
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(&body);
        taken_and_read_as_hyper_does(&bytes);
    }
}
