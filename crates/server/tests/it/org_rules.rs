//! The org's rules as clients meet them on the wire: an sfdx project's formula fields
//! (describe, REST retrieve, SOQL, a parent path), its validation rules (the REST error
//! body, sObject Collections, Bulk API 2.0's failed results), field history, the
//! test control that turns validation rules off, and the Tooling API's ValidationRule;
//! a project whose formula does not compile stops the start.

use std::path::PathBuf;
use std::process::Command;

use forcebus_testkit::{Options, Server};
use serde_json::{Value, json};

use crate::bulk2::{csv, new_job, patch_state, upload, wait};
use crate::{Authed, bin, create, get, j, post_record, records};

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/rules-project")
}

fn server() -> Server {
    Server::start_with(
        &bin(),
        Options {
            in_memory: true,
            args: vec!["--project".into(), project().display().to_string()],
            ..Default::default()
        },
    )
}

#[test]
fn formula_fields_describe_and_read_as_salesforce_computes_them() {
    let s = server();
    let (st, d) = get(&s, "/sobjects/Account/describe");
    assert_eq!(st, 200);
    let health = d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Health__c")
        .unwrap();
    assert_eq!(health["calculated"], true);
    assert_eq!(
        health["calculatedFormula"],
        r#"IF(Score__c >= 50, "Good", "Poor")"#
    );
    assert_eq!(health["createable"], false);
    assert_eq!(health["updateable"], false);
    assert_eq!(health["filterable"], true);
    assert_eq!(health["groupable"], false);
    assert_eq!(health["formulaTreatNullNumberAsZero"], true);
    let a = create(&s, "Account", json!({"Name": "Acme", "Score__c": 70}));
    create(&s, "Account", json!({"Name": "Beta", "Score__c": 20}));
    create(&s, "Contact", json!({"LastName": "Smith", "AccountId": a}));
    let (st, got) = get(&s, &format!("/sobjects/Account/{a}"));
    assert_eq!(st, 200);
    assert_eq!(got["Health__c"], "Good");
    let rows = records(
        &s,
        "SELECT Name FROM Account WHERE Health__c = 'Poor' ORDER BY Health__c",
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["Name"], "Beta");
    let rows = records(
        &s,
        "SELECT Account_Health__c, Account.Health__c FROM Contact",
    );
    assert_eq!(rows[0]["Account_Health__c"], "Acme: Good");
    assert_eq!(rows[0]["Account"]["Health__c"], "Good");
    let (st, body) = post_record(&s, "Account", json!({"Name": "X", "Health__c": "Good"}));
    assert_eq!(st, 400);
    assert_eq!(body[0]["errorCode"], "INVALID_FIELD_FOR_INSERT_UPDATE");
}

