//! Every Metadata type deploys: what forcebus does not interpret (Apex classes and
//! triggers, layouts, permission sets, static resources, reports in folders, ...) is kept
//! as sent and retrieved back byte for byte; Apex classes and triggers are also
//! `ApexClass` and `ApexTrigger` records; a deploy asking for Apex tests fails, saying
//! forcebus runs none; listMetadata and describeMetadata list what the org holds.

use std::io::Write as _;

use base64::Engine;
use serde_json::json;

use crate::deploy::{between, call};
use crate::{Authed, records, server};

const CLASS: &str = "public with sharing class Hello {\n    // greets\n    public static String hi() { return 'hi /* not a comment */'; }\n}\n";
const CLASS_META: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ApexClass xmlns=\"http://soap.sforce.com/2006/04/metadata\">\n    <apiVersion>61.0</apiVersion>\n    <status>Active</status>\n</ApexClass>\n";
const TRIGGER: &str =
    "trigger AccountTrigger on Account (before insert, after update) {\n    /* nothing */\n}\n";
const TRIGGER_META: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ApexTrigger xmlns=\"http://soap.sforce.com/2006/04/metadata\">\n    <apiVersion>62.0</apiVersion>\n    <status>Active</status>\n</ApexTrigger>\n";
const LAYOUT: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Layout xmlns=\"http://soap.sforce.com/2006/04/metadata\">\n    <layoutSections><label>Info</label></layoutSections>\n</Layout>\n";
const PERMSET: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PermissionSet xmlns=\"http://soap.sforce.com/2006/04/metadata\">\n    <label>Helpers</label>\n</PermissionSet>\n";
const RESOURCE_META: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<StaticResource xmlns=\"http://soap.sforce.com/2006/04/metadata\"><cacheControl>Public</cacheControl><contentType>image/png</contentType></StaticResource>\n";
const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0xfe, 0x00, 0x80,
];
const REPORT: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Report xmlns=\"http://soap.sforce.com/2006/04/metadata\"><name>Q1</name></Report>\n";
const FOLDER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ReportFolder xmlns=\"http://soap.sforce.com/2006/04/metadata\"><name>Sales</name></ReportFolder>\n";

/// The package: every member named, the folder's report by `*` for its folder.
fn package(extra: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><types><members>Hello</members><name>ApexClass</name></types><types><members>AccountTrigger</members><name>ApexTrigger</name></types><types><members>Account-Account Layout</members><name>Layout</name></types><types><members>Helpers</members><name>PermissionSet</name></types><types><members>Logo</members><name>StaticResource</name></types><types><members>Sales/Q1</members><name>Report</name></types><types><members>Sales</members><name>ReportFolder</name></types>{extra}<version>62.0</version></Package>"#
    )
}

fn files(class: &str) -> Vec<(String, Vec<u8>)> {
    [
        ("classes/Hello.cls", class.as_bytes()),
        ("classes/Hello.cls-meta.xml", CLASS_META.as_bytes()),
        ("triggers/AccountTrigger.trigger", TRIGGER.as_bytes()),
        (
            "triggers/AccountTrigger.trigger-meta.xml",
            TRIGGER_META.as_bytes(),
        ),
        ("layouts/Account-Account Layout.layout", LAYOUT.as_bytes()),
        ("permissionsets/Helpers.permissionset", PERMSET.as_bytes()),
        ("staticresources/Logo.resource", PNG),
        (
            "staticresources/Logo.resource-meta.xml",
            RESOURCE_META.as_bytes(),
        ),
        ("reports/Sales-meta.xml", FOLDER.as_bytes()),
        ("reports/Sales/Q1.report", REPORT.as_bytes()),
    ]
    .into_iter()
    .map(|(p, b)| (p.to_owned(), b.to_vec()))
    .collect()
}

fn zip(files: &[(String, Vec<u8>)]) -> String {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        for (name, bytes) in files {
            w.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap();
    }
    base64::engine::general_purpose::STANDARD.encode(buf.into_inner())
}

fn deploy(s: &forcebus_testkit::Server, files: &[(String, Vec<u8>)], options: &str) -> String {
    let answer = call(
        s,
        &format!(
            "<met:deploy><met:ZipFile>{}</met:ZipFile><met:DeployOptions>{options}</met:DeployOptions></met:deploy>",
            zip(files)
        ),
    );
    let id = between(&answer, "<id>", "</id>").to_owned();
    call(
        s,
        &format!(
            "<met:checkDeployStatus><met:asyncProcessId>{id}</met:asyncProcessId><met:includeDetails>true</met:includeDetails></met:checkDeployStatus>"
        ),
    )
}

