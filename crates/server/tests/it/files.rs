//! Files: a ContentVersion makes its ContentDocument and shares it; a second version
//! becomes the latest; deleting the document takes its versions and links.

use serde_json::{Value, json};

use crate::{Authed, create, get, j, server};

fn query(s: &forcebus_testkit::Server, soql: &str) -> Vec<Value> {
    let (st, body) = j(s
        .http()
        .get(format!("{}/query", s.data()))
        .query(&[("q", soql)])
        .bearer(s)
        .send()
        .unwrap());
    assert_eq!(st, 200, "{soql}: {body}");
    body["records"].as_array().unwrap().clone()
}

#[test]
fn a_version_makes_its_document_and_links_and_a_second_version_becomes_the_latest() {
    let s = server();
    let account = create(&s, "Account", json!({"Name": "Files Co"}));
    let first = create(
        &s,
        "ContentVersion",
        json!({"Title": "Hello", "PathOnClient": "hello.txt", "VersionData": "aGVsbG8=",
               "FirstPublishLocationId": account}),
    );
    let (_, v1) = get(&s, &format!("/sobjects/ContentVersion/{first}"));
    let document = v1["ContentDocumentId"]
        .as_str()
        .expect("a document")
        .to_owned();
    assert!(document.starts_with("069"), "{document}");
    assert_eq!(
        (
            &v1["IsLatest"],
            &v1["VersionNumber"],
            &v1["FileType"],
            &v1["FileExtension"],
            &v1["ContentSize"]
        ),
        (
            &json!(true),
            &json!("1"),
            &json!("TEXT"),
            &json!("txt"),
            &json!(5)
        )
    );
    let (st, doc) = get(&s, &format!("/sobjects/ContentDocument/{document}"));
    assert_eq!(st, 200, "{doc}");
    assert_eq!(doc["LatestPublishedVersionId"], first.as_str());
    assert_eq!(doc["Title"], "Hello");
    let links = query(
        &s,
        &format!(
            "SELECT ContentDocumentId, ShareType FROM ContentDocumentLink WHERE LinkedEntityId = '{account}'"
        ),
    );
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0]["ContentDocumentId"], document.as_str());
    let owner = query(
        &s,
        &format!(
            "SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '{}'",
            s.ready.user_id
        ),
    );
    assert_eq!(owner.len(), 1, "the owner's link");

    let second = create(
        &s,
        "ContentVersion",
        json!({"Title": "Hello again", "PathOnClient": "hello.pdf", "VersionData": "aGVsbG8h",
               "ContentDocumentId": document}),
    );
    let (_, doc) = get(&s, &format!("/sobjects/ContentDocument/{document}"));
    assert_eq!(doc["LatestPublishedVersionId"], second.as_str());
    assert_eq!(
        (&doc["Title"], &doc["FileType"]),
        (&json!("Hello again"), &json!("PDF"))
    );
    let versions = query(
        &s,
        &format!(
            "SELECT Id, IsLatest, VersionNumber FROM ContentVersion WHERE ContentDocumentId = '{document}' ORDER BY VersionNumber"
        ),
    );
    let seen: Vec<(&Value, &Value)> = versions
        .iter()
        .map(|v| (&v["IsLatest"], &v["VersionNumber"]))
        .collect();
    assert_eq!(
        seen,
        vec![(&json!(false), &json!("1")), (&json!(true), &json!("2"))]
    );

    let st = s
        .http()
        .delete(format!("{}/sobjects/ContentDocument/{document}", s.data()))
        .bearer(&s)
        .send()
        .unwrap()
        .status();
    assert_eq!(st, 204);
    assert!(
        query(
            &s,
            &format!("SELECT Id FROM ContentVersion WHERE ContentDocumentId = '{document}'")
        )
        .is_empty()
    );
    assert!(
        query(
            &s,
            &format!("SELECT Id FROM ContentDocumentLink WHERE ContentDocumentId = '{document}'")
        )
        .is_empty()
    );
}
