//! `forcebus serve --project DIR`: an sfdx project's custom objects, fields on standard
//! objects and platform events are the org's from the start; a broken project stops the
//! start naming the file.

use std::path::PathBuf;
use std::process::Command;

use forcebus_testkit::{Options, Server};
use serde_json::{Value, json};

use crate::{Authed, bin, get, j};

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../compat/fixtures/sfdx-project")
}

#[test]
fn the_sample_projects_schema_is_there_from_the_start() {
    let s = Server::start_with(
        &bin(),
        Options {
            in_memory: true,
            args: vec!["--project".into(), sample().display().to_string()],
            ..Default::default()
        },
    );
    let (st, d) = get(&s, "/sobjects/Invoice__c/describe");
    assert_eq!(st, 200, "{d}");
    let types: Vec<(String, String)> = d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["custom"] == true)
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for want in [
        ("Amount__c", "currency"),
        ("Status__c", "picklist"),
        ("Due_Date__c", "date"),
        ("Paid__c", "boolean"),
        ("Account__c", "reference"),
        ("Notes__c", "textarea"),
        ("Billing_Email__c", "email"),
    ] {
        assert!(
            types.iter().any(|(n, t)| n == want.0 && t == want.1),
            "{want:?} in {types:?}"
        );
    }
    let (st, a) = get(&s, "/sobjects/Account/describe");
    assert_eq!(st, 200);
    assert!(
        a["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "Region__c")
    );
    assert!(
        a["childRelationships"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["relationshipName"] == "Invoices__r")
    );
    let (st, made) = j(s
        .http()
        .post(format!("{}/sobjects/Invoice__c", s.data()))
        .bearer(&s)
        .json(&json!({"Name": "INV-1"}))
        .send()
        .unwrap());
    assert_eq!(st, 201, "{made}");
    let (_, r) = get(
        &s,
        &format!("/sobjects/Invoice__c/{}", made["id"].as_str().unwrap()),
    );
    assert_eq!(
        (r["Status__c"].as_str(), r["Paid__c"].as_bool()),
        (Some("Draft"), Some(false)),
        "defaults"
    );
    let (st, e) = j(s
        .http()
        .post(format!("{}/sobjects/Invoice_Paid__e", s.data()))
        .bearer(&s)
        .json(&json!({"Invoice_Number__c": "INV-1", "Amount__c": 10.5}))
        .send()
        .unwrap());
    assert_eq!(st, 201, "{e}");
    let (st, e) = j(s
        .http()
        .post(format!("{}/sobjects/Invoice_Paid__e", s.data()))
        .bearer(&s)
        .json(&json!({"Amount__c": 1}))
        .send()
        .unwrap());
    assert_eq!(st, 400, "the project's required field: {e}");
}