fn with_package(package: &str, class: &str) -> Vec<(String, Vec<u8>)> {
    let mut all = vec![("package.xml".to_owned(), package.as_bytes().to_vec())];
    all.extend(files(class));
    all
}

/// A retrieve of `types` (`<met:types>` elements); the zip's files as bytes.
fn retrieve(
    s: &forcebus_testkit::Server,
    types: &str,
) -> (String, std::collections::BTreeMap<String, Vec<u8>>) {
    use std::io::Read as _;
    let answer = call(
        s,
        &format!(
            "<met:retrieve><met:request><met:apiVersion>62.0</met:apiVersion><met:unpackaged>{types}<met:version>62.0</met:version></met:unpackaged></met:request></met:retrieve>"
        ),
    );
    let id = between(&answer, "<id>", "</id>").to_owned();
    let r = call(
        s,
        &format!(
            "<met:checkRetrieveStatus><met:asyncProcessId>{id}</met:asyncProcessId></met:checkRetrieveStatus>"
        ),
    );
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(between(&r, "<zipFile>", "</zipFile>"))
        .unwrap();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let files = (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut b = Vec::new();
            f.read_to_end(&mut b).unwrap();
            (f.name().to_owned(), b)
        })
        .collect();
    (r, files)
}

#[test]
fn every_type_deploys_and_retrieves_back_byte_for_byte() {
    let s = server();
    let r = deploy(&s, &with_package(&package(""), CLASS), "");
    assert!(r.contains("<status>Succeeded</status>"), "{r}");
    for (kind, full, file) in [
        ("ApexClass", "Hello", "classes/Hello.cls"),
        (
            "Layout",
            "Account-Account Layout",
            "layouts/Account-Account Layout.layout",
        ),
        ("StaticResource", "Logo", "staticresources/Logo.resource"),
        ("Report", "Sales/Q1", "reports/Sales/Q1.report"),
        ("ReportFolder", "Sales", "reports/Sales-meta.xml"),
    ] {
        let created = format!(
            "<changed>true</changed><componentType>{kind}</componentType><created>true</created>"
        );
        let at = r
            .find(&created)
            .unwrap_or_else(|| panic!("{kind} created: {r}"));
        let rest = &r[at..];
        assert!(
            rest.contains(&format!(
                "<fileName>{file}</fileName><fullName>{full}</fullName>"
            )),
            "{kind}: {r}"
        );
    }
    // By name and by wildcard: the same bytes.
    let (answer, got) = retrieve(
        &s,
        "<met:types><met:members>*</met:members><met:name>ApexClass</met:name></met:types><met:types><met:members>AccountTrigger</met:members><met:name>ApexTrigger</met:name></met:types><met:types><met:members>Account-Account Layout</met:members><met:name>Layout</met:name></met:types><met:types><met:members>*</met:members><met:name>PermissionSet</met:name></met:types><met:types><met:members>Logo</met:members><met:name>StaticResource</met:name></met:types><met:types><met:members>Sales/Q1</met:members><met:name>Report</met:name></met:types><met:types><met:members>Sales</met:members><met:name>ReportFolder</met:name></met:types><met:types><met:members>Nope</met:members><met:name>Flow</met:name></met:types>",
    );
    for (path, bytes) in files(CLASS) {
        if path.starts_with("permissionsets/") {
            // A permission set is the org's records, given back as Metadata built from them.
            let set = String::from_utf8(got[&format!("unpackaged/{path}")].clone()).unwrap();
            assert!(set.contains("<label>Helpers</label>"), "{set}");
            continue;
        }
        assert_eq!(
            got.get(&format!("unpackaged/{path}")),
            Some(&bytes),
            "{path}"
        );
    }
    assert!(
        answer.contains("Entity of type &apos;Flow&apos; named &apos;Nope&apos; cannot be found"),
        "{answer}"
    );
    let manifest = String::from_utf8(got["unpackaged/package.xml"].clone()).unwrap();
    assert!(
        manifest.contains("<types><members>Hello</members><name>ApexClass</name></types>"),
        "{manifest}"
    );
    assert!(
        answer.contains(
            "<fileName>unpackaged/classes/Hello.cls</fileName><fullName>Hello</fullName>"
        ),
        "{answer}"
    );
    // Deployed again: unchanged.
    let again = deploy(&s, &with_package(&package(""), CLASS), "");
    assert!(
        again.contains("<status>Succeeded</status>") && !again.contains("<created>true</created>"),
        "{again}"
    );
}

