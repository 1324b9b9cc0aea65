//! `forcebus query`, `search`, `publish` and `tail` against a running server, found from
//! its data dir (or `--url` and `--token`): tables and lines for people, `--json` for
//! scripts, Salesforce's errors as the command's failure.

use std::process::Command;

use serde_json::{Value, json};

use crate::{CONFIG, bin, create, server_with};

const EVENT: &str = r#"
[platform_events.Order_Shipped__e]
fields = [{ name = "Order_Number__c", type = "string", length = 10 }]
"#;

fn cli(s: &forcebus_testkit::Server, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin())
        .args(args)
        .args(["--data-dir", s.dir().join("data").to_str().unwrap()])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn query_search_and_publish_from_the_command_line() {
    let s = server_with(&format!("{CONFIG}{EVENT}"));
    let acme = create(
        &s,
        "Account",
        json!({"Name": "Acme Rockets", "Phone": "555"}),
    );
    create(
        &s,
        "Contact",
        json!({"LastName": "Coyote", "AccountId": acme}),
    );
    for i in 0..5 {
        create(&s, "Account", json!({"Name": format!("Filler {i}")}));
    }

    let (ok, out, err) = cli(
        &s,
        &[
            "query",
            "SELECT Name, Phone, (SELECT LastName FROM Contacts) FROM Account WHERE Name LIKE 'Acme%'",
        ],
    );
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["Name", "Phone", "Contacts"]
    );
    assert!(lines[2].starts_with("Acme Rockets  555"), "{out}");
    assert!(lines[2].ends_with("(1 rows)"), "{out}");
    assert_eq!(lines.last(), Some(&"1 record"));

    // Every page, as one JSON document.
    let (ok, out, err) = cli(
        &s,
        &[
            "query",
            "--json",
            "SELECT Id, Name FROM Account ORDER BY Name",
        ],
    );
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["totalSize"], 6);
    assert_eq!(v["records"].as_array().unwrap().len(), 6);
    let (ok, out, _) = cli(&s, &["query", "SELECT COUNT() FROM Account"]);
    assert!(ok);
    assert_eq!(out.trim(), "6");

    // Deleted rows with --all-rows.
    s.http()
        .delete(format!("{}/sobjects/Account/{acme}", s.data()))
        .header("Authorization", format!("Bearer {}", s.ready.access_token))
        .send()
        .unwrap();
    let (_, out, _) = cli(
        &s,
        &["query", "SELECT Name FROM Account WHERE IsDeleted = true"],
    );
    assert!(out.contains("0 records"), "{out}");
    let (_, out, _) = cli(
        &s,
        &[
            "query",
            "--all-rows",
            "SELECT Name FROM Account WHERE IsDeleted = true",
        ],
    );
    assert!(
        out.contains("Acme Rockets") && out.contains("1 record"),
        "{out}"
    );

    // A Salesforce error fails the command with its code.
    let (ok, _, err) = cli(&s, &["query", "SELECT Nope FROM Account"]);
    assert!(!ok);
    assert!(err.contains("INVALID_FIELD"), "{err}");

    let (ok, out, err) = cli(&s, &["search", "FIND {Filler*} RETURNING Account(Name)"]);
    assert!(ok, "{err}");
    assert!(
        out.lines().next().unwrap().starts_with("sObject  Name"),
        "{out}"
    );
    assert!(out.contains("5 found"), "{out}");

    let (ok, out, err) = cli(
        &s,
        &[
            "publish",
            "Order_Shipped__e",
            r#"{"Order_Number__c": "A-1"}"#,
        ],
    );
    assert!(ok, "{err}");
    assert!(out.starts_with("published Order_Shipped__e e00"), "{out}");
    let (ok, _, err) = cli(&s, &["publish", "Order_Shipped__e", "not json"]);
    assert!(!ok && err.contains("not JSON"), "{err}");

    // --url and --token instead of the data dir.
    let out = Command::new(bin())
        .args([
            "query",
            "SELECT COUNT() FROM Account",
            "--url",
            &s.ready.http,
        ])
        .args(["--token", &s.ready.access_token])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "5");
}

