//! The Tooling API's schema objects over HTTP: `CustomField` and `CustomObject` created,
//! read and deleted; describe and SOQL follow at once; a CometD subscriber connected
//! before the change receives the next change event in the new schema; a restart keeps it.

use forcebus_testkit::Server;
use serde_json::{Value, json};

use crate::platform::{drain, subscribe};
use crate::{Authed, code, get, j, server};

fn tooling(s: &Server, object: &str, body: Value) -> (u16, Value) {
    j(s.http()
        .post(format!("{}/tooling/sobjects/{object}", s.data()))
        .bearer(s)
        .json(&body)
        .send()
        .unwrap())
}

fn create(s: &Server, object: &str, fields: Value) -> (u16, Value) {
    j(s.http()
        .post(format!("{}/sobjects/{object}", s.data()))
        .bearer(s)
        .json(&fields)
        .send()
        .unwrap())
}

fn schema_id(s: &Server, event: &str) -> String {
    let (st, body) = get(s, &format!("/sobjects/{event}/eventSchema"));
    assert_eq!(st, 200, "{body}");
    body["uuid"].as_str().unwrap().to_owned()
}

#[test]
fn a_custom_field_made_through_the_tooling_api_is_live_for_a_connected_subscriber() {
    let s = server();
    let old = schema_id(&s, "AccountChangeEvent");
    let (client, sub) = subscribe(&s, "/data/AccountChangeEvent", -1);
    assert_eq!(sub["successful"], json!(true), "{sub}");
    let (st, made) = tooling(
        &s,
        "CustomField",
        json!({"FullName": "Account.Rating_Score__c", "Metadata": {"label": "Rating Score", "type": "Number", "precision": 5, "scale": 1}}),
    );
    assert_eq!(st, 201, "{made}");
    assert_eq!(made["success"], json!(true));
    let id = made["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("00N") && id.len() == 18, "{id}");
    // Describe and SOQL see it at once.
    let (_, d) = get(&s, "/sobjects/Account/describe");
    let f = d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Rating_Score__c")
        .expect("described");
    assert_eq!(
        (
            f["type"].as_str(),
            f["precision"].as_u64(),
            f["scale"].as_u64()
        ),
        (Some("double"), Some(5), Some(1))
    );
    let new = schema_id(&s, "AccountChangeEvent");
    assert_ne!(new, old);
    let (st, _) = get(&s, &format!("/event/eventSchema/{old}"));
    assert_eq!(st, 200, "the old schema id still resolves");
    // The connected subscriber gets the next event in the new schema, with the field.
    let (st, rec) = create(
        &s,
        "Account",
        json!({"Name": "Rated", "Rating_Score__c": 4.5}),
    );
    assert_eq!(st, 201, "{rec}");
    let events = drain(&s, &client);
    let data = &events
        .last()
        .unwrap_or_else(|| panic!("no event"))
        .get("data")
        .cloned()
        .unwrap();
    assert_eq!(data["schema"], json!(new));
    assert_eq!(data["payload"]["Rating_Score__c"], json!(4.5));
    let (st, q) = get(&s, "/query?q=SELECT+Rating_Score__c+FROM+Account");
    assert_eq!(
        (st, q["records"][0]["Rating_Score__c"].clone()),
        (200, json!(4.5))
    );
    // Read back as the Tooling API shows it.
    let (st, back) = get(&s, &format!("/tooling/sobjects/CustomField/{id}"));
    assert_eq!(st, 200, "{back}");
    assert_eq!(back["FullName"], "Account.Rating_Score__c");
    assert_eq!(back["DeveloperName"], "Rating_Score");
    assert_eq!(back["TableEnumOrId"], "Account");
    assert_eq!(back["Metadata"]["type"], "Number");
    assert_eq!(back["Metadata"]["precision"], json!(5));
    // Deleted: gone from describe and SOQL, its values with it.
    let r = s
        .http()
        .delete(format!("{}/tooling/sobjects/CustomField/{id}", s.data()))
        .bearer(&s)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let (st, q) = get(&s, "/query?q=SELECT+Rating_Score__c+FROM+Account");
    assert_eq!((st, code(&q)), (400, "INVALID_FIELD"));
    let (st, _) = get(&s, &format!("/tooling/sobjects/CustomField/{id}"));
    assert_eq!(st, 404);
}

#[test]
fn a_custom_object_and_its_fields_survive_a_restart() {
    let mut s = Server::start_with(&crate::bin(), forcebus_testkit::Options::default());
    let (st, o) = tooling(
        &s,
        "CustomObject",
        json!({"FullName": "Employee__c", "Metadata": {"label": "Employee", "pluralLabel": "Employees"}}),
    );
    assert_eq!(st, 201, "{o}");
    let object_id = o["id"].as_str().unwrap().to_owned();
    assert!(object_id.starts_with("01I"));
    let (st, f) = tooling(
        &s,
        "CustomField",
        json!({"FullName": "Employee__c.Level__c", "Metadata": {"label": "Level", "type": "Picklist",
               "valueSet": {"restricted": true, "valueSetDefinition": {"value": [{"fullName": "Junior", "default": true}, {"fullName": "Senior"}]}}}}),
    );
    assert_eq!(st, 201, "{f}");
    let (st, e) = create(&s, "Employee__c", json!({"Name": "Ada"}));
    assert_eq!(st, 201, "{e}");
    let (st, bad) = create(
        &s,
        "Employee__c",
        json!({"Name": "Bob", "Level__c": "Chief"}),
    );
    assert_eq!(
        (st, code(&bad)),
        (400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
    );
    s.kill();
    s.restart();
    let (st, r) = get(
        &s,
        &format!("/sobjects/Employee__c/{}", e["id"].as_str().unwrap()),
    );
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        (r["Name"].as_str(), r["Level__c"].as_str()),
        (Some("Ada"), Some("Junior")),
        "the picklist default"
    );
    let (st, back) = get(&s, &format!("/tooling/sobjects/CustomObject/{object_id}"));
    assert_eq!((st, back["FullName"].as_str()), (200, Some("Employee__c")));
    let (_, d) = get(&s, "/sobjects/Employee__c/describe");
    assert_eq!(d["labelPlural"], "Employees");
}

#[test]
fn bad_schema_changes_get_salesforce_errors_and_change_nothing() {
    let s = server();
    let dup = json!({"FullName": "Account.Dup__c", "Metadata": {"label": "D", "type": "Text", "length": 10}});
    assert_eq!(tooling(&s, "CustomField", dup.clone()).0, 201);
    let (st, v) = tooling(&s, "CustomField", dup);
    assert_eq!((st, code(&v)), (400, "DUPLICATE_DEVELOPER_NAME"), "{v}");
    let before = schema_id(&s, "AccountChangeEvent");
    for (object, body, want) in [
        (
            "CustomField",
            json!({"FullName": "Account.Name", "Metadata": {"label": "N", "type": "Text", "length": 10}}),
            "FIELD_INTEGRITY_EXCEPTION",
        ),
        (
            "CustomField",
            json!({"FullName": "Account.Bad Name__c", "Metadata": {"label": "N", "type": "Text", "length": 10}}),
            "FIELD_INTEGRITY_EXCEPTION",
        ),
        (
            "CustomField",
            json!({"FullName": "Account.F__c", "Metadata": {"label": "F", "type": "Formula"}}),
            "INVALID_INPUT",
        ),
        (
            "CustomField",
            json!({"FullName": "Account.T__c", "Metadata": {"label": "T", "type": "Text"}}),
            "INVALID_INPUT",
        ),
        (
            "CustomField",
            json!({"FullName": "Account.T__c", "Metadata": {"label": "T", "type": "Text", "length": 256}}),
            "INVALID_INPUT",
        ),
        (
            "CustomField",
            json!({"FullName": "Nope__c.T__c", "Metadata": {"label": "T", "type": "Text", "length": 5}}),
            "INVALID_TYPE",
        ),
        (
            "CustomField",
            json!({"FullName": "Account.L__c", "Metadata": {"label": "L", "type": "Lookup", "referenceTo": "Nope__c"}}),
            "INVALID_INPUT",
        ),
        (
            "CustomField",
            json!({"FullName": "Account.T__c"}),
            "INVALID_INPUT",
        ),
        (
            "CustomField",
            json!({"FullName": "NoDot", "Metadata": {"type": "Text", "length": 5}}),
            "INVALID_INPUT",
        ),
        (
            "CustomObject",
            json!({"FullName": "Account", "Metadata": {"label": "A"}}),
            "FIELD_INTEGRITY_EXCEPTION",
        ),
        (
            "CustomObject",
            json!({"FullName": "Widget__c", "Metadata": {}}),
            "INVALID_INPUT",
        ),
    ] {
        let (st, v) = tooling(&s, object, body.clone());
        assert_eq!((st, code(&v)), (400, want), "{body}: {v}");
    }
    assert_eq!(
        schema_id(&s, "AccountChangeEvent"),
        before,
        "nothing changed"
    );
    let (st, _) = get(&s, "/sobjects/Widget__c/describe");
    assert_eq!(st, 404);
}

#[test]
fn a_field_a_channel_member_filters_on_stays_until_the_member_goes() {
    let s = server();
    let (st, f) = tooling(
        &s,
        "CustomField",
        json!({"FullName": "Account.Grade__c", "Metadata": {"label": "Grade", "type": "Text", "length": 5}}),
    );
    assert_eq!(st, 201, "{f}");
    let field_id = f["id"].as_str().unwrap().to_owned();
    let (st, c) = tooling(
        &s,
        "PlatformEventChannel",
        json!({"FullName": "Grades__chn", "Metadata": {"channelType": "data", "label": "Grades"}}),
    );
    assert_eq!(st, 201, "{c}");
    let (st, m) = tooling(
        &s,
        "PlatformEventChannelMember",
        json!({"FullName": "Grades_chn_AccountChangeEvent", "Metadata": {"eventChannel": "Grades__chn", "selectedEntity": "AccountChangeEvent", "filterExpression": "Grade__c = 'A'"}}),
    );
    assert_eq!(st, 201, "{m}");
    let delete = |id: &str, object: &str| {
        let r = s
            .http()
            .delete(format!("{}/tooling/sobjects/{object}/{id}", s.data()))
            .bearer(&s)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json::<Value>().unwrap_or(Value::Null))
    };
    let (st, body) = delete(&field_id, "CustomField");
    assert_eq!(
        (st, code(&body)),
        (400, "FIELD_INTEGRITY_EXCEPTION"),
        "{body}"
    );
    assert!(
        body[0]["message"].as_str().unwrap().contains("Grades__chn"),
        "{body}"
    );
    assert_eq!(
        delete(m["id"].as_str().unwrap(), "PlatformEventChannelMember").0,
        204
    );
    assert_eq!(delete(&field_id, "CustomField").0, 204);
}