#[test]
fn apex_classes_and_triggers_are_records_kept_in_step() {
    let s = server();
    let r = deploy(&s, &with_package(&package(""), CLASS), "");
    assert!(r.contains("<status>Succeeded</status>"), "{r}");
    let class = records(
        &s,
        "SELECT Id, Name, Body, ApiVersion, Status, LengthWithoutComments, NamespacePrefix FROM ApexClass WHERE Name = 'Hello'",
    );
    assert_eq!(class.len(), 1, "{class:?}");
    let c = &class[0];
    assert_eq!(
        (
            c["Body"].as_str(),
            c["ApiVersion"].as_f64(),
            c["Status"].as_str()
        ),
        (Some(CLASS), Some(61.0), Some("Active"))
    );
    let without = CLASS.replace("// greets", "");
    assert_eq!(c["LengthWithoutComments"], json!(without.chars().count()));
    assert!(c["NamespacePrefix"].is_null());
    let t = records(
        &s,
        "SELECT TableEnumOrId, UsageBeforeInsert, UsageAfterUpdate, UsageAfterInsert, Body FROM ApexTrigger",
    );
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(
        (
            t[0]["TableEnumOrId"].as_str(),
            t[0]["UsageBeforeInsert"].as_bool(),
            t[0]["UsageAfterUpdate"].as_bool(),
            t[0]["UsageAfterInsert"].as_bool()
        ),
        (Some("Account"), Some(true), Some(true), Some(false))
    );
    // The Tooling API sees the same record.
    let (st, tooling) = crate::j(
        s.http()
            .get(format!(
                "{}/tooling/query?q=SELECT+Id,Name+FROM+ApexClass",
                s.data()
            ))
            .bearer(&s)
            .send()
            .unwrap(),
    );
    assert_eq!(
        (st, tooling["totalSize"].as_u64()),
        (200, Some(1)),
        "{tooling}"
    );
    // listMetadata: the class with its record's id.
    let list = call(
        &s,
        "<met:listMetadata><met:queries><met:type>ApexClass</met:type></met:queries><met:asOfVersion>62.0</met:asOfVersion></met:listMetadata>",
    );
    let id = c["Id"].as_str().unwrap();
    assert!(
        list.contains(&format!(
            "<fileName>classes/Hello.cls</fileName><fullName>Hello</fullName><id>{id}</id>"
        )),
        "{list}"
    );
    // Redeployed with another body: the record follows.
    let changed = CLASS.replace("hi", "hello");
    let r = deploy(&s, &with_package(&package(""), &changed), "");
    assert!(r.contains("<changed>true</changed><componentType>ApexClass</componentType><created>false</created>"), "{r}");
    let class = records(&s, "SELECT Id, Body FROM ApexClass WHERE Name = 'Hello'");
    assert_eq!(
        (class[0]["Id"].as_str(), class[0]["Body"].as_str()),
        (Some(id), Some(changed.as_str()))
    );
    // Deleted by a destructive manifest: kept no more, no record.
    let empty = r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><version>62.0</version></Package>"#;
    let destructive = r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><types><members>Hello</members><name>ApexClass</name></types><types><members>Gone</members><name>Layout</name></types><version>62.0</version></Package>"#;
    let r = deploy(
        &s,
        &[
            ("package.xml".into(), empty.into()),
            ("destructiveChanges.xml".into(), destructive.into()),
        ],
        "<met:ignoreWarnings>true</met:ignoreWarnings>",
    );
    assert!(
        r.contains("<status>Succeeded</status>") && r.contains("<deleted>true</deleted>"),
        "{r}"
    );
    assert!(records(&s, "SELECT Id FROM ApexClass").is_empty());
    let list = call(
        &s,
        "<met:listMetadata><met:queries><met:type>ApexClass</met:type></met:queries><met:asOfVersion>62.0</met:asOfVersion></met:listMetadata>",
    );
    assert!(!list.contains("Hello"), "{list}");
}

#[test]
fn apex_tests_are_refused_and_no_test_run_is_the_default() {
    let s = server();
    for level in ["RunSpecifiedTests", "RunLocalTests", "RunAllTestsInOrg"] {
        let r = deploy(
            &s,
            &with_package(&package(""), CLASS),
            &format!("<met:testLevel>{level}</met:testLevel>"),
        );
        assert!(
            r.contains("<status>Failed</status>")
                && r.contains("forcebus runs no Apex tests")
                && r.contains(level),
            "{r}"
        );
    }
    assert!(
        records(&s, "SELECT Id FROM ApexClass").is_empty(),
        "nothing applied"
    );
    let r = deploy(
        &s,
        &with_package(&package(""), CLASS),
        "<met:testLevel>NoTestRun</met:testLevel>",
    );
    assert!(r.contains("<status>Succeeded</status>"), "{r}");
}

