//! Destructive changes in a deploy (`metadata-tooling.md` §5.2, §5.4): `destructiveChanges*.xml`
//! beside `package.xml` delete fields, objects (with their records) and platform events in
//! the deploy's one commit; pre-deletions run before the package, post-deletions after;
//! deleting what is not there is a warning that fails the deploy unless warnings are
//! ignored; a component still referenced fails and, rolled back, changes nothing.

use crate::deploy::{between, deploy};
use crate::{create, get};

const EMPTY: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><version>62.0</version></Package>"#;
const PACKAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><types><members>Ticket__c</members><members>Alarm__e</members><name>CustomObject</name></types><version>62.0</version></Package>"#;
const TICKET: &str = r#"<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata"><label>Ticket</label><pluralLabel>Tickets</pluralLabel><nameField><label>Ticket Name</label><type>Text</type></nameField><fields><fullName>Hours__c</fullName><label>Hours</label><type>Text</type><length>10</length></fields></CustomObject>"#;
const ALARM: &str = r#"<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata"><label>Alarm</label><pluralLabel>Alarms</pluralLabel><eventType>HighVolume</eventType><deploymentStatus>Deployed</deploymentStatus><fields><fullName>Level__c</fullName><label>Level</label><type>Number</type><precision>3</precision><scale>0</scale></fields><fields><fullName>Note__c</fullName><label>Note</label><type>Text</type><length>20</length></fields></CustomObject>"#;

fn manifest(kind: &str, members: &[&str]) -> String {
    let members: String = members
        .iter()
        .map(|m| format!("<members>{m}</members>"))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><types>{members}<name>{kind}</name></types><version>62.0</version></Package>"#
    )
}

