//! Record types: made as `RecordType` records, an object's first one gives it
//! `RecordTypeId` (a new change-event schema id) and describe's `recordTypeInfos`; a new
//! record takes the default one; a record's record type must be an active one of its
//! object; all of it kept across a restart.

use forcebus_testkit::Server;
use serde_json::{Value, json};

use crate::{code, create, get, patch_record as patch, post_record as post, records, server};

fn record_type(s: &Server, object: &str, name: &str) -> String {
    create(
        s,
        "RecordType",
        json!({"Name": name, "DeveloperName": name, "SobjectType": object, "IsActive": true}),
    )
}

/// `(developerName, defaultRecordTypeMapping, master)` of each `recordTypeInfos` entry.
fn infos(s: &Server, object: &str) -> Vec<(String, bool, bool)> {
    let (st, d) = get(s, &format!("/sobjects/{object}/describe"));
    assert_eq!(st, 200);
    d["recordTypeInfos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["developerName"].as_str().unwrap().to_owned(),
                i["defaultRecordTypeMapping"].as_bool().unwrap(),
                i["master"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn field_names(s: &Server, object: &str) -> Vec<String> {
    let (_, d) = get(s, &format!("/sobjects/{object}/describe"));
    d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

fn schema_id(s: &Server) -> String {
    let (st, body) = get(s, "/sobjects/AccountChangeEvent/eventSchema");
    assert_eq!(st, 200);
    body["uuid"].as_str().unwrap().to_owned()
}

#[test]
fn an_objects_first_record_type_gives_it_record_type_id_and_a_default() {
    let s = server();
    assert!(!field_names(&s, "Account").contains(&"RecordTypeId".to_owned()));
    assert_eq!(infos(&s, "Account"), [("Master".into(), true, true)]);
    let before = schema_id(&s);

    let business = record_type(&s, "Account", "Business");
    assert!(business.starts_with("012"), "{business}");
    let fields = field_names(&s, "Account");
    let at = fields
        .iter()
        .position(|f| f == "RecordTypeId")
        .expect("the field");
    assert_eq!(
        fields[at - 1],
        "Type",
        "where a Developer Edition org has it"
    );
    assert_eq!(
        infos(&s, "Account"),
        [
            ("Business".into(), true, false),
            ("Master".into(), false, true)
        ]
    );
    assert_ne!(schema_id(&s), before, "the change event's schema changed");
    assert!(
        !field_names(&s, "Contact").contains(&"RecordTypeId".to_owned()),
        "only the record type's object"
    );

    let partner = record_type(&s, "Account", "Partner");
    assert_eq!(
        infos(&s, "Account"),
        [
            ("Business".into(), true, false),
            ("Partner".into(), false, false),
            ("Master".into(), false, true)
        ],
        "by name, the first made stays the default"
    );
    let (st, layouts) = get(&s, "/sobjects/Account/describe/layouts");
    assert_eq!(st, 200);
    let mapped: Vec<&Value> = layouts["recordTypeMappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["developerName"])
        .collect();
    assert_eq!(
        mapped,
        [&json!("Business"), &json!("Partner"), &json!("Master")]
    );
    for id in [&business, &partner] {
        let (st, _) = get(&s, &format!("/sobjects/Account/describe/layouts/{id}"));
        assert_eq!(st, 200, "the layout describe advertises");
    }
    let plain = create(&s, "Account", json!({"Name": "Defaulted"}));
    let chosen = create(
        &s,
        "Account",
        json!({"Name": "Chosen", "RecordTypeId": partner}),
    );
    let rows = records(
        &s,
        "SELECT Name, RecordTypeId, RecordType.DeveloperName FROM Account ORDER BY Name",
    );
    let got: Vec<(&Value, &Value, &Value)> = rows
        .iter()
        .map(|r| {
            (
                &r["Name"],
                &r["RecordTypeId"],
                &r["RecordType"]["DeveloperName"],
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (&json!("Chosen"), &json!(partner), &json!("Partner")),
            (&json!("Defaulted"), &json!(business), &json!("Business"))
        ]
    );
    let (st, types) = get(
        &s,
        "/query?q=SELECT+DeveloperName+FROM+RecordType+WHERE+SobjectType+%3D+%27Account%27+ORDER+BY+DeveloperName",
    );
    assert_eq!(st, 200);
    assert_eq!(types["totalSize"], 2);

    // Refused: another object's record type, a taken or bad developer name, an object
    // without record types.
    let contact_type = record_type(&s, "Contact", "Customer");
    let (st, body) = post(
        &s,
        "Account",
        json!({"Name": "Wrong", "RecordTypeId": contact_type}),
    );
    assert_eq!(
        (st, code(&body)),
        (400, "INVALID_CROSS_REFERENCE_KEY"),
        "{body}"
    );
    let (st, body) = post(
        &s,
        "RecordType",
        json!({"Name": "Again", "DeveloperName": "Business", "SobjectType": "Account"}),
    );
    assert_eq!(
        (st, code(&body)),
        (400, "DUPLICATE_DEVELOPER_NAME"),
        "{body}"
    );
    let (st, body) = post(
        &s,
        "RecordType",
        json!({"Name": "Bad", "DeveloperName": "two__underscores", "SobjectType": "Account"}),
    );
    assert_eq!(
        (st, code(&body)),
        (400, "FIELD_INTEGRITY_EXCEPTION"),
        "{body}"
    );
    let (st, body) = post(
        &s,
        "RecordType",
        json!({"Name": "Topic", "DeveloperName": "Topic", "SobjectType": "PushTopic"}),
    );
    assert_eq!(
        (st, code(&body)),
        (400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        "{body}"
    );
    let (st, _) = post(
        &s,
        "RecordType",
        json!({"Name": "Invoices", "DeveloperName": "Invoices", "SobjectType": "Invoice__c", "IsActive": true}),
    );
    assert_eq!(st, 201, "custom objects have record types too");
    assert!(field_names(&s, "Invoice__c").contains(&"RecordTypeId".to_owned()));

    // A record type made inactive stays on its records, but no new record takes it.
    assert_eq!(
        patch(&s, "RecordType", &partner, json!({"IsActive": false})),
        204
    );
    assert_eq!(patch(&s, "Account", &chosen, json!({"Phone": "555"})), 204);
    let (st, body) = post(
        &s,
        "Account",
        json!({"Name": "Late", "RecordTypeId": partner}),
    );
    assert_eq!((st, code(&body)), (400, "INVALID_CROSS_REFERENCE_KEY"));
    assert_eq!(
        infos(&s, "Account"),
        [
            ("Business".into(), true, false),
            ("Master".into(), false, true)
        ]
    );

    // Change events carry the record type.
    let events = crate::events::all_events(&s, 0);
    let created = events
        .iter()
        .find(|e| {
            e["event"]["ChangeEventHeader"]["recordIds"] == json!([plain])
                && e["event"]["ChangeEventHeader"]["changeType"] == "CREATE"
        })
        .expect("the CREATE event");
    assert_eq!(created["event"]["fields"]["RecordTypeId"], json!(business));
}

#[test]
fn record_types_and_their_field_survive_a_restart() {
    let mut s = Server::start_with(&crate::bin(), forcebus_testkit::Options::default());
    let business = record_type(&s, "Account", "Business");
    let account = create(&s, "Account", json!({"Name": "Kept"}));
    let id = schema_id(&s);
    s.kill();
    s.restart();
    assert!(field_names(&s, "Account").contains(&"RecordTypeId".to_owned()));
    assert_eq!(schema_id(&s), id);
    let (_, a) = get(&s, &format!("/sobjects/Account/{account}"));
    assert_eq!(a["RecordTypeId"], json!(business));
    let next = create(&s, "Account", json!({"Name": "After"}));
    let (_, a) = get(&s, &format!("/sobjects/Account/{next}"));
    assert_eq!(a["RecordTypeId"], json!(business), "still the default");
}

#[test]
fn record_types_declared_in_the_config_a_project_or_mirrored_describes() {
    let s = crate::server_with(
        r#"
[[objects.Account.record_types]]
name = "Business Customer"

[[objects.Account.record_types]]
name = "Old"
active = false

[[objects.Lead.record_types]]
name = "Partner Lead"
developer_name = "Partner"
"#,
    );
    assert_eq!(
        infos(&s, "Account"),
        [
            ("Business_Customer".into(), true, false),
            ("Master".into(), false, true)
        ]
    );
    let rows = records(
        &s,
        "SELECT SobjectType, DeveloperName, IsActive FROM RecordType ORDER BY DeveloperName",
    );
    let got: Vec<(&Value, &Value, &Value)> = rows
        .iter()
        .map(|r| (&r["SobjectType"], &r["DeveloperName"], &r["IsActive"]))
        .collect();
    assert_eq!(
        got,
        [
            (&json!("Account"), &json!("Business_Customer"), &json!(true)),
            (&json!("Account"), &json!("Old"), &json!(false)),
            (&json!("Lead"), &json!("Partner"), &json!(true))
        ]
    );
    let lead = create(&s, "Lead", json!({"LastName": "L", "Company": "C"}));
    let (_, l) = get(&s, &format!("/sobjects/Lead/{lead}"));
    assert_eq!(
        l["RecordTypeId"],
        rows[2]["attributes"]["url"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
    );

    // An sfdx project's recordTypes folder.
    let dir = std::env::temp_dir().join(format!("fb-record-types-{}", std::process::id()));
    let folder = dir.join("force-app/main/default/objects/Contact/recordTypes");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        dir.join("sfdx-project.json"),
        r#"{"packageDirectories": [{"path": "force-app", "default": true}], "sourceApiVersion": "66.0"}"#,
    )
    .unwrap();
    std::fs::write(
        folder.join("Vendor.recordType-meta.xml"),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<RecordType xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>Vendor</fullName>
    <active>true</active>
    <label>Vendor Contact</label>
</RecordType>"#,
    )
    .unwrap();
    let p = Server::start_with(
        &crate::bin(),
        forcebus_testkit::Options {
            in_memory: true,
            args: vec!["--project".into(), dir.display().to_string()],
            ..Default::default()
        },
    );
    assert_eq!(
        infos(&p, "Contact"),
        [
            ("Vendor".into(), true, false),
            ("Master".into(), false, true)
        ]
    );

    // Describes dumped from the first org give a third one its record types.
    let mirror = dir.join("describes");
    std::fs::create_dir_all(&mirror).unwrap();
    let (_, d) = get(&s, "/sobjects/Account/describe");
    std::fs::write(
        mirror.join("Account.json"),
        json!({"status": 0, "result": d}).to_string(),
    )
    .unwrap();
    let m = Server::start_with(
        &crate::bin(),
        forcebus_testkit::Options {
            in_memory: true,
            args: vec!["--describes".into(), mirror.display().to_string()],
            ..Default::default()
        },
    );
    assert_eq!(
        infos(&m, "Account"),
        [
            ("Business_Customer".into(), true, false),
            ("Master".into(), false, true)
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
