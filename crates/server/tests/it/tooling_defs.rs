//! Tooling queries of the schema definitions: `EntityDefinition`, `FieldDefinition` (with
//! its entity filter), `CustomField`, built from the live schema (a field made a moment
//! ago is there), and these objects' query rules.

use serde_json::{Value, json};

use crate::{Authed, code, get, j, server, soql};

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

/// The schema objects are in the Tooling describeGlobal and have describes whose columns
/// are their rows' (writable ones take `FullName` and `Metadata`).
#[test]
fn schema_objects_are_described_by_the_tooling_api() {
    let s = server();
    let (st, global) = get(&s, "/tooling/sobjects");
    assert_eq!(st, 200, "{global}");
    let names: Vec<&str> = global["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    for name in [
        "CustomField",
        "CustomObject",
        "EntityDefinition",
        "FieldDefinition",
        "PlatformEventChannel",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "in name order");

    let (st, d) = get(&s, "/tooling/sobjects/FieldDefinition/describe");
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["createable"], false);
    let field = |d: &serde_json::Value, name: &str| {
        d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {d}"))
    };
    assert_eq!(field(&d, "DataType")["type"], "string");
    assert_eq!(field(&d, "IsNillable")["type"], "boolean");
    assert!(
        d["urls"]["describe"]
            .as_str()
            .unwrap()
            .contains("/tooling/sobjects/FieldDefinition/describe")
    );

    let (st, d) = get(&s, "/tooling/sobjects/CustomField/describe");
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["createable"], true);
    assert_eq!(d["keyPrefix"], "00N");
    assert_eq!(field(&d, "Metadata")["createable"], true);
    assert_eq!(field(&d, "Id")["createable"], false);
    let (st, basic) = get(&s, "/tooling/sobjects/EntityDefinition");
    assert_eq!(st, 200, "{basic}");
    assert_eq!(basic["objectDescribe"]["name"], "EntityDefinition");
    assert_eq!(get(&s, "/tooling/sobjects/NoSuchThing/describe").0, 404);
}

