//! Response header names as Salesforce writes them, read off the raw bytes: Title-Case
//! (`Content-Type`, `Sforce-Locator`, `Sforce-Limit-Info`, `Date`) and Salesforce's own
//! spellings (`Sforce-NumberOfRecords`), on the lean path and on hyper's alike (a
//! connection goes to hyper after a `HEAD`, and an HTTP/1.0 request is hyper's from the
//! start). A Python CDK reads `dict(response.headers).get("content-type")` and crashes on
//! a lower-case name that Salesforce never sends.

use std::io::{Read as _, Write as _};
use std::time::Duration;

use forcebus_testkit::Server;
use serde_json::json;

use crate::bulk2::{new_job, wait};
use crate::{create, server};

/// The header lines of one response in `raw`, from its status line to the blank line.
fn names(head: &str) -> Vec<String> {
    head.split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':').map(|(n, _)| n.to_owned()))
        .collect()
}

/// Each name Title-Case, or one of Salesforce's own spellings.
fn assert_spelled(head: &str) {
    for name in names(head) {
        if name == "Sforce-NumberOfRecords" || name == "ETag" || name == "WWW-Authenticate" {
            continue;
        }
        let title: String = name
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("-");
        assert_eq!(name, title, "not as Salesforce spells it, in:\n{head}");
    }
}

/// Sends `requests` on one connection, the last asking it to close, and reads every byte.
fn raw(s: &Server, requests: &str) -> String {
    let mut conn = std::net::TcpStream::connect(&s.ready.http).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    conn.write_all(requests.as_bytes()).unwrap();
    let mut out = Vec::new();
    conn.read_to_end(&mut out).unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

fn results_job(s: &Server) -> String {
    create(s, "Account", json!({"Name": "Spelled"}));
    let job = new_job(
        s,
        "query",
        json!({"operation": "query", "query": "SELECT Name FROM Account"}),
    );
    let id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(wait(s, "query", &id)["state"], "JobComplete");
    format!("/services/data/v59.0/jobs/query/{id}/results")
}

fn get(path: &str, token: &str, version: &str, close: bool) -> String {
    format!(
        "GET {path} {version}\r\nHost: x\r\nAuthorization: Bearer {token}\r\n{}\r\n",
        if close { "Connection: close\r\n" } else { "" }
    )
}

#[test]
fn bulk_query_results_and_rest_answers_spell_names_as_salesforce_on_both_paths() {
    let s = server();
    let token = s.ready.access_token.clone();
    let results = results_job(&s);
    let describe = "/services/data/v59.0/sobjects/Account/describe";

    // The lean path: plain HTTP/1.1.
    let lean = raw(&s, &get(&results, &token, "HTTP/1.1", true));
    let (head, body) = lean.split_once("\r\n\r\n").unwrap();
    assert!(body.contains("Spelled"), "{lean}");
    for line in [
        "\r\nContent-Type: text/csv",
        "\r\nSforce-Locator: null\r\n",
        "\r\nSforce-NumberOfRecords: 1\r\n",
        "\r\nDate: ",
    ] {
        assert!(head.contains(line), "no {line:?} in:\n{head}");
    }
    assert_spelled(head);
    let lean = raw(&s, &get(describe, &token, "HTTP/1.1", true));
    let head = lean.split_once("\r\n\r\n").unwrap().0;
    assert!(head.contains("\r\nSforce-Limit-Info: api-usage="), "{head}");
    assert_spelled(head);

    // hyper's: an HTTP/1.0 request, and a request after a HEAD on the same connection.
    let old = raw(&s, &get(&results, &token, "HTTP/1.0", false));
    let head = old.split_once("\r\n\r\n").unwrap().0;
    assert!(head.contains("\r\nSforce-NumberOfRecords: 1\r\n"), "{head}");
    assert!(head.contains("\r\nContent-Type: text/csv"), "{head}");
    assert_spelled(head);
    let head_first = format!(
        "HEAD {describe} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n{}",
        get(&results, &token, "HTTP/1.1", true)
    );
    let both = raw(&s, &head_first);
    let (first, rest) = both.split_once("\r\n\r\n").unwrap();
    assert_spelled(first);
    let (second, body) = rest.split_once("\r\n\r\n").unwrap();
    assert!(second.starts_with("HTTP/1.1 200"), "{both}");
    assert!(body.contains("Spelled"), "{both}");
    for line in [
        "\r\nContent-Type: text/csv",
        "\r\nSforce-Locator: null\r\n",
        "\r\nSforce-NumberOfRecords: 1\r\n",
        "\r\nDate: ",
    ] {
        assert!(second.contains(line), "no {line:?} in:\n{second}");
    }
    assert_spelled(second);
}
