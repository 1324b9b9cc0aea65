//! `forcebus status`: a running server's orgs with their records, event logs and open
//! subscribers, from the orgs API.

use serde_json::{Value, json};

use crate::bayeux::handshake;
use crate::orgs::new_org;
use crate::{bin, create, server};

fn status(s: &forcebus_testkit::Server, json: bool) -> String {
    let mut cmd = std::process::Command::new(bin());
    cmd.args([
        "status",
        "--url",
        &s.ready.http,
        "--key",
        &s.ready.admin_key,
    ]);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn status_shows_each_org_with_its_log_and_subscribers() {
    let s = server();
    create(&s, "Account", json!({"Name": "Shown"}));
    let _session = handshake(&s);
    let (st, made) = new_org(&s, json!({"name": "other"}));
    assert_eq!(st, 201, "{made}");
    let answer: Value = serde_json::from_str(&status(&s, true)).unwrap();
    let orgs = answer["orgs"].as_array().unwrap();
    assert_eq!(orgs.len(), 2);
    let default = &orgs[0];
    assert_eq!(default["org_id"], s.ready.org_id.as_str());
    assert_eq!(
        default["subscribers"],
        json!({"cometd": 1, "pubsub": 0, "lag_events": 0})
    );
    assert!(
        default["log"]["last_replay_id"].as_u64().unwrap() >= 2,
        "{default}"
    );
    assert!(default["log"]["bytes"].as_u64().unwrap() > 0);
    assert_eq!(orgs[1]["org_id"], made["org_id"]);
    assert_eq!(
        orgs[1]["subscribers"],
        json!({"cometd": 0, "pubsub": 0, "lag_events": 0})
    );
    let table = status(&s, false);
    let header = table.lines().next().unwrap();
    for column in [
        "Org",
        "Name",
        "Loaded",
        "Records",
        "Events",
        "LogBytes",
        "LastReplayId",
        "CometD",
        "PubSub",
    ] {
        assert!(header.contains(column), "{table}");
    }
    assert!(table.contains(&s.ready.org_id), "{table}");
    assert!(table.contains("other"), "{table}");
}
