//! `GET /metrics`: Prometheus's text format, every metric the Grafana dashboard queries
//! served, and counts that move with what the server does.

use forcebus_testkit::{Options, Server};
use serde_json::{Value, json};

use crate::bayeux::{connect, handshake, oauth, post};
use crate::bulk2::{new_job, patch_state, upload, wait};
use crate::{bin, create};

pub(crate) fn scrape(s: &Server) -> String {
    let r = s
        .http()
        .get(format!("{}/metrics", s.base()))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    r.text().unwrap()
}

/// The value of the series `name{labels}` (exactly as written), if served.
pub(crate) fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn metrics_are_served_for_everything_the_dashboard_shows() {
    let s = Server::start_with(
        &bin(),
        Options {
            in_memory: false,
            config: Some(crate::CONFIG.into()),
            ..Default::default()
        },
    );
    let before = scrape(&s);
    create(&s, "Account", json!({"Name": "Counted"}));
    // A Streaming API session that receives the event.
    let client = handshake(&s);
    post(
        &s,
        Some(&oauth(&s)),
        "",
        json!([{"channel": "/meta/subscribe", "clientId": client, "subscription": "/data/AccountChangeEvent", "id": "2", "ext": {"replay": {"/data/AccountChangeEvent": -2}}}]),
    );
    connect(&s, &client, "3", json!({"timeout": 0}));
    // A Bulk API 2.0 job of three rows.
    let job = new_job(
        &s,
        "ingest",
        json!({"object": "Account", "operation": "insert"}),
    );
    let id = job["id"].as_str().unwrap();
    assert_eq!(upload(&s, id, "Name\nB1\nB2\nB3\n").0, 201);
    assert_eq!(patch_state(&s, "ingest", id, "UploadComplete").0, 200);
    wait(&s, "ingest", id);
    let after = scrape(&s);
    // Every metric the Grafana dashboard queries, served by this server.
    let dashboard: Value =
        serde_json::from_str(include_str!("../../../../deploy/grafana/forcebus.json")).unwrap();
    let mut queried = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for name in expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("forcebus_") || w.starts_with("process_"))
            {
                queried += 1;
                assert!(
                    after.lines().any(|l| l.starts_with(name)),
                    "the dashboard queries {name}, which is not served:\n{after}"
                );
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .unwrap_or(name);
                assert!(
                    after.contains(&format!("# HELP {base} ")),
                    "{base} has no HELP line"
                );
            }
        }
    }
    assert!(queried >= 14, "the dashboard queries {queried} metrics");
    let grew = |series: &str| {
        let (a, b) = (
            value(&before, series).unwrap_or(0.0),
            value(&after, series).unwrap_or(0.0),
        );
        assert!(b > a, "{series}: {a} then {b}");
    };
    grew(r#"forcebus_http_requests_total{family="rest",status="201"}"#);
    // Long polls on plain connections skip the router (the listener's direct path) and
    // still count.
    grew(r#"forcebus_http_requests_total{family="cometd",status="200"}"#);
    // The suite also runs with every server on PostgreSQL.
    let engine = if value(&after, r#"forcebus_store_commits_total{engine="postgres"}"#).is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    grew(&format!(
        r#"forcebus_store_commits_total{{engine="{engine}"}}"#
    ));
    grew(r#"forcebus_events_appended_total{class="0",kind="change"}"#);
    grew(r#"forcebus_deliveries_total{protocol="cometd"}"#);
    assert_eq!(value(&after, "forcebus_bulk_rows_total"), Some(3.0));
    assert_eq!(
        value(&after, r#"forcebus_subscribers{protocol="cometd"}"#),
        Some(1.0)
    );
    assert_eq!(value(&after, r#"forcebus_orgs{state="open"}"#), Some(1.0));
    assert!(value(&after, "process_resident_memory_bytes").unwrap() > 1e6);
    assert!(value(&after, "forcebus_event_log_oldest_seconds").is_some_and(|s| s >= 0.0));
    assert_eq!(
        value(
            &after,
            r#"forcebus_subscriber_lag_events{protocol="pubsub"}"#
        ),
        Some(0.0)
    );
}
