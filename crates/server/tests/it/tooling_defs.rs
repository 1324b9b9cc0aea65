//! Tooling queries of the schema definitions: `EntityDefinition`, `FieldDefinition` (with
//! its entity filter), `CustomField`, built from the live schema (a field made a moment
//! ago is there), and these objects' query rules.

use serde_json::{Value, json};

use crate::{Authed, code, j, server};

fn tooling_query(s: &forcebus_testkit::Server, soql: &str) -> (u16, Value) {
    j(s.http()
        .get(format!("{}/tooling/query", s.data()))
        .query(&[("q", soql)])
        .bearer(s)
        .send()
        .unwrap())
}

#[test]
fn schema_definitions_answer_tooling_queries_from_the_live_schema() {
    let s = server();
    let (st, made) = j(s
        .http()
        .post(format!("{}/tooling/sobjects/CustomField", s.data()))
        .bearer(&s)
        .json(&json!({"FullName": "Account.Segment__c", "Metadata": {"label": "Segment", "type": "Text", "length": 30}}))
        .send()
        .unwrap());
    assert_eq!(st, 201, "{made}");
    let (st, r) = tooling_query(
        &s,
        "SELECT QualifiedApiName, DataType, Length, EntityDefinition.QualifiedApiName FROM FieldDefinition WHERE EntityDefinition.QualifiedApiName = 'Account' AND QualifiedApiName = 'Segment__c'",
    );
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["totalSize"], 1, "{r}");
    let f = &r["records"][0];
    assert_eq!(
        (
            f["QualifiedApiName"].as_str(),
            f["DataType"].as_str(),
            f["Length"].as_u64()
        ),
        (Some("Segment__c"), Some("Text(30)"), Some(30))
    );
    assert_eq!(f["EntityDefinition"]["QualifiedApiName"], "Account");
    assert_eq!(f["attributes"]["type"], "FieldDefinition");
    let (st, r) = tooling_query(
        &s,
        "SELECT DurableId, KeyPrefix, Label FROM EntityDefinition WHERE QualifiedApiName = 'Invoice__c'",
    );
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        r["records"][0]["KeyPrefix"].as_str().map(|p| p.len()),
        Some(3),
        "{r}"
    );
    let (st, r) = tooling_query(
        &s,
        "SELECT Id, DeveloperName, TableEnumOrId FROM CustomField WHERE TableEnumOrId = 'Account'",
    );
    assert_eq!(st, 200, "{r}");
    let names: Vec<&str> = r["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["DeveloperName"].as_str())
        .collect();
    assert!(names.contains(&"Segment"), "{names:?}");
    let segment = r["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["DeveloperName"] == "Segment")
        .unwrap();
    assert_eq!(segment["Id"], made["id"]);
    let (st, r) = tooling_query(
        &s,
        &format!(
            "SELECT FullName, Metadata FROM CustomField WHERE Id = '{}'",
            made["id"].as_str().unwrap()
        ),
    );
    assert_eq!(
        (st, r["records"][0]["Metadata"]["length"].as_u64()),
        (200, Some(30)),
        "{r}"
    );
    // The rules of these objects.
    for (soql, want) in [
        (
            "SELECT QualifiedApiName FROM FieldDefinition",
            "EXTERNAL_OBJECT_UNSUPPORTED_EXCEPTION",
        ),
        (
            "SELECT QualifiedApiName FROM EntityDefinition WHERE QualifiedApiName != 'Account'",
            "MALFORMED_QUERY",
        ),
        (
            "SELECT QualifiedApiName FROM EntityDefinition WHERE QualifiedApiName = 'A' OR QualifiedApiName = 'B'",
            "MALFORMED_QUERY",
        ),
        (
            "SELECT FullName FROM CustomField WHERE TableEnumOrId = 'Account'",
            "MALFORMED_QUERY",
        ),
    ] {
        let (st, r) = tooling_query(&s, soql);
        assert_eq!((st, code(&r)), (400, want), "{soql}: {r}");
    }
}