fn fields(s: &forcebus_testkit::Server, object: &str) -> Vec<String> {
    let (st, d) = get(s, &format!("/sobjects/{object}/describe"));
    assert_eq!(st, 200, "{d}");
    d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

fn deployed(s: &forcebus_testkit::Server) {
    let files = [
        ("package.xml", PACKAGE),
        ("objects/Ticket__c.object", TICKET),
        ("objects/Alarm__e.object", ALARM),
    ];
    let r = deploy(s, &files, "");
    assert!(r.contains("<status>Succeeded</status>"), "{r}");
}

#[test]
fn destructive_manifests_delete_fields_objects_and_events_in_order() {
    let s = crate::server();
    deployed(&s);
    let ticket = create(
        &s,
        "Ticket__c",
        serde_json::json!({"Name": "T-1", "Hours__c": "3"}),
    );
    // Pre-deletion first: the field comes back as a number, which a change could not do.
    let number = TICKET.replace(
        "<type>Text</type><length>10</length>",
        "<type>Number</type><precision>4</precision><scale>0</scale>",
    );
    let pre = manifest("CustomField", &["Ticket__c.Hours__c"]);
    let post = manifest("CustomField", &["Alarm__e.Note__c"]);
    let r = deploy(
        &s,
        &[
            ("package.xml", &manifest("CustomObject", &["Ticket__c"])),
            ("objects/Ticket__c.object", &number),
            ("destructiveChangesPre.xml", &pre),
            ("destructiveChangesPost.xml", &post),
        ],
        "",
    );
    assert!(r.contains("<status>Succeeded</status>"), "{r}");
    assert!(
        r.contains("<deleted>true</deleted><fileName>destructiveChangesPre.xml</fileName><fullName>Ticket__c.Hours__c</fullName>"),
        "{r}"
    );
    assert!(r.contains("<deleted>true</deleted><fileName>destructiveChangesPost.xml</fileName><fullName>Alarm__e.Note__c</fullName>"), "{r}");
    let (_, d) = get(&s, "/sobjects/Ticket__c/describe");
    let hours = d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Hours__c")
        .unwrap();
    assert_eq!(hours["type"], "double", "{hours}");
    let (_, t) = get(&s, &format!("/sobjects/Ticket__c/{ticket}"));
    assert!(
        t["Hours__c"].is_null(),
        "the old values went with the old field: {t}"
    );
    let (_, e) = get(&s, "/sobjects/Alarm__e/describe");
    let names: Vec<&str> = e["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert!(
        names.contains(&"Level__c") && !names.contains(&"Note__c"),
        "{names:?}"
    );

    // Whole objects and events go, a custom object with its records.
    let r = deploy(
        &s,
        &[
            ("package.xml", EMPTY),
            (
                "destructiveChanges.xml",
                &manifest("CustomObject", &["Ticket__c", "Alarm__e"]),
            ),
        ],
        "",
    );
    assert!(r.contains("<status>Succeeded</status>"), "{r}");
    assert!(
        r.contains("<numberComponentsDeployed>2</numberComponentsDeployed>"),
        "{r}"
    );
    assert_eq!(get(&s, "/sobjects/Ticket__c/describe").0, 404);
    assert_eq!(get(&s, "/sobjects/Alarm__e/describe").0, 404);
    assert_eq!(get(&s, &format!("/sobjects/Ticket__c/{ticket}")).0, 404);
    // And may be deployed again, the object under a new key prefix.
    deployed(&s);
    let again = create(&s, "Ticket__c", serde_json::json!({"Name": "T-2"}));
    assert_ne!(&again[..3], &ticket[..3]);
    assert!(!fields(&s, "Ticket__c").is_empty());
}

#[test]
fn deleting_what_is_not_there_is_a_warning_that_fails_unless_ignored() {
    let s = crate::server();
    deployed(&s);
    let files = [
        ("package.xml", EMPTY),
        (
            "destructiveChanges.xml",
            &manifest("CustomField", &["Ticket__c.Hours__c", "Ticket__c.Nope__c"]),
        ),
    ];
    let r = deploy(&s, &files, "");
    assert!(
        r.contains("<status>Failed</status><success>false</success>"),
        "{r}"
    );
    let failure = between(&r, "<componentFailures>", "</componentFailures>");
    assert!(
        failure.contains("<fileName>destructiveChanges.xml</fileName><fullName>destructiveChanges.xml</fullName><problem>No CustomField named: Ticket__c.Nope__c found</problem><problemType>Warning</problemType><success>false</success>"),
        "{failure}"
    );
    assert!(
        fields(&s, "Ticket__c").contains(&"Hours__c".to_owned()),
        "rolled back"
    );
    let r = deploy(&s, &files, "<met:ignoreWarnings>true</met:ignoreWarnings>");
    assert!(
        r.contains("<status>Succeeded</status><success>true</success>"),
        "{r}"
    );
    assert!(
        r.contains("<problemType>Warning</problemType><success>true</success>"),
        "{r}"
    );
    assert!(!fields(&s, "Ticket__c").contains(&"Hours__c".to_owned()));
}

#[test]
fn a_referenced_object_is_not_deleted_and_the_deploy_changes_nothing() {
    let s = crate::server();
    deployed(&s);
    let lookup = r#"<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata"><fields><fullName>Ticket__c</fullName><label>Ticket</label><type>Lookup</type><referenceTo>Ticket__c</referenceTo><relationshipName>Tickets</relationshipName><relationshipLabel>Tickets</relationshipLabel></fields></CustomObject>"#;
    let r = deploy(
        &s,
        &[
            (
                "package.xml",
                &manifest("CustomField", &["Contact.Ticket__c"]),
            ),
            ("objects/Contact.object", lookup),
        ],
        "",
    );
    assert!(r.contains("<status>Succeeded</status>"), "{r}");
    let files = [
        ("package.xml", EMPTY),
        (
            "destructiveChanges.xml",
            &manifest("CustomObject", &["Ticket__c"]),
        ),
        (
            "destructiveChangesPost.xml",
            &manifest("CustomField", &["Ticket__c.Hours__c"]),
        ),
    ];
    let r = deploy(&s, &files, "");
    assert!(r.contains("<status>Failed</status>"), "{r}");
    assert!(
        r.contains("The object Ticket__c is referenced by the field Contact.Ticket__c"),
        "{r}"
    );
    assert!(
        fields(&s, "Ticket__c").contains(&"Hours__c".to_owned()),
        "nothing applied"
    );
    // The lookup deleted first, in the same deploy, lets the object go.
    let pre = manifest("CustomField", &["Contact.Ticket__c"]);
    let mut files = files.to_vec();
    files.push(("destructiveChangesPre.xml", &pre));
    files.remove(2);
    let r = deploy(&s, &files, "");
    assert!(r.contains("<status>Succeeded</status>"), "{r}");
    assert_eq!(get(&s, "/sobjects/Ticket__c/describe").0, 404);
    assert!(!fields(&s, "Contact").contains(&"Ticket__c".to_owned()));
}

/// What SDR sends when an event is deleted from a project: the event and its fields, in
/// one manifest; the event is gone whole (and may be made again).
#[test]
fn an_event_deleted_with_its_fields_is_gone_whole() {
    let s = crate::server();
    deployed(&s);
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><types><members>Alarm__e.Level__c</members><name>CustomField</name></types><types><members>Alarm__e</members><name>CustomObject</name></types><version>62.0</version></Package>"#;
    let r = deploy(
        &s,
        &[
            ("package.xml", EMPTY),
            ("destructiveChangesPre.xml", manifest),
        ],
        "",
    );
    assert!(r.contains("<status>Succeeded</status>"), "{r}");
    assert_eq!(get(&s, "/sobjects/Alarm__e/describe").0, 404);
    deployed(&s);
    assert!(
        fields(&s, "Alarm__e").contains(&"Level__c".to_owned()),
        "made again whole"
    );
}