#[test]
fn a_broken_rule_is_a_field_custom_validation_exception_on_every_api() {
    let s = server();
    let (st, body) = post_record(&s, "Account", json!({"Name": "A", "Score__c": 120}));
    assert_eq!(st, 400);
    assert_eq!(
        body,
        json!([{"message": "Score must be between 0 and 100",
                "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "fields": ["Score__c"]}])
    );
    let opp =
        json!({"Name": "O", "StageName": "Prospecting", "CloseDate": "2026-12-01", "Amount": -1});
    let (st, body) = post_record(&s, "Opportunity", opp.clone());
    assert_eq!(st, 400);
    assert_eq!(
        body[0]["fields"],
        json!([]),
        "no display field: an empty list"
    );
    // sObject Collections: the refused record's statusCode, the other written.
    let (st, results) = j(s
        .http()
        .post(format!("{}/composite/sobjects", s.data()))
        .bearer(&s)
        .json(&json!({"allOrNone": false, "records": [
            {"attributes": {"type": "Account"}, "Name": "Bad", "Score__c": -5},
            {"attributes": {"type": "Account"}, "Name": "Fine", "Score__c": 5}
        ]}))
        .send()
        .unwrap());
    assert_eq!(st, 200);
    assert_eq!(
        results[0]["errors"][0]["statusCode"],
        "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    );
    assert_eq!(results[1]["success"], true);
    assert!(records(&s, "SELECT Id FROM Account WHERE Name = 'Bad'").is_empty());
    // Bulk API 2.0: the failed result names the rule's message.
    let job = new_job(
        &s,
        "ingest",
        json!({"object": "Account", "operation": "insert", "lineEnding": "LF"}),
    );
    let id = job["id"].as_str().unwrap();
    assert_eq!(
        upload(&s, id, "Name,Score__c\nBulk Bad,300\nBulk Fine,30\n").0,
        201
    );
    patch_state(&s, "ingest", id, "UploadComplete");
    let done = wait(&s, "ingest", id);
    assert_eq!(done["numberRecordsFailed"], 1);
    let failed = csv(&s, &format!("/jobs/ingest/{id}/failedResults"));
    assert!(
        failed.contains(
            "\"FIELD_CUSTOM_VALIDATION_EXCEPTION:Score must be between 0 and 100:Score__c --\""
        ),
        "{failed}"
    );
}

#[test]
fn the_rules_control_turns_validation_off_for_a_data_load() {
    let s = server();
    let control = |on: bool| {
        j(s.http()
            .post(format!("{}/forcebus/v1/control/rules", s.base()))
            .bearer(&s)
            .json(&json!({"validation_rules": on}))
            .send()
            .unwrap())
    };
    let (st, view) = control(false);
    assert_eq!(st, 200, "{view}");
    assert_eq!(view["rules"]["validation_rules"], false);
    assert!(
        view["active"]
            .as_array()
            .unwrap()
            .contains(&json!("rules.validation_off"))
    );
    assert_eq!(
        post_record(&s, "Account", json!({"Name": "Load", "Score__c": 500})).0,
        201
    );
    control(true);
    assert_eq!(
        post_record(&s, "Account", json!({"Name": "Load", "Score__c": 500})).0,
        400
    );
}

#[test]
fn history_and_tooling_validation_rules() {
    let s = server();
    let a = create(&s, "Account", json!({"Name": "H", "Score__c": 10}));
    let (st, _) = j(s
        .http()
        .patch(format!("{}/sobjects/Account/{a}", s.data()))
        .bearer(&s)
        .json(&json!({"Score__c": 20}))
        .send()
        .unwrap());
    assert_eq!(st, 204);
    let rows = records(
        &s,
        "SELECT Field, OldValue, NewValue FROM AccountHistory ORDER BY CreatedDate",
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[1],
        json!({"attributes": rows[1]["attributes"], "Field": "Score__c", "OldValue": 10.0, "NewValue": 20.0})
    );
    // A rule made through the Tooling API runs at once; a bad one is refused.
    let tooling = |body: Value| {
        j(s.http()
            .post(format!("{}/tooling/sobjects/ValidationRule", s.data()))
            .bearer(&s)
            .json(&body)
            .send()
            .unwrap())
    };
    let (st, made) = tooling(json!({"FullName": "Account.Name_Long_Enough",
        "Metadata": {"errorConditionFormula": "LEN(Name) < 3", "errorMessage": "Name too short", "active": true}}));
    assert_eq!(st, 201, "{made}");
    assert_eq!(
        post_record(&s, "Account", json!({"Name": "AB"})).1[0]["message"],
        "Name too short"
    );
    let (st, bad) = tooling(json!({"FullName": "Account.Bad",
        "Metadata": {"errorConditionFormula": "LEFT(Score__c, 2) = 'x'", "errorMessage": "x"}}));
    assert_eq!(st, 400);
    assert_eq!(
        bad[0]["message"],
        "Incorrect parameter type for function 'LEFT()'. Expected Text, received Number"
    );
    let (st, q) = get(
        &s,
        "/tooling/query?q=SELECT+ValidationName,ErrorMessage+FROM+ValidationRule",
    );
    assert_eq!(st, 200, "{q}");
    let names: Vec<&str> = q["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["ValidationName"].as_str())
        .collect();
    for want in ["Score_In_Range", "Amount_Positive", "Name_Long_Enough"] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
}

#[test]
fn a_formula_that_does_not_compile_stops_the_start() {
    let dir = tempfile_dir();
    let objects = dir.join("force-app/objects/Account/fields");
    std::fs::create_dir_all(&objects).unwrap();
    std::fs::write(
        dir.join("sfdx-project.json"),
        r#"{"packageDirectories": [{"path": "force-app"}]}"#,
    )
    .unwrap();
    std::fs::write(
        objects.join("Broken__c.field-meta.xml"),
        r#"<?xml version="1.0" encoding="UTF-8"?><CustomField xmlns="http://soap.sforce.com/2006/04/metadata"><fullName>Broken__c</fullName><formula>Nope__c * 2</formula><label>Broken</label><precision>18</precision><scale>0</scale><type>Number</type></CustomField>"#,
    )
    .unwrap();
    let out = Command::new(bin())
        .args([
            "serve",
            "--in-memory",
            "--listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
            "--project",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Account.Broken__c")
            && err.contains("Field Nope__c does not exist. Check spelling."),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "forcebus-rules-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