#[test]
fn a_broken_project_stops_the_start_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("fb-bad-project-{}", std::process::id()));
    let fields = dir.join("force-app/main/default/objects/Account/fields");
    std::fs::create_dir_all(&fields).unwrap();
    std::fs::write(
        dir.join("sfdx-project.json"),
        r#"{"packageDirectories": [{"path": "force-app"}]}"#,
    )
    .unwrap();
    std::fs::write(
        fields.join("Broken__c.field-meta.xml"),
        "<CustomField><label>x</label><type>Text",
    )
    .unwrap();
    let serve = |project: &std::path::Path| {
        let out = Command::new(bin())
            .args([
                "serve",
                "--in-memory",
                "--listen",
                "127.0.0.1:0",
                "--grpc-listen",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(dir.join("data"))
            .arg("--project")
            .arg(project)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = serve(&dir);
    assert!(
        err.contains("Broken__c.field-meta.xml is not well-formed XML"),
        "{err}"
    );
    std::fs::write(
        fields.join("Broken__c.field-meta.xml"),
        "<CustomField><label>x</label><type>Hologram</type></CustomField>",
    )
    .unwrap();
    let err = serve(&dir);
    assert!(
        err.contains("Broken__c.field-meta.xml: Field type Hologram is not supported"),
        "{err}"
    );
    let err = serve(&dir.join("nowhere"));
    assert!(err.contains("is not an sfdx project"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Describes saved from one org (as `sf sobject describe --json` writes them) give another
/// org the same custom objects and fields; a formula field is left out.
#[test]
fn describes_from_one_org_mirror_its_schema_in_another() {
    let a = Server::start_with(
        &bin(),
        Options {
            in_memory: true,
            args: vec!["--project".into(), sample().display().to_string()],
            ..Default::default()
        },
    );
    let dir = std::env::temp_dir().join(format!("fb-describes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let custom = |d: &serde_json::Value| -> Vec<(String, String, Option<u64>)> {
        d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["custom"] == true && f["calculated"] != true)
            .map(|f| {
                (
                    f["name"].as_str().unwrap().to_owned(),
                    f["type"].as_str().unwrap().to_owned(),
                    f["length"].as_u64(),
                )
            })
            .collect()
    };
    let mut wanted = Vec::new();
    for object in ["Invoice__c", "Account"] {
        let (st, mut d) = get(&a, &format!("/sobjects/{object}/describe"));
        assert_eq!(st, 200);
        wanted.push((object, custom(&d)));
        if object == "Account" {
            d["fields"].as_array_mut().unwrap().push(json!({"name": "Score__c", "custom": true, "calculated": true, "type": "double", "label": "Score"}));
        }
        std::fs::write(
            dir.join(format!("{object}.json")),
            json!({"status": 0, "result": d}).to_string(),
        )
        .unwrap();
    }
    let b = Server::start_with(
        &bin(),
        Options {
            in_memory: true,
            args: vec!["--describes".into(), dir.display().to_string()],
            ..Default::default()
        },
    );
    for (object, fields) in wanted {
        let (st, d) = get(&b, &format!("/sobjects/{object}/describe"));
        assert_eq!(st, 200, "{object}");
        assert_eq!(custom(&d), fields, "{object}");
    }
    let (_, d) = get(&b, "/sobjects/Account/describe");
    assert!(
        !d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "Score__c"),
        "the formula field is left out"
    );
    let (st, made) = j(b
        .http()
        .post(format!("{}/sobjects/Invoice__c", b.data()))
        .bearer(&b)
        .json(&json!({"Name": "INV-9"}))
        .send()
        .unwrap());
    assert_eq!(st, 201, "{made}");
    let (_, r) = get(
        &b,
        &format!("/sobjects/Invoice__c/{}", made["id"].as_str().unwrap()),
    );
    assert_eq!(r["Status__c"], "Draft", "the picklist default came along");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_standard_picklists_values_come_from_mirrored_describes_or_the_config() {
    let a = Server::start_with(
        &bin(),
        Options {
            in_memory: true,
            ..Default::default()
        },
    );
    let (st, mut lead) = get(&a, "/sobjects/Lead/describe");
    assert_eq!(st, 200);
    let status = lead["fields"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["name"] == "Status")
        .unwrap();
    // The real org's statuses: one more, one retired (inactive), another default.
    let values = status["picklistValues"].as_array_mut().unwrap();
    for v in values.iter_mut() {
        v["defaultValue"] = json!(v["value"] == "Working - Contacted");
        if v["value"] == "Closed - Not Converted" {
            v["active"] = json!(false);
        }
    }
    values.push(json!({"active": true, "defaultValue": false, "label": "Nurturing", "validFor": null, "value": "Nurturing"}));
    let dir = std::env::temp_dir().join(format!("fb-picklists-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Lead.json"),
        json!({"status": 0, "result": lead}).to_string(),
    )
    .unwrap();
    let config = dir.join("forcebus.toml");
    std::fs::write(
        &config,
        "[objects.Account.picklists.Rating]\nvalues = [\"Platinum\", \"Gold\"]\ndefault = \"Gold\"\n",
    )
    .unwrap();
    let b = Server::start_with(
        &bin(),
        Options {
            in_memory: true,
            args: vec![
                "--describes".into(),
                dir.display().to_string(),
                "--config".into(),
                config.display().to_string(),
            ],
            ..Default::default()
        },
    );
    let statuses: Vec<String> = crate::records(
        &b,
        "SELECT ApiName, IsDefault FROM LeadStatus ORDER BY SortOrder",
    )
    .iter()
    .map(|r| {
        format!(
            "{}{}",
            r["ApiName"].as_str().unwrap(),
            if r["IsDefault"] == true { "*" } else { "" }
        )
    })
    .collect();
    assert_eq!(
        statuses,
        [
            "Open - Not Contacted",
            "Working - Contacted*",
            "Closed - Converted",
            "Nurturing"
        ]
    );
    let l = crate::create(&b, "Lead", json!({"LastName": "L", "Company": "C"}));
    let (_, l) = get(&b, &format!("/sobjects/Lead/{l}"));
    assert_eq!(l["Status"], "Working - Contacted", "the mirrored default");
    let (_, account) = get(&b, "/sobjects/Account/describe");
    let rating = account["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Rating")
        .unwrap();
    let values: Vec<&Value> = rating["picklistValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["value"])
        .collect();
    assert_eq!(values, [&json!("Platinum"), &json!("Gold")]);
    let _ = std::fs::remove_dir_all(&dir);
}