#[test]
fn child_types_are_accepted_and_describe_lists_every_type() {
    let s = server();
    let object = r#"<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata"><fields><fullName>Grade7__c</fullName><label>Tier</label><type>Text</type><length>10</length></fields><validationRules><fullName>Needs_Tier</fullName><active>true</active><errorConditionFormula>false</errorConditionFormula><errorMessage>x</errorMessage></validationRules></CustomObject>"#;
    let labels = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CustomLabels xmlns=\"http://soap.sforce.com/2006/04/metadata\"><labels><fullName>Greeting</fullName><value>Hi</value></labels></CustomLabels>\n";
    let package = r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><types><members>Account.Grade7__c</members><name>CustomField</name></types><types><members>Account.Needs_Tier</members><name>ValidationRule</name></types><types><members>Greeting</members><name>CustomLabel</name></types><version>62.0</version></Package>"#;
    let r = deploy(
        &s,
        &[
            ("package.xml".into(), package.into()),
            ("objects/Account.object".into(), object.into()),
            ("labels/CustomLabels.labels".into(), labels.into()),
        ],
        "",
    );
    assert!(
        r.contains("<status>Succeeded</status>")
            && r.contains("<fullName>Account.Needs_Tier</fullName>"),
        "{r}"
    );
    let (answer, got) = retrieve(
        &s,
        "<met:types><met:members>Greeting</met:members><met:name>CustomLabel</met:name></met:types>",
    );
    assert!(got.len() == 2, "{answer} {:?}", got.keys());
    assert_eq!(
        got.get("unpackaged/labels/CustomLabels.labels")
            .map(Vec::as_slice),
        Some(labels.as_bytes())
    );
    let d = call(
        &s,
        "<met:describeMetadata><met:asOfVersion>62.0</met:asOfVersion></met:describeMetadata>",
    );
    for t in [
        "<directoryName>classes</directoryName><inFolder>false</inFolder><metaFile>true</metaFile><suffix>cls</suffix><xmlName>ApexClass</xmlName>",
        "<xmlName>Flow</xmlName>",
        "<xmlName>LightningComponentBundle</xmlName>",
        "<childXmlNames>ValidationRule</childXmlNames>",
        "<xmlName>PlatformEventChannel</xmlName>",
    ] {
        assert!(d.contains(t), "{t} in {d}");
    }
    assert!(
        !d.contains("<xmlName>ValidationRule</xmlName>"),
        "a child is listed in its parent only"
    );
}

#[test]
fn the_rest_deploy_keeps_a_trigger_and_refuses_tests() {
    let s = server();
    let boundary = "verbatimBoundary";
    let zip_bytes = base64::engine::general_purpose::STANDARD
        .decode(zip(&with_package(&package(""), CLASS)))
        .unwrap();
    let form = |options: serde_json::Value| {
        let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"package.xml\"\r\nContent-Type: application/zip\r\n\r\n").into_bytes();
        body.extend_from_slice(&zip_bytes);
        body.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"entity_content\"\r\nContent-Type: application/json\r\n\r\n{}\r\n--{boundary}--\r\n", json!({"deployOptions": options})).as_bytes());
        body
    };
    let post = |options| {
        let (st, body) = crate::j(
            s.http()
                .post(format!("{}/metadata/deployRequest", s.data()))
                .bearer(&s)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}").as_str(),
                )
                .body(form(options))
                .send()
                .unwrap(),
        );
        assert_eq!(st, 201, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        crate::get(
            &s,
            &format!("/metadata/deployRequest/{id}?includeDetails=true"),
        )
        .1
    };
    let failed = post(json!({"testLevel": "RunLocalTests"}));
    assert_eq!(failed["deployResult"]["status"], "Failed", "{failed}");
    assert!(
        failed["deployResult"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("forcebus runs no Apex tests"),
        "{failed}"
    );
    let ok = post(json!({"testLevel": "NoTestRun"}));
    assert_eq!(ok["deployResult"]["status"], "Succeeded", "{ok}");
    let successes = ok["deployResult"]["details"]["componentSuccesses"]
        .as_array()
        .unwrap();
    assert!(
        successes.iter().any(|m| m["componentType"] == "ApexTrigger"
            && m["fullName"] == "AccountTrigger"
            && m["created"] == true),
        "{ok}"
    );
    assert_eq!(records(&s, "SELECT Id FROM ApexTrigger").len(), 1);
}