/// The Tooling API's plain record objects (`DebugLevel`, `TraceFlag`, as `sf apex tail
/// log` and jsforce's own suite use them): created, read, queried, updated and deleted
/// through `/tooling/sobjects`, checked as any record (levels from their picklist), and
/// unknown to the data API.
#[test]
fn debug_levels_and_trace_flags_are_tooling_records() {
    let s = server();
    let tooling = |path: &str| format!("{}/tooling/sobjects/{path}", s.data());
    let levels = json!({"DeveloperName": "jsforce_testing", "MasterLabel": "jsforce Testing",
        "ApexCode": "ERROR", "ApexProfiling": "ERROR", "Callout": "ERROR", "Database": "ERROR",
        "System": "ERROR", "Validation": "ERROR", "Visualforce": "ERROR", "Workflow": "ERROR"});
    let (st, made) = j(s
        .http()
        .post(tooling("DebugLevel"))
        .bearer(&s)
        .json(&levels)
        .send()
        .unwrap());
    assert_eq!(st, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("7dl"), "{id}");
    let (st, got) = j(s
        .http()
        .get(tooling(&format!("DebugLevel/{id}")))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 200, "{got}");
    assert_eq!(got["DeveloperName"], "jsforce_testing");
    assert_eq!(got["Language"], "en_US");
    let st = s
        .http()
        .patch(tooling(&format!("DebugLevel/{id}")))
        .bearer(&s)
        .json(&json!({"ApexCode": "DEBUG"}))
        .send()
        .unwrap()
        .status();
    assert_eq!(st, 204);
    let (st, bad) = j(s
        .http()
        .patch(tooling(&format!("DebugLevel/{id}")))
        .bearer(&s)
        .json(&json!({"ApexCode": "LOUD"}))
        .send()
        .unwrap());
    assert_eq!(st, 400, "{bad}");
    assert_eq!(code(&bad), "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    let user = s.ready.user_id.clone();
    let (st, flag) = j(s
        .http()
        .post(tooling("TraceFlag"))
        .bearer(&s)
        .json(
            &json!({"TracedEntityId": user, "DebugLevelId": id, "LogType": "DEVELOPER_LOG",
            "ExpirationDate": crate::an_hour_from_now()}),
        )
        .send()
        .unwrap());
    assert_eq!(st, 201, "{flag}");
    let (st, r) = tooling_query(
        &s,
        "SELECT Id, LogType, DebugLevel.DeveloperName, DebugLevel.ApexCode FROM TraceFlag",
    );
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["records"][0]["DebugLevel"]["ApexCode"], "DEBUG", "{r}");
    // The data API does not serve them, one at a time or in a collection.
    let (st, _) = get(&s, &format!("/sobjects/DebugLevel/{id}"));
    assert_eq!(st, 404);
    let (st, r) = j(s
        .http()
        .post(format!("{}/composite/sobjects", s.data()))
        .bearer(&s)
        .json(&json!({"records": [{"attributes": {"type": "DebugLevel"}, "DeveloperName": "x", "MasterLabel": "x"}]}))
        .send()
        .unwrap());
    assert_eq!(st, 200, "{r}");
    assert_eq!(r[0]["errors"][0]["statusCode"], "INVALID_TYPE", "{r}");
    let (_, r) = j(s
        .http()
        .delete(format!("{}/composite/sobjects?ids={id}", s.data()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(r[0]["errors"][0]["statusCode"], "INVALID_TYPE", "{r}");
    let flag_id = flag["id"].as_str().unwrap();
    for path in [format!("TraceFlag/{flag_id}"), format!("DebugLevel/{id}")] {
        let st = s
            .http()
            .delete(tooling(&path))
            .bearer(&s)
            .send()
            .unwrap()
            .status();
        assert_eq!(st, 204, "{path}");
    }
    let (_, r) = tooling_query(&s, "SELECT Id FROM DebugLevel");
    assert_eq!(r["totalSize"], 0, "{r}");
}

/// The `QualifiedApiName` of each record of a query's answer, in order.
fn api_names(answer: &Value) -> Vec<&str> {
    answer["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rec| rec["QualifiedApiName"].as_str().unwrap())
        .collect()
}

/// `EntityDefinition` and `FieldDefinition` answer the data API's `/query` too (SFDMU lists
/// an org's objects with this query), in `ORDER BY`'s order; `CustomField` does not.
#[test]
fn entity_and_field_definitions_answer_the_data_api_in_order() {
    let s = server();
    let (st, r) = soql(
        &s,
        "SELECT QualifiedApiName, Label FROM EntityDefinition WHERE IsDeprecatedAndHidden = false ORDER BY QualifiedApiName",
    );
    assert_eq!(st, 200, "{r}");
    let names = api_names(&r);
    assert!(
        names.contains(&"Account") && names.contains(&"Contact"),
        "{names:?}"
    );
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted);
    assert_eq!(r["totalSize"].as_u64(), Some(names.len() as u64));
    let account = &r["records"][names.iter().position(|n| *n == "Account").unwrap()];
    assert_eq!(account["Label"], "Account", "{account}");
    assert_eq!(
        account["attributes"]["url"], "/services/data/v59.0/sobjects/EntityDefinition/Account",
        "{account}"
    );
    // The data API's answer, not the Tooling API's.
    assert!(
        r.get("entityTypeName").is_none() && r.get("size").is_none(),
        "{r}"
    );
    // Nulls first unless NULLS LAST (only custom objects have a DeploymentStatus).
    for (order, custom_at_start) in [("DESC", false), ("DESC NULLS LAST", true)] {
        let (st, r) = soql(
            &s,
            &format!(
                "SELECT QualifiedApiName FROM EntityDefinition ORDER BY DeploymentStatus {order}"
            ),
        );
        assert_eq!(st, 200, "{r}");
        let in_order = api_names(&r);
        let name = if custom_at_start {
            in_order[0]
        } else {
            in_order[in_order.len() - 1]
        };
        assert!(name.ends_with("__c"), "{order}: {name}");
    }
    // Descending, through the Tooling API as well.
    let (st, r) = tooling_query(
        &s,
        "SELECT QualifiedApiName FROM EntityDefinition WHERE IsCustomizable = true ORDER BY QualifiedApiName DESC",
    );
    assert_eq!(st, 200, "{r}");
    let desc = api_names(&r);
    assert_eq!(desc, sorted.into_iter().rev().collect::<Vec<_>>());
    assert_eq!(
        r["records"][0]["attributes"]["url"],
        format!(
            "/services/data/v59.0/tooling/sobjects/EntityDefinition/{}",
            desc[0]
        ),
        "{r}"
    );
    let (st, r) = soql(
        &s,
        "SELECT QualifiedApiName, DataType FROM FieldDefinition WHERE EntityDefinition.QualifiedApiName = 'Account' AND QualifiedApiName = 'Name'",
    );
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["records"][0]["DataType"], "Name", "{r}");
    let (st, r) = soql(&s, "SELECT Id FROM CustomField");
    assert_eq!((st, code(&r)), (400, "INVALID_TYPE"), "{r}");
}
