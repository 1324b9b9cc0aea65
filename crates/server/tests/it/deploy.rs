//! The Metadata API's `deploy` and `checkDeployStatus` over raw SOAP: a zip with
//! `package.xml` and `.object` files deployed whole; redeploying is unchanged; a deploy
//! with one bad component applies nothing (rollbackOnError) or the good ones (false);
//! a zip without `package.xml` fails whole; checkOnly applies nothing.

use std::io::Write as _;

use base64::Engine;
use forcebus_testkit::Server;

use crate::{get, server};

/// A zip of `files`, in base64 (as a SOAP deploy carries it).
pub(crate) fn zip(files: &[(&str, &str)]) -> String {
    base64::engine::general_purpose::STANDARD.encode(zip_bytes(files))
}

/// A zip of `files` (name, text).
pub(crate) fn zip_bytes(files: &[(&str, &str)]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        for (name, text) in files {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(text.as_bytes()).unwrap();
        }
        w.finish().unwrap();
    }
    buf.into_inner()
}

pub(crate) fn call(s: &Server, op: &str) -> String {
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:met="http://soap.sforce.com/2006/04/metadata"><soapenv:Header><met:SessionHeader><met:sessionId>{}</met:sessionId></met:SessionHeader></soapenv:Header><soapenv:Body>{op}</soapenv:Body></soapenv:Envelope>"#,
        s.ready.access_token
    );
    let r = s
        .http()
        .post(format!("{}/services/Soap/m/62.0/deployRequest", s.base()))
        .header("content-type", "text/xml")
        .body(body)
        .send()
        .unwrap();
    r.text().unwrap()
}

pub(crate) fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text
        .find(open)
        .unwrap_or_else(|| panic!("no {open} in {text}"))
        + open.len();
    &text[start..start + text[start..].find(close).unwrap()]
}

/// Deploys `files` with `options`; the checkDeployStatus result with details.
pub(crate) fn deploy(s: &Server, files: &[(&str, &str)], options: &str) -> String {
    let answer = call(
        s,
        &format!(
            "<met:deploy><met:ZipFile>{}</met:ZipFile><met:DeployOptions>{options}</met:DeployOptions></met:deploy>",
            zip(files)
        ),
    );
    assert!(answer.contains("<state>Queued</state>"), "{answer}");
    let id = between(&answer, "<id>", "</id>").to_owned();
    assert!(id.starts_with("0Af"), "{id}");
    call(
        s,
        &format!(
            "<met:checkDeployStatus><met:asyncProcessId>{id}</met:asyncProcessId><met:includeDetails>true</met:includeDetails></met:checkDeployStatus>"
        ),
    )
}

const PACKAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><types><members>Ticket__c</members><name>CustomObject</name></types><types><members>Account.Channel__c</members><name>CustomField</name></types><version>62.0</version></Package>"#;
const TICKET: &str = r#"<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata"><label>Ticket</label><pluralLabel>Tickets</pluralLabel><nameField><label>Ticket Name</label><type>Text</type></nameField><fields><fullName>Severity__c</fullName><label>Severity</label><type>Picklist</type><valueSet><valueSetDefinition><value><fullName>Low</fullName><default>true</default></value><value><fullName>High</fullName><default>false</default></value></valueSetDefinition></valueSet></fields><fields><fullName>Hours__c</fullName><label>Hours</label><type>Number</type><precision>6</precision><scale>1</scale></fields></CustomObject>"#;
const ACCOUNT: &str = r#"<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata"><fields><fullName>Channel__c</fullName><label>Channel</label><type>Text</type><length>30</length></fields><fields><fullName>Ignored__c</fullName><label>Not in the package</label><type>Text</type><length>5</length></fields></CustomObject>"#;

