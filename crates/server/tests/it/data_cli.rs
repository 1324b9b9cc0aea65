//! `forcebus query`, `search` and `publish` against a running server, found from its data
//! dir (or `--url` and `--token`): tables for people, `--json` for scripts, Salesforce's
//! errors as the command's failure.

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
