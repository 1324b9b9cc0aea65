//! Files streamed in with their record: a multipart write of a ContentVersion or an
//! Attachment is not bounded by the body limit but by the file limit, its file goes to
//! the store a piece at a time, and a write refused for any reason leaves no bytes behind.

use std::time::{Duration, Instant};

use forcebus_testkit::{Options, Server};
use md5::Digest as _;
use serde_json::{Value, json};

use crate::{Authed, code, create, get, j, records};

const BOUNDARY: &str = "forcebus-upload-4n1Q8vzp";

/// A multipart record write: the JSON part, then the file as the part named `field`.
fn multipart(entity: &Value, field: &str, file: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"entity_content\"\r\n\
         Content-Type: application/json\r\n\r\n{entity}\r\n--{BOUNDARY}\r\n\
         Content-Disposition: form-data; name=\"{field}\"; filename=\"f.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// `n` bytes that do not repeat within a piece.
fn file(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x2545_f491;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

fn send(s: &Server, method: &str, path: &str, body: Vec<u8>) -> (u16, Value) {
    let url = format!("{}{path}", s.data());
    let req = match method {
        "POST" => s.http().post(url),
        _ => s.http().patch(url),
    };
    let res = req
        .bearer(s)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .unwrap();
    let status = res.status().as_u16();
    let text = res.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn raw(s: &Server, path: &str) -> Vec<u8> {
    let res = s
        .http()
        .get(format!("{}{path}", s.data()))
        .bearer(s)
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    res.bytes().unwrap().to_vec()
}

fn sqlite_server(config: &str) -> Server {
    // Reads the SQLite file itself.
    Server::start_with(
        &crate::bin(),
        Options {
            sqlite: true,
            config: Some(config.into()),
            ..Default::default()
        },
    )
}

/// The blob keys the store holds, read from the SQLite file.
fn blob_keys(s: &Server) -> Vec<String> {
    let db = rusqlite::Connection::open(s.dir().join("data/forcebus.db")).unwrap();
    let mut stmt = db
        .prepare("SELECT DISTINCT key FROM blob_pieces ORDER BY key")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Waits (a few seconds at most) until no upload is left in the store.
fn no_uploads_left(s: &Server) -> Vec<String> {
    let start = Instant::now();
    loop {
        let keys = blob_keys(s);
        if !keys.iter().any(|k| k.starts_with("upload/")) || start.elapsed().as_secs() > 5 {
            return keys;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_file_past_the_body_limit_streams_in_and_reads_back_whole() {
    let s = sqlite_server("max_body_bytes = 1048576\n");
    let bytes = file(6 * 1024 * 1024 + 123);
    let (st, res) = send(
        &s,
        "POST",
        "/sobjects/ContentVersion",
        multipart(
            &json!({"Title": "Big", "PathOnClient": "big.bin"}),
            "VersionData",
            &bytes,
        ),
    );
    assert_eq!(st, 201, "{res}");
    let id = res["id"].as_str().unwrap();
    let (_, v) = get(&s, &format!("/sobjects/ContentVersion/{id}"));
    assert_eq!(v["ContentSize"], json!(bytes.len()));
    let md5: String = md5::Md5::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v["Checksum"], json!(md5));
    assert!(v["ContentDocumentId"].is_string(), "{v}");
    assert_eq!(
        raw(&s, &format!("/sobjects/ContentVersion/{id}/VersionData")),
        bytes
    );

    // An update takes a file too, and the bytes it replaces go.
    let account = create(&s, "Account", json!({"Name": "With a file"}));
    let att = create(
        &s,
        "Attachment",
        json!({"ParentId": account, "Name": "a.bin", "Body": "Zmlyc3Q="}),
    );
    let second = file(3 * 1024 * 1024);
    let (st, res) = send(
        &s,
        "PATCH",
        &format!("/sobjects/Attachment/{att}"),
        multipart(&json!({"Name": "b.bin"}), "Body", &second),
    );
    assert_eq!(st, 204, "{res}");
    assert_eq!(raw(&s, &format!("/sobjects/Attachment/{att}/Body")), second);
    let rows = records(
        &s,
        &format!("SELECT Name FROM Attachment WHERE Id = '{att}'"),
    );
    assert_eq!(rows[0]["Name"], "b.bin");

    // A file as base64 JSON is still a body, bounded by the body limit.
    let (st, res) = j(s
        .http()
        .post(format!("{}/sobjects/ContentVersion", s.data()))
        .bearer(&s)
        .json(&json!({"Title": "B64", "PathOnClient": "b.bin", "VersionData": "A".repeat(2 << 20)}))
        .send()
        .unwrap());
    assert_eq!(st, 413, "{res}");

    let keys = no_uploads_left(&s);
    assert_eq!(
        keys.len(),
        2,
        "one blob per record, nothing left of the uploads: {keys:?}"
    );
}

#[test]
fn an_upload_refused_leaves_nothing_behind() {
    let s = sqlite_server("max_file_bytes = 2097152\n");
    let entity = json!({"Title": "T", "PathOnClient": "t.bin"});
    // No caller: refused before a byte is stored.
    let res = s
        .http()
        .post(format!("{}/sobjects/ContentVersion", s.data()))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(&entity, "VersionData", &file(1000)))
        .send()
        .unwrap();
    assert_eq!(res.status(), 401);
    // Over the file limit.
    let (st, res) = send(
        &s,
        "POST",
        "/sobjects/ContentVersion",
        multipart(&entity, "VersionData", &file(3 << 20)),
    );
    assert_eq!(st, 413, "{res}");
    assert_eq!(code(&res), "REQUEST_ENTITY_TOO_LARGE");
    // A record the org refuses, with its file already stored.
    let (st, res) = send(
        &s,
        "POST",
        "/sobjects/ContentVersion",
        multipart(
            &json!({"Title": "T", "PathOnClient": "t.bin", "Nope__c": 1}),
            "VersionData",
            &file(1 << 20),
        ),
    );
    assert_eq!(st, 400, "{res}");
    assert_eq!(code(&res), "INVALID_FIELD");
    // A body that is not multipart at all, or has no JSON part.
    let (st, res) = send(&s, "POST", "/sobjects/ContentVersion", b"junk".to_vec());
    assert_eq!(st, 400, "{res}");
    let mut only_file = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"VersionData\"; filename=\"f\"\r\n\r\n"
    )
    .into_bytes();
    only_file.extend_from_slice(&file(5000));
    only_file.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let (st, res) = send(&s, "POST", "/sobjects/ContentVersion", only_file);
    assert_eq!(st, 400, "{res}");
    assert_eq!(code(&res), "JSON_PARSER_ERROR");
    // The marker an upload is named by is no value a client can write.
    let (st, res) = j(s
        .http()
        .post(format!("{}/sobjects/ContentVersion", s.data()))
        .bearer(&s)
        .json(&json!({"Title": "T", "PathOnClient": "t.bin",
            "VersionData": "blob:upload/0123456789abcdef0123456789abcdef"}))
        .send()
        .unwrap());
    assert_eq!(st, 400, "{res}");

    let rows = records(&s, "SELECT Id FROM ContentVersion");
    assert!(rows.is_empty(), "{rows:?}");
    assert_eq!(no_uploads_left(&s), Vec::<String>::new());
}

/// Sends the headers and the first `sent` bytes of a multipart ContentVersion write of a
/// larger file, then leaves the connection as it is (the caller drops or keeps it).
fn half_upload(s: &Server, sent: usize) -> std::net::TcpStream {
    use std::io::Write as _;
    let body = multipart(
        &json!({"Title": "Half", "PathOnClient": "half.bin"}),
        "VersionData",
        &file(sent * 2),
    );
    let addr = s.base().trim_start_matches("http://").to_owned();
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    write!(
        tcp,
        "POST /services/data/v68.0/sobjects/ContentVersion HTTP/1.1\r\nHost: {}\r\n\
         Authorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         Content-Length: {}\r\n\r\n",
        s.base().trim_start_matches("http://"),
        s.ready.access_token,
        body.len()
    )
    .unwrap();
    tcp.write_all(&body[..sent]).unwrap();
    tcp.flush().unwrap();
    tcp
}

/// Waits until the store holds an upload in progress.
fn an_upload_is_stored(s: &Server) {
    let start = Instant::now();
    while !blob_keys(s).iter().any(|k| k.starts_with("upload/")) {
        assert!(
            start.elapsed().as_secs() < 10,
            "no upload reached the store"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_client_gone_mid_upload_leaves_nothing_behind() {
    let s = sqlite_server("");
    // More than one run of pieces (4 MB): some are in the store when the client goes.
    let tcp = half_upload(&s, 9 << 20);
    an_upload_is_stored(&s);
    drop(tcp);
    assert_eq!(no_uploads_left(&s), Vec::<String>::new());
    let rows = records(&s, "SELECT Id FROM ContentVersion");
    assert!(rows.is_empty(), "{rows:?}");
}

#[test]
fn a_server_stopped_mid_upload_drops_it_at_its_next_start() {
    let mut s = sqlite_server("");
    let tcp = half_upload(&s, 9 << 20);
    an_upload_is_stored(&s);
    s.kill();
    drop(tcp);
    assert!(
        blob_keys(&s).iter().any(|k| k.starts_with("upload/")),
        "the killed server left its upload"
    );
    s.restart();
    assert_eq!(blob_keys(&s), Vec::<String>::new());
}