#[test]
fn a_deploy_applies_its_package_whole_and_again_is_unchanged() {
    let s = server();
    let files = [
        ("package.xml", PACKAGE),
        ("objects/Ticket__c.object", TICKET),
        ("objects/Account.object", ACCOUNT),
    ];
    let r = deploy(
        &s,
        &files,
        "<met:rollbackOnError>true</met:rollbackOnError>",
    );
    assert!(
        r.contains("<status>Succeeded</status><success>true</success>"),
        "{r}"
    );
    assert!(r.contains("<numberComponentErrors>0</numberComponentErrors><numberComponentsDeployed>4</numberComponentsDeployed><numberComponentsTotal>4</numberComponentsTotal>"), "{r}");
    assert!(
        r.contains("<componentType></componentType><created>false</created>"),
        "the package.xml message: {r}"
    );
    assert!(r.contains("<changed>true</changed><componentType>CustomField</componentType><created>true</created>"), "{r}");
    assert!(
        r.contains(
            "<fileName>objects/Ticket__c.object</fileName><fullName>Ticket__c.Hours__c</fullName>"
        ),
        "{r}"
    );
    let (st, d) = get(&s, "/sobjects/Ticket__c/describe");
    assert_eq!(st, 200);
    assert!(
        d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "Severity__c")
    );
    let (_, a) = get(&s, "/sobjects/Account/describe");
    let names: Vec<&str> = a["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert!(
        names.contains(&"Channel__c") && !names.contains(&"Ignored__c"),
        "only the package's members"
    );
    // Again: unchanged, still a success.
    let r = deploy(&s, &files, "");
    assert!(r.contains("<status>Succeeded</status>"), "{r}");
    // Redeclared with more digits: changed (not created); to another type with data: refused.
    let more = TICKET.replace("<precision>6</precision>", "<precision>8</precision>");
    let r2 = deploy(
        &s,
        &[
            ("package.xml", PACKAGE),
            ("objects/Ticket__c.object", more.as_str()),
            ("objects/Account.object", ACCOUNT),
        ],
        "",
    );
    assert!(r2.contains("<status>Succeeded</status>") && r2.contains("<changed>true</changed><componentType>CustomField</componentType><created>false</created>"), "{r2}");
    assert!(r.contains("<changed>false</changed><componentType>CustomObject</componentType><created>false</created>"), "{r}");
}

#[test]
fn a_failing_component_rolls_the_deploy_back_unless_asked_not_to() {
    let s = server();
    let bad_account = ACCOUNT.replace(
        "<type>Text</type><length>30</length>",
        "<type>Hologram</type>",
    );
    let files = [
        ("package.xml", PACKAGE),
        ("objects/Ticket__c.object", TICKET),
        ("objects/Account.object", bad_account.as_str()),
    ];
    let r = deploy(
        &s,
        &files,
        "<met:rollbackOnError>true</met:rollbackOnError>",
    );
    assert!(
        r.contains("<status>Failed</status><success>false</success>"),
        "{r}"
    );
    assert!(
        r.contains("<problem>Field type Hologram is not supported"),
        "{r}"
    );
    let (st, _) = get(&s, "/sobjects/Ticket__c/describe");
    assert_eq!(st, 404, "rolled back: nothing made");
    let r = deploy(
        &s,
        &files,
        "<met:rollbackOnError>false</met:rollbackOnError>",
    );
    assert!(r.contains("<status>SucceededPartial</status>"), "{r}");
    let (st, _) = get(&s, "/sobjects/Ticket__c/describe");
    assert_eq!(st, 200, "the good component applied");
    let r = deploy(&s, &[("objects/Ticket__c.object", TICKET)], "");
    assert!(
        r.contains("<errorMessage>No package.xml found</errorMessage>")
            && r.contains("<status>Failed</status>"),
        "{r}"
    );
    let check = PACKAGE.replace("Ticket__c", "Other__c");
    let other = TICKET.replace("Ticket", "Other");
    let r = deploy(
        &s,
        &[
            ("package.xml", check.as_str()),
            ("objects/Other__c.object", other.as_str()),
            ("objects/Account.object", ACCOUNT),
        ],
        "<met:checkOnly>true</met:checkOnly>",
    );
    assert!(
        r.contains("<checkOnly>true</checkOnly>") && r.contains("<status>Succeeded</status>"),
        "{r}"
    );
    let (st, _) = get(&s, "/sobjects/Other__c/describe");
    assert_eq!(st, 404, "checkOnly applies nothing");
    let r = call(
        &s,
        "<met:checkDeployStatus><met:asyncProcessId>0Af000000000099AAA</met:asyncProcessId></met:checkDeployStatus>",
    );
    assert!(r.contains("sf:INVALID_CROSS_REFERENCE_KEY"), "{r}");
    let garbage = call(
        &s,
        "<met:deploy><met:ZipFile>bm90IGEgemlw</met:ZipFile></met:deploy>",
    );
    let id = between(&garbage, "<id>", "</id>").to_owned();
    let r = call(
        &s,
        &format!(
            "<met:checkDeployStatus><met:asyncProcessId>{id}</met:asyncProcessId><met:includeDetails>true</met:includeDetails></met:checkDeployStatus>"
        ),
    );
    assert!(
        r.contains("The ZipFile is not a zip archive") && r.contains("<status>Failed</status>"),
        "{r}"
    );
}

