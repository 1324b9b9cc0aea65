//! The Metadata API over raw SOAP: any envelope prefix (zeep's `soap-env:`/`ns0:`),
//! `xsi:type` naming the component's type, results one per component, faults for a bad
//! session, an unknown operation, bad XML and too many components.

use forcebus_testkit::Server;

use crate::{Authed, get, server};

fn soap(s: &Server, path: &str, body: &str) -> (u16, String) {
    let r = s
        .http()
        .post(format!("{}/services/Soap/m/62.0{path}", s.base()))
        .header("content-type", "text/xml")
        .header("SOAPAction", "\"\"")
        .body(body.to_owned())
        .send()
        .unwrap();
    let status = r.status().as_u16();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    (status, r.text().unwrap())
}

fn envelope(token: &str, op: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Header><ns0:SessionHeader xmlns:ns0="http://soap.sforce.com/2006/04/metadata"><ns0:sessionId>{token}</ns0:sessionId></ns0:SessionHeader></soap-env:Header><soap-env:Body>{op}</soap-env:Body></soap-env:Envelope>"#
    )
}

#[test]
fn zeep_style_create_read_and_delete() {
    let s = server();
    let t = &s.ready.access_token;
    let create = r#"<ns0:createMetadata xmlns:ns0="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><ns0:metadata xsi:type="ns0:CustomField"><ns0:fullName>Contact.Nickname__c</ns0:fullName><ns0:label>Nickname</ns0:label><ns0:length>40</ns0:length><ns0:type>Text</ns0:type></ns0:metadata><ns0:metadata xsi:type="ns0:CustomField"><ns0:fullName>Contact.Weird</ns0:fullName><ns0:type>Text</ns0:type><ns0:length>5</ns0:length></ns0:metadata></ns0:createMetadata>"#;
    let (st, body) = soap(&s, "/", &envelope(t, create));
    assert_eq!(st, 200, "{body}");
    assert!(body.contains(r#"<soapenv:Body><createMetadataResponse><result><fullName>Contact.Nickname__c</fullName><success>true</success></result><result><errors>"#), "{body}");
    assert!(body.contains("<statusCode>FIELD_INTEGRITY_EXCEPTION</statusCode></errors><fullName>Contact.Weird</fullName><success>false</success>"), "{body}");
    assert!(body.contains(r#"xmlns="http://soap.sforce.com/2006/04/metadata""#));
    let (_, d) = get(&s, "/sobjects/Contact/describe");
    assert!(
        d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "Nickname__c")
    );
    // read, posted where simple-salesforce's templates post (…/deployRequest/{id}).
    let read = r#"<met:readMetadata xmlns:met="http://soap.sforce.com/2006/04/metadata"><met:type>CustomField</met:type><met:fullNames>Contact.Nickname__c</met:fullNames><met:fullNames>Contact.Nope__c</met:fullNames></met:readMetadata>"#;
    let (st, body) = soap(&s, "/deployRequest/0Af000000000001", &envelope(t, read));
    assert_eq!(st, 200, "{body}");
    assert!(body.contains(r#"<records xsi:type="CustomField"><fullName>Contact.Nickname__c</fullName><externalId>false</externalId><label>Nickname</label><length>40</length><required>false</required><type>Text</type><unique>false</unique></records><records xsi:nil="true"/>"#), "{body}");
    let delete = r#"<deleteMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><type>CustomField</type><fullNames>Contact.Nickname__c</fullNames></deleteMetadata>"#;
    let (st, body) = soap(&s, "", &envelope(t, delete));
    assert_eq!(st, 200, "{body}");
    assert!(
        body.contains(
            "<result><fullName>Contact.Nickname__c</fullName><success>true</success></result>"
        ),
        "{body}"
    );
    let (st, _) = get(&s, "/query?q=SELECT+Nickname__c+FROM+Contact");
    assert_eq!(st, 400);
}

#[test]
fn faults_for_the_call_and_errors_for_components() {
    let s = server();
    let t = &s.ready.access_token;
    let describe = r#"<describeMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><asOfVersion>62.0</asOfVersion></describeMetadata>"#;
    let (st, body) = soap(&s, "", &envelope("00Dxx!nope", describe));
    assert_eq!(st, 500);
    assert!(body.contains("<faultcode>sf:INVALID_SESSION_ID</faultcode><faultstring>INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session</faultstring>"), "{body}");
    let (st, body) = soap(
        &s,
        "",
        &envelope(
            t,
            "<teleport xmlns=\"http://soap.sforce.com/2006/04/metadata\"/>",
        ),
    );
    assert_eq!(st, 500);
    assert!(
        body.contains("<faultcode>soapenv:Client</faultcode>"),
        "{body}"
    );
    let (st, body) = soap(&s, "", "<not xml");
    assert_eq!(st, 500);
    assert!(body.contains("soapenv:Client"), "{body}");
    let eleven: String = (0..11)
        .map(|i| format!(r#"<metadata xsi:type="CustomField"><fullName>Account.F{i}__c</fullName><type>Text</type><length>5</length></metadata>"#))
        .collect();
    let create = format!(
        r#"<createMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{eleven}</createMetadata>"#
    );
    let (st, body) = soap(&s, "", &envelope(t, &create));
    assert_eq!(st, 500, "{body}");
    assert!(body.contains("EXCEEDED_ID_LIMIT"), "{body}");
    let (_, d) = get(&s, "/sobjects/Account/describe");
    assert!(
        !d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "F0__c"),
        "nothing made"
    );
    let unknown = r#"<createMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><metadata xsi:type="ApexClass"><fullName>Hello</fullName></metadata></createMetadata>"#;
    let (st, body) = soap(&s, "", &envelope(t, unknown));
    assert_eq!(st, 200);
    assert!(
        body.contains("<statusCode>INVALID_TYPE</statusCode>"),
        "{body}"
    );
    let read = r#"<readMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><type>ApexClass</type><fullNames>Hello</fullNames></readMetadata>"#;
    let (st, body) = soap(&s, "", &envelope(t, read));
    assert_eq!(st, 500);
    assert!(body.contains("sf:INVALID_TYPE"), "{body}");
}

#[test]
fn a_platform_event_is_created_and_read_as_a_custom_object() {
    let s = server();
    let t = &s.ready.access_token;
    let create = r#"<createMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><metadata xsi:type="CustomObject"><fullName>Alarm_Raised__e</fullName><label>Alarm Raised</label><pluralLabel>Alarms Raised</pluralLabel><eventType>HighVolume</eventType><fields><fullName>Level__c</fullName><label>Level</label><type>Number</type><precision>3</precision><scale>0</scale></fields></metadata></createMetadata>"#;
    let (st, body) = soap(&s, "", &envelope(t, create));
    assert_eq!(st, 200, "{body}");
    assert!(
        body.contains("<fullName>Alarm_Raised__e</fullName><success>true</success>"),
        "{body}"
    );
    let (st, again) = soap(&s, "", &envelope(t, create));
    assert_eq!(st, 200);
    assert!(
        again.contains("<statusCode>DUPLICATE_DEVELOPER_NAME</statusCode>"),
        "{again}"
    );
    let read = r#"<readMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><type>CustomObject</type><fullNames>Alarm_Raised__e</fullNames></readMetadata>"#;
    let (_, body) = soap(&s, "", &envelope(t, read));
    assert!(
        body.contains("<eventType>HighVolume</eventType>")
            && body.contains("<fullName>Level__c</fullName>")
            && body.contains("<label>Alarm Raised</label>"),
        "{body}"
    );
    let r = s
        .http()
        .post(format!("{}/sobjects/Alarm_Raised__e", s.data()))
        .header("Authorization", format!("Bearer {t}"))
        .json(&serde_json::json!({"Level__c": 3}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
}

/// `renameMetadata` of a field: the values follow the new name, the old name is gone, the
/// change-event schema is new; a taken name, a field a PushTopic names, a move to another
/// object and an object are refused with the org unchanged.
#[test]
fn a_renamed_field_keeps_its_values_under_the_new_name() {
    let s = server();
    let t = &s.ready.access_token;
    let create = r#"<createMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><metadata xsi:type="CustomField"><fullName>Lead.Source2__c</fullName><label>Source</label><length>40</length><type>Text</type></metadata><metadata xsi:type="CustomField"><fullName>Lead.Taken__c</fullName><label>Taken</label><length>4</length><type>Text</type></metadata></createMetadata>"#;
    let (st, body) = soap(&s, "", &envelope(t, create));
    assert_eq!(st, 200, "{body}");
    let lead = crate::create(
        &s,
        "Lead",
        serde_json::json!({"LastName": "L", "Company": "C", "Source2__c": "web"}),
    );
    let (_, before) = get(&s, "/sobjects/LeadChangeEvent/eventSchema");
    let rename = |old: &str, new: &str, kind: &str| {
        let op = format!(
            r#"<renameMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><type>{kind}</type><oldFullName>{old}</oldFullName><newFullName>{new}</newFullName></renameMetadata>"#
        );
        soap(&s, "", &envelope(t, &op)).1
    };
    let body = rename("Lead.Source2__c", "Lead.Channel__c", "CustomField");
    assert!(
        body.contains("<renameMetadataResponse><result><fullName>Lead.Source2__c</fullName><success>true</success></result></renameMetadataResponse>"),
        "{body}"
    );
    let (_, r) = get(&s, &format!("/sobjects/Lead/{lead}"));
    assert_eq!(r["Channel__c"], "web", "{r}");
    assert!(r.get("Source2__c").is_none(), "{r}");
    let (st, _) = get(&s, "/query?q=SELECT+Source2__c+FROM+Lead");
    assert_eq!(st, 400, "the old name is gone from SOQL");
    let (_, after) = get(&s, "/sobjects/LeadChangeEvent/eventSchema");
    assert_ne!(before["uuid"], after["uuid"], "a new change-event schema");

    for (old, new, kind, problem) in [
        (
            "Lead.Channel__c",
            "Lead.Taken__c",
            "CustomField",
            "DUPLICATE_DEVELOPER_NAME",
        ),
        (
            "Lead.Channel__c",
            "Contact.Channel__c",
            "CustomField",
            "INVALID_INPUT",
        ),
        (
            "Lead.Nope__c",
            "Lead.Other__c",
            "CustomField",
            "INVALID_CROSS_REFERENCE_KEY",
        ),
        (
            "Lead.Company",
            "Lead.Firm__c",
            "CustomField",
            "INVALID_INPUT",
        ),
        (
            "Lead.Channel__c",
            "Lead.Bad__name__c",
            "CustomField",
            "FIELD_INTEGRITY_EXCEPTION",
        ),
        (
            "Thing__c",
            "Other__c",
            "CustomObject",
            "INVALID_CROSS_REFERENCE_KEY",
        ),
        ("Account", "Client__c", "CustomObject", "INVALID_INPUT"),
    ] {
        let body = rename(old, new, kind);
        assert!(
            body.contains(&format!("<statusCode>{problem}</statusCode></errors><fullName>{old}</fullName><success>false</success>")),
            "{old} -> {new}: {body}"
        );
    }
    let topic = crate::create(
        &s,
        "PushTopic",
        serde_json::json!({"Name": "Leads", "Query": "SELECT Id, Channel__c FROM Lead", "ApiVersion": 62.0}),
    );
    let body = rename("Lead.Channel__c", "Lead.Medium__c", "CustomField");
    assert!(
        body.contains("is referenced by the PushTopic Leads"),
        "{body}"
    );
    let (_, r) = get(&s, &format!("/sobjects/Lead/{lead}"));
    assert_eq!(r["Channel__c"], "web", "unchanged: {r} ({topic})");
}

/// `renameMetadata` of a custom object: its records keep their ids under the new name,
/// lookups to it follow it, its change events take the new entity name.
#[test]
fn a_renamed_object_keeps_its_records_and_lookups_follow_it() {
    let s = server();
    let t = &s.ready.access_token;
    let create = r#"<createMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><metadata xsi:type="CustomObject"><fullName>Gizmo__c</fullName><label>Gizmo</label><pluralLabel>Gizmos</pluralLabel><nameField><label>Gizmo Name</label><type>Text</type></nameField><deploymentStatus>Deployed</deploymentStatus><sharingModel>ReadWrite</sharingModel><fields><fullName>Size__c</fullName><label>Size</label><type>Text</type><length>9</length></fields></metadata></createMetadata>"#;
    let (_, body) = soap(&s, "", &envelope(t, create));
    assert!(body.contains("<success>true</success>"), "{body}");
    let lookup = r#"<createMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><metadata xsi:type="CustomField"><fullName>Contact.Gizmo__c</fullName><label>Gizmo</label><type>Lookup</type><referenceTo>Gizmo__c</referenceTo><relationshipName>Contacts</relationshipName></metadata></createMetadata>"#;
    let (_, body) = soap(&s, "", &envelope(t, lookup));
    assert!(body.contains("<success>true</success>"), "{body}");
    let gizmo = crate::create(
        &s,
        "Gizmo__c",
        serde_json::json!({"Name": "G", "Size__c": "XL"}),
    );
    let contact = crate::create(
        &s,
        "Contact",
        serde_json::json!({"LastName": "C", "Gizmo__c": gizmo}),
    );
    let rename = r#"<renameMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><type>CustomObject</type><oldFullName>Gizmo__c</oldFullName><newFullName>Widget__c</newFullName></renameMetadata>"#;
    let (_, body) = soap(&s, "", &envelope(t, rename));
    assert!(
        body.contains("<result><fullName>Gizmo__c</fullName><success>true</success></result>"),
        "{body}"
    );
    assert_eq!(get(&s, "/sobjects/Gizmo__c/describe").0, 404);
    let (st, w) = get(&s, &format!("/sobjects/Widget__c/{gizmo}"));
    assert_eq!(st, 200, "{w}");
    assert_eq!(w["Size__c"], "XL");
    assert_eq!(w["attributes"]["type"], "Widget__c");
    let (_, d) = get(&s, "/sobjects/Contact/describe");
    let field = d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Gizmo__c")
        .unwrap()
        .clone();
    assert_eq!(
        field["referenceTo"],
        serde_json::json!(["Widget__c"]),
        "{field}"
    );
    let (st, q) = get(
        &s,
        "/query?q=SELECT+Name,+Gizmo__r.Name+FROM+Contact+WHERE+Gizmo__c+!=+null",
    );
    assert_eq!(st, 200, "{q}");
    assert_eq!(q["records"][0]["Gizmo__r"]["Name"], "G", "{q} ({contact})");
    let (st, schema) = get(&s, "/sobjects/Widget__ChangeEvent/eventSchema");
    assert_eq!(st, 200, "{schema}");
}

/// `CustomField` calls on a platform event's field (`Event__e.Field__c`): made, read,
/// listed, changed and deleted, each a new definition of the event.
#[test]
fn a_platform_events_fields_are_metadata_components_too() {
    let s = server();
    let t = &s.ready.access_token;
    let op = |body: &str| soap(&s, "", &envelope(t, body)).1;
    let made = op(
        r#"<createMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><metadata xsi:type="CustomObject"><fullName>Beacon__e</fullName><label>Beacon</label><pluralLabel>Beacons</pluralLabel><eventType>HighVolume</eventType><fields><fullName>Where__c</fullName><label>Where</label><type>Text</type><length>20</length></fields></metadata></createMetadata>"#,
    );
    assert!(made.contains("<success>true</success>"), "{made}");
    let (_, before) = get(&s, "/sobjects/Beacon__e/eventSchema");
    let field = |label: &str| {
        format!(
            r#"<metadata xsi:type="CustomField"><fullName>Beacon__e.Level__c</fullName><label>{label}</label><type>Number</type><precision>3</precision><scale>0</scale></metadata>"#
        )
    };
    let body = op(&format!(
        r#"<createMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{}</createMetadata>"#,
        field("Level")
    ));
    assert!(
        body.contains("<fullName>Beacon__e.Level__c</fullName><success>true</success>"),
        "{body}"
    );
    let again = op(&format!(
        r#"<createMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{}</createMetadata>"#,
        field("Level")
    ));
    assert!(again.contains("DUPLICATE_DEVELOPER_NAME"), "{again}");
    let names = |s: &Server| -> Vec<String> {
        get(s, "/sobjects/Beacon__e/describe").1["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(names(&s).contains(&"Level__c".to_owned()));
    let (_, after) = get(&s, "/sobjects/Beacon__e/eventSchema");
    assert_ne!(before["uuid"], after["uuid"], "a new schema id");
    let read = op(
        r#"<readMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><type>CustomField</type><fullNames>Beacon__e.Level__c</fullNames></readMetadata>"#,
    );
    assert!(
        read.contains("<fullName>Beacon__e.Level__c</fullName>")
            && read.contains("<type>Number</type>"),
        "{read}"
    );
    let list = op(
        r#"<listMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><queries><type>CustomField</type></queries></listMetadata>"#,
    );
    assert!(
        list.contains("<fullName>Beacon__e.Level__c</fullName>"),
        "{list}"
    );
    // CustomObject lists standard objects (without an id) and platform events too.
    let objects = op(
        r#"<listMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><queries><type>CustomObject</type></queries></listMetadata>"#,
    );
    for listed in [
        "<fileName>objects/Beacon__e.object</fileName><fullName>Beacon__e</fullName>",
        "<fileName>objects/Account.object</fileName><fullName>Account</fullName><id></id>",
        "<fileName>objects/Campaign.object</fileName><fullName>Campaign</fullName><id></id>",
    ] {
        assert!(objects.contains(listed), "{listed} in {objects}");
    }
    let updated = op(&format!(
        r#"<updateMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{}</updateMetadata>"#,
        field("Severity")
    ));
    assert!(updated.contains("<success>true</success>"), "{updated}");
    let deleted = op(
        r#"<deleteMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><type>CustomField</type><fullNames>Beacon__e.Level__c</fullNames></deleteMetadata>"#,
    );
    assert!(deleted.contains("<success>true</success>"), "{deleted}");
    assert!(!names(&s).contains(&"Level__c".to_owned()));
    let gone = op(
        r#"<deleteMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><type>CustomField</type><fullNames>Beacon__e.Level__c</fullNames></deleteMetadata>"#,
    );
    assert!(gone.contains("INVALID_CROSS_REFERENCE_KEY"), "{gone}");
}

/// An object's own settings go in with it and come back (description, sharing,
/// deployment status, an auto-numbered name), and an update replaces them: its label in
/// describe too, a description given as nil gone.
#[test]
fn an_objects_settings_are_kept_and_an_update_replaces_them() {
    let s = server();
    let t = &s.ready.access_token;
    let create = r#"<createMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><metadata xsi:type="CustomObject"><fullName>Ticket__c</fullName><label>Ticket</label><pluralLabel>Tickets</pluralLabel><description>Support tickets</description><deploymentStatus>InDevelopment</deploymentStatus><sharingModel>Private</sharingModel><nameField><type>AutoNumber</type><label>Ticket Number</label><displayFormat>T-{0000}</displayFormat></nameField></metadata></createMetadata>"#;
    let (st, body) = soap(&s, "", &envelope(t, create));
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("<success>true</success>"), "{body}");
    let read = r#"<readMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><type>CustomObject</type><fullNames>Ticket__c</fullNames></readMetadata>"#;
    let (_, body) = soap(&s, "", &envelope(t, read));
    for part in [
        "<description>Support tickets</description>",
        "<deploymentStatus>InDevelopment</deploymentStatus>",
        "<nameField><displayFormat>T-{0000}</displayFormat><label>Ticket Number</label><type>AutoNumber</type></nameField>",
        "<sharingModel>Private</sharingModel>",
    ] {
        assert!(body.contains(part), "{part} in {body}");
    }
    // Records are numbered, and their name is not theirs to write.
    let first = crate::create(&s, "Ticket__c", serde_json::json!({}));
    let (_, rec) = get(&s, &format!("/sobjects/Ticket__c/{first}"));
    assert_eq!(rec["Name"], "T-0001", "{rec}");
    let (st, err) = crate::j(
        s.http()
            .post(format!("{}/sobjects/Ticket__c", s.data()))
            .bearer(&s)
            .json(&serde_json::json!({"Name": "Mine"}))
            .send()
            .unwrap(),
    );
    assert_eq!(st, 400, "{err}");
    let (_, d) = get(&s, "/sobjects/Ticket__c/describe");
    let name = d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Name")
        .unwrap();
    assert_eq!(name["autoNumber"], true);
    assert_eq!(name["label"], "Ticket Number");

    let update = r#"<updateMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><metadata xsi:type="CustomObject"><fullName>Ticket__c</fullName><label>Case File</label><pluralLabel>Case Files</pluralLabel><description xsi:nil="true"/><deploymentStatus>Deployed</deploymentStatus><sharingModel>ReadWrite</sharingModel><nameField><type>AutoNumber</type><label>File Number</label><displayFormat>T-{0000}</displayFormat></nameField></metadata></updateMetadata>"#;
    let (st, body) = soap(&s, "", &envelope(t, update));
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("<success>true</success>"), "{body}");
    let (_, body) = soap(&s, "", &envelope(t, read));
    assert!(body.contains("<label>Case File</label>"), "{body}");
    assert!(
        body.contains("<deploymentStatus>Deployed</deploymentStatus>"),
        "{body}"
    );
    assert!(!body.contains("<description>"), "{body}");
    let (_, d) = get(&s, "/sobjects/Ticket__c/describe");
    assert_eq!(d["label"], "Case File");
    assert_eq!(d["labelPlural"], "Case Files");
    let second = crate::create(&s, "Ticket__c", serde_json::json!({}));
    let (_, rec) = get(&s, &format!("/sobjects/Ticket__c/{second}"));
    assert_eq!(rec["Name"], "T-0002", "the numbering goes on: {rec}");

    // Back to a text name: writable again, the records keep their numbers.
    let text = update.replace(
        "<nameField><type>AutoNumber</type><label>File Number</label><displayFormat>T-{0000}</displayFormat></nameField>",
        "<nameField><type>Text</type><label>File Name</label></nameField>",
    );
    let (_, body) = soap(&s, "", &envelope(t, &text));
    assert!(body.contains("<success>true</success>"), "{body}");
    let named = crate::create(&s, "Ticket__c", serde_json::json!({"Name": "By hand"}));
    let (_, rec) = get(&s, &format!("/sobjects/Ticket__c/{named}"));
    assert_eq!(rec["Name"], "By hand");
    let (_, rec) = get(&s, &format!("/sobjects/Ticket__c/{first}"));
    assert_eq!(rec["Name"], "T-0001");

    // A setting outside Salesforce's values is refused, and changes nothing.
    let bad = update.replace(
        "<sharingModel>ReadWrite</sharingModel>",
        "<sharingModel>Everyone</sharingModel>",
    );
    let (_, body) = soap(&s, "", &envelope(t, &bad));
    assert!(body.contains("<success>false</success>"), "{body}");
    assert!(body.contains("sharingModel must be one of"), "{body}");
}

#[test]
fn validation_rules_are_created_read_listed_updated_and_deleted() {
    let s = server();
    let t = &s.ready.access_token;
    let rule = |op: &str, condition: &str| {
        format!(
            r#"<{op} xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><metadata xsi:type="ValidationRule"><fullName>Account.Needs_Phone</fullName><active>true</active><errorConditionFormula>{condition}</errorConditionFormula><errorDisplayField>Phone</errorDisplayField><errorMessage>Give a phone.</errorMessage></metadata></{op}>"#
        )
    };
    let (_, body) = soap(
        &s,
        "/",
        &envelope(t, &rule("createMetadata", "ISBLANK(Phone)")),
    );
    assert!(
        body.contains("<fullName>Account.Needs_Phone</fullName><success>true</success>"),
        "{body}"
    );
    let (st, e) = crate::post_record(&s, "Account", serde_json::json!({"Name": "A"}));
    assert_eq!(
        (st, e[0]["errorCode"].as_str()),
        (400, Some("FIELD_CUSTOM_VALIDATION_EXCEPTION"))
    );
    assert_eq!(e[0]["fields"], serde_json::json!(["Phone"]));
    // A second create of the same name fails; a rule that does not compile is refused.
    let (_, body) = soap(
        &s,
        "/",
        &envelope(t, &rule("createMetadata", "ISBLANK(Phone)")),
    );
    assert!(
        body.contains("<statusCode>DUPLICATE_DEVELOPER_NAME</statusCode>"),
        "{body}"
    );
    let (_, body) = soap(
        &s,
        "/",
        &envelope(t, &rule("updateMetadata", "ISBLANK(Nope__c)")),
    );
    assert!(
        body.contains("<message>Field Nope__c does not exist. Check spelling.</message>"),
        "{body}"
    );
    let read = r#"<readMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><type>ValidationRule</type><fullNames>Account.Needs_Phone</fullNames></readMetadata>"#;
    let (_, body) = soap(&s, "/", &envelope(t, read));
    assert!(body.contains(r#"<records xsi:type="ValidationRule"><fullName>Account.Needs_Phone</fullName><active>true</active><errorConditionFormula>ISBLANK(Phone)</errorConditionFormula><errorDisplayField>Phone</errorDisplayField><errorMessage>Give a phone.</errorMessage></records>"#), "{body}");
    let list = r#"<listMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><queries><type>ValidationRule</type></queries></listMetadata>"#;
    let (_, body) = soap(&s, "/", &envelope(t, list));
    assert!(
        body.contains("<fullName>Account.Needs_Phone</fullName>"),
        "{body}"
    );
    // Updated: the new condition runs at once.
    let (_, body) = soap(
        &s,
        "/",
        &envelope(t, &rule("updateMetadata", "LEN(Phone) &lt; 3")),
    );
    assert!(body.contains("<success>true</success>"), "{body}");
    assert_eq!(
        crate::post_record(
            &s,
            "Account",
            serde_json::json!({"Name": "A", "Phone": "12"})
        )
        .0,
        400
    );
    assert_eq!(
        crate::post_record(
            &s,
            "Account",
            serde_json::json!({"Name": "A", "Phone": "12345"})
        )
        .0,
        201
    );
    let delete = r#"<deleteMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><type>ValidationRule</type><fullNames>Account.Needs_Phone</fullNames></deleteMetadata>"#;
    let (_, body) = soap(&s, "/", &envelope(t, delete));
    assert!(body.contains("<success>true</success>"), "{body}");
    assert_eq!(
        crate::post_record(
            &s,
            "Account",
            serde_json::json!({"Name": "A", "Phone": "1"})
        )
        .0,
        201
    );
}