#[test]
fn tail_prints_events_as_they_come_over_pubsub() {
    let s = server_with(&format!("{CONFIG}{EVENT}"));
    let acme = create(&s, "Account", json!({"Name": "Tailed"}));
    let (st, _) = crate::j(
        s.http()
            .post(format!("{}/sobjects/Order_Shipped__e", s.data()))
            .header("Authorization", format!("Bearer {}", s.ready.access_token))
            .json(&json!({"Order_Number__c": "A-1"}))
            .send()
            .unwrap(),
    );
    assert_eq!(st, 201);

    let (ok, out, err) = cli(
        &s,
        &[
            "tail",
            "/data/AccountChangeEvent",
            "/event/Order_Shipped__e",
            "--replay",
            "-2",
        ],
    );
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let change = lines
        .iter()
        .find(|l| l.contains("/data/AccountChangeEvent"))
        .unwrap();
    assert!(
        change.contains(&format!("CREATE Account {acme}")),
        "{change}"
    );
    assert!(change.contains(r#""Name":"Tailed""#), "{change}");
    let event = lines
        .iter()
        .find(|l| l.contains("/event/Order_Shipped__e"))
        .unwrap();
    assert!(event.contains(r#""Order_Number__c":"A-1""#), "{event}");

    let (ok, out, err) = cli(
        &s,
        &[
            "tail",
            "/data/AccountChangeEvent",
            "--replay",
            "-2",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["event"]["ChangeEventHeader"]["changeType"], "CREATE");
    assert_eq!(v["channel"], "/data/AccountChangeEvent");
    let replay = v["replayId"].as_u64().unwrap();
    assert_eq!(v["schemaId"].as_str().unwrap().len(), 22);

    // After a replay id: only later events (none yet).
    let (ok, out, _) = cli(
        &s,
        &[
            "tail",
            "/data/AccountChangeEvent",
            "--replay",
            &replay.to_string(),
        ],
    );
    assert!(ok);
    assert!(out.is_empty(), "{out}");
    let (ok, _, err) = cli(&s, &["tail", "/data/NoSuchChangeEvent", "--replay", "-2"]);
    assert!(!ok, "an unknown channel fails");
    assert!(!err.is_empty());

    // --follow: an event made after it started.
    let mut child = Command::new(bin())
        .args(["tail", "/data/AccountChangeEvent", "--follow", "--json"])
        .args(["--data-dir", s.dir().join("data").to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    // It takes new events only: write until one arrives (the first writes may come
    // before its subscription is in place).
    let mut made = Vec::new();
    let mut line = None;
    for i in 0..20 {
        made.push(json!(create(
            &s,
            "Account",
            json!({"Name": format!("Later {i}")})
        )));
        if let Ok(l) = rx.recv_timeout(std::time::Duration::from_millis(500)) {
            line = Some(l);
            break;
        }
    }
    child.kill().unwrap();
    let _ = child.wait();
    let v: Value = serde_json::from_str(&line.expect("an event while tail follows")).unwrap();
    let ids = v["event"]["ChangeEventHeader"]["recordIds"]
        .as_array()
        .unwrap()
        .clone();
    assert!(made.contains(&ids[0]), "{v}");
    assert_ne!(ids[0], json!(acme), "not a retained one");
}

#[test]
fn load_and_export_100000_rows_through_bulk_api_2() {
    let s = crate::server();
    let dir = std::env::temp_dir().join(format!("fb-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut csv = String::from("Name,External_Id__c\n");
    for i in 0..100_000 {
        csv.push_str(&format!("\"Account {i}, Ltd\",EXT-{i}\n"));
    }
    let file = dir.join("accounts.csv");
    std::fs::write(&file, &csv).unwrap();
    let (ok, out, err) = cli(&s, &["load", "Account", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("JobComplete: 100000 rows, 0 failed"), "{out}");

    let exported = dir.join("back.csv");
    let (ok, out, err) = cli(
        &s,
        &[
            "export",
            "SELECT Name, External_Id__c FROM Account",
            exported.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("100000 rows"), "{out}");
    let back = std::fs::read_to_string(&exported).unwrap();
    let mut lines: Vec<&str> = back.lines().collect();
    assert_eq!(lines.remove(0), "\"Name\",\"External_Id__c\"");
    // The export quotes every cell: compare the values.
    let values = |l: &str| -> (String, String) {
        let (name, ext) = l.rsplit_once(',').unwrap();
        (
            name.trim_matches('"').to_owned(),
            ext.trim_matches('"').to_owned(),
        )
    };
    let mut sent_values: Vec<_> = csv.lines().skip(1).map(values).collect();
    let mut got_values: Vec<_> = lines.iter().map(|l| values(l)).collect();
    sent_values.sort();
    got_values.sort();
    assert_eq!(got_values.len(), 100_000);
    assert_eq!(got_values, sent_values);

    // JSON records, upserted on the external id: one updated, one new.
    let json_file = dir.join("more.json");
    std::fs::write(
        &json_file,
        r#"[{"External_Id__c": "EXT-1", "Name": "Renamed"}, {"External_Id__c": "EXT-NEW", "Name": "New One"}]"#,
    )
    .unwrap();
    let (ok, out, err) = cli(
        &s,
        &[
            "load",
            "Account",
            json_file.to_str().unwrap(),
            "--upsert",
            "External_Id__c",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("upsert job") && out.contains("2 rows, 0 failed"),
        "{out}"
    );
    let (_, out, _) = cli(&s, &["query", "SELECT COUNT() FROM Account"]);
    assert_eq!(out.trim(), "100001");
    let (_, out, _) = cli(
        &s,
        &[
            "query",
            "SELECT Name FROM Account WHERE External_Id__c = 'EXT-1'",
        ],
    );
    assert!(out.contains("Renamed"), "{out}");

    // A row that fails: the command fails, naming the error.
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "Name,Phone\n,555\nGood,556\n").unwrap();
    let (ok, out, err) = cli(&s, &["load", "Account", bad.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        err.contains("REQUIRED_FIELD_MISSING") && err.contains("1 of 2 rows failed"),
        "{err}"
    );

    // An object name exports every field Bulk can query.
    let (ok, out, err) = cli(&s, &["export", "Account"]);
    assert!(ok, "{err}");
    let header = out.lines().next().unwrap();
    assert!(
        header.starts_with("\"Id\",\"IsDeleted\"") && !header.contains("BillingAddress"),
        "{header}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--org`: the data commands reach an org made with `forcebus org create` (a token is
/// issued for it with the data dir's admin key), and only that org.
#[test]
fn the_data_commands_reach_a_made_org() {
    let s = server_with(CONFIG);
    let (st, made) = crate::orgs::new_org(&s, json!({"name": "cli-org"}));
    assert_eq!(st, 201, "{made}");
    let org = made["org_id"].as_str().unwrap();
    let token = made["access_token"].as_str().unwrap();
    let (st, _) = crate::orgs::rest(
        &s,
        reqwest::Method::POST,
        token,
        "/sobjects/Account",
        Some(json!({"Name": "Made Only"})),
    );
    assert_eq!(st, 201);
    create(&s, "Account", json!({"Name": "Default Only"}));
    let names = |out: &str| -> Vec<String> {
        let v: Value = serde_json::from_str(out).unwrap();
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (ok, out, err) = cli(
        &s,
        &["query", "--org", org, "--json", "SELECT Name FROM Account"],
    );
    assert!(ok, "{err}");
    assert_eq!(names(&out), ["Made Only"]);
    let (ok, out, err) = cli(&s, &["query", "--json", "SELECT Name FROM Account"]);
    assert!(ok, "{err}");
    assert_eq!(names(&out), ["Default Only"]);
    let (ok, out, err) = cli(&s, &["export", "Account", "--org", org]);
    assert!(ok, "{err}");
    assert!(
        out.contains("Made Only") && !out.contains("Default Only"),
        "{out}"
    );
    let (ok, out, err) = cli(
        &s,
        &[
            "tail",
            "--org",
            org,
            "/data/AccountChangeEvent",
            "--replay",
            "-2",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("Made Only") && !out.contains("Default Only"),
        "{out}"
    );
    let (ok, _, err) = cli(
        &s,
        &[
            "query",
            "--org",
            "00DFb0000000000AAA",
            "SELECT Id FROM Account",
        ],
    );
    assert!(!ok);
    assert!(err.contains("no token for the org"), "{err}");
}