pub(crate) fn unzip(b64: &str) -> std::collections::BTreeMap<String, String> {
    use std::io::Read as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut text = String::new();
            f.read_to_string(&mut text).unwrap();
            (f.name().to_owned(), text)
        })
        .collect()
}

#[test]
fn retrieve_writes_back_what_a_deploy_made() {
    let s = server();
    let files = [
        ("package.xml", PACKAGE),
        ("objects/Ticket__c.object", TICKET),
        ("objects/Account.object", ACCOUNT),
    ];
    assert!(deploy(&s, &files, "").contains("<status>Succeeded</status>"));
    let answer = call(
        &s,
        "<met:retrieve><met:retrieveRequest><met:apiVersion>62.0</met:apiVersion><met:singlePackage>false</met:singlePackage><met:unpackaged><met:types><met:members>Ticket__c</met:members><met:members>Nope__c</met:members><met:name>CustomObject</met:name></met:types><met:types><met:members>Account.Channel__c</met:members><met:name>CustomField</met:name></met:types></met:unpackaged></met:retrieveRequest></met:retrieve>",
    );
    let id = between(&answer, "<id>", "</id>").to_owned();
    assert!(id.starts_with("09S"), "{answer}");
    let r = call(
        &s,
        &format!(
            "<met:checkRetrieveStatus><met:asyncProcessId>{id}</met:asyncProcessId><met:includeZip>true</met:includeZip></met:checkRetrieveStatus>"
        ),
    );
    assert!(
        r.contains("<status>Succeeded</status><success>true</success>"),
        "{r}"
    );
    assert!(r.contains("<problem>Entity of type &apos;CustomObject&apos; named &apos;Nope__c&apos; cannot be found</problem>"), "{r}");
    assert!(r.contains("<fullName>Ticket__c.Hours__c</fullName>"), "{r}");
    let zipped = unzip(between(&r, "<zipFile>", "</zipFile>"));
    let names: Vec<&String> = zipped.keys().collect();
    assert_eq!(
        names,
        [
            "unpackaged/objects/Account.object",
            "unpackaged/objects/Ticket__c.object",
            "unpackaged/package.xml"
        ]
    );
    let ticket = &zipped["unpackaged/objects/Ticket__c.object"];
    assert!(ticket.contains("<label>Ticket</label>") && ticket.contains("<fullName>Severity__c</fullName>") && ticket.contains("<precision>6</precision><required>false</required><scale>1</scale><type>Number</type>"), "{ticket}");
    let account = &zipped["unpackaged/objects/Account.object"];
    assert!(
        account.contains("<fullName>Channel__c</fullName>")
            && !account.contains("<label>Account</label>"),
        "only the field asked for: {account}"
    );
    let package = &zipped["unpackaged/package.xml"];
    for member in [
        "<members>Ticket__c</members>",
        "<members>Account.Channel__c</members>",
        "<name>CustomObject</name>",
    ] {
        assert!(package.contains(member), "{member} in {package}");
    }
    // What was retrieved deploys back unchanged.
    let back: Vec<(&str, &str)> = vec![
        ("package.xml", package.as_str()),
        ("objects/Ticket__c.object", ticket.as_str()),
        ("objects/Account.object", account.as_str()),
    ];
    let r2 = deploy(&s, &back, "");
    assert!(
        r2.contains("<status>Succeeded</status>")
            && !r2.contains("<created>true</created><createdDate>"),
        "{r2}"
    );
    let r = call(
        &s,
        "<met:checkRetrieveStatus><met:asyncProcessId>09S000000000099AAA</met:asyncProcessId></met:checkRetrieveStatus>",
    );
    assert!(r.contains("sf:INVALID_CROSS_REFERENCE_KEY"), "{r}");
}

#[test]
fn oversized_requests_and_zip_bombs_fail_with_the_org_unchanged() {
    let s = server();
    let big = "x".repeat(51 << 20);
    let answer = call(
        &s,
        &format!("<met:deploy><met:ZipFile>{big}</met:ZipFile></met:deploy>"),
    );
    assert!(
        answer.contains("<faultcode>sf:EXCEEDED_MAX_SIZE_REQUEST</faultcode>"),
        "{}",
        &answer[..answer.len().min(400)]
    );
    // 70 MB of zeros, compressed to a few KB.
    let zeros = "0".repeat(70 << 20);
    let r = deploy(
        &s,
        &[
            ("package.xml", PACKAGE),
            ("objects/Ticket__c.object", zeros.as_str()),
        ],
        "",
    );
    assert!(
        r.contains("The zip unpacks to more than") && r.contains("<status>Failed</status>"),
        "{}",
        &r[..r.len().min(600)]
    );
    let (st, _) = get(&s, "/sobjects/Ticket__c/describe");
    assert_eq!(st, 404);
}

/// A deploy is one store commit, platform events included: killed with SIGKILL while it
/// runs, the restarted org has all of it or none of it.
#[test]
fn a_deploy_killed_midway_is_whole_or_absent_after_the_restart() {
    let mut s = Server::start_with(&crate::bin(), forcebus_testkit::Options::default());
    let objects: Vec<(String, String)> = (0..150)
        .map(|i| {
            let fields: String = (0..8)
                .map(|f| format!("<fields><fullName>F{f}__c</fullName><label>F{f}</label><type>Text</type><length>20</length></fields>"))
                .collect();
            (
                format!("objects/Bulk{i}__c.object"),
                format!(r#"<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata"><label>Bulk {i}</label><pluralLabel>Bulk {i}s</pluralLabel>{fields}</CustomObject>"#),
            )
        })
        .collect();
    // Platform events too: they are in the same commit.
    let events: Vec<(String, String)> = (0..5)
        .map(|i| {
            (
                format!("objects/Beat{i}__e.object"),
                format!(r#"<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata"><label>Beat {i}</label><pluralLabel>Beats</pluralLabel><eventType>HighVolume</eventType><fields><fullName>N__c</fullName><label>N</label><type>Text</type><length>9</length></fields></CustomObject>"#),
            )
        })
        .collect();
    let members: String = (0..150)
        .map(|i| format!("<members>Bulk{i}__c</members>"))
        .chain((0..5).map(|i| format!("<members>Beat{i}__e</members>")))
        .collect();
    let package = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><types>{members}<name>CustomObject</name></types><version>62.0</version></Package>"#
    );
    let mut files: Vec<(&str, &str)> = vec![("package.xml", package.as_str())];
    files.extend(
        objects
            .iter()
            .chain(&events)
            .map(|(n, t)| (n.as_str(), t.as_str())),
    );
    let body = format!(
        "<met:deploy><met:ZipFile>{}</met:ZipFile></met:deploy>",
        zip(&files)
    );
    let base = s.base();
    let token = s.ready.access_token.clone();
    let sender = std::thread::spawn(move || {
        let envelope = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:met="http://soap.sforce.com/2006/04/metadata"><soapenv:Header><met:SessionHeader><met:sessionId>{token}</met:sessionId></met:SessionHeader></soapenv:Header><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
        );
        let _ = reqwest::blocking::Client::new()
            .post(format!("{base}/services/Soap/m/62.0"))
            .header("content-type", "text/xml")
            .body(envelope)
            .send();
    });
    std::thread::sleep(std::time::Duration::from_millis(40));
    s.kill();
    let _ = sender.join();
    s.restart();
    let made = (0..150)
        .filter(|i| get(&s, &format!("/sobjects/Bulk{i}__c/describe")).0 == 200)
        .count();
    let beats = (0..5)
        .filter(|i| get(&s, &format!("/sobjects/Beat{i}__e/describe")).0 == 200)
        .count();
    assert!(
        (made, beats) == (0, 0) || (made, beats) == (150, 5),
        "{made} of 150 objects, {beats} of 5 events: a deploy must be whole or absent"
    );
    if made == 150 {
        let (_, d) = get(&s, "/sobjects/Bulk149__c/describe");
        assert_eq!(
            d["fields"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["custom"] == true)
                .count(),
            8
        );
    }
}
