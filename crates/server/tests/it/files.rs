//! Files: a ContentVersion makes its ContentDocument and shares it; a second version
//! becomes the latest; deleting the document takes its versions and links; blobs are kept
//! apart from their records and streamed back.

use serde_json::{Value, json};

use crate::{Authed, create, get, j, records, server};

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
    let links = records(
        &s,
        &format!(
            "SELECT ContentDocumentId, ShareType FROM ContentDocumentLink WHERE LinkedEntityId = '{account}'"
        ),
    );
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0]["ContentDocumentId"], document.as_str());
    let owner = records(
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
    let versions = records(
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
        records(
            &s,
            &format!("SELECT Id FROM ContentVersion WHERE ContentDocumentId = '{document}'")
        )
        .is_empty()
    );
    assert!(
        records(
            &s,
            &format!("SELECT Id FROM ContentDocumentLink WHERE ContentDocumentId = '{document}'")
        )
        .is_empty()
    );
}

/// A file uploaded as `multipart/form-data` (the binary part first, as the sf CLI sends
/// it) reads back byte for byte from its blob URL; an attachment's body keeps its
/// content type.
#[test]
fn blobs_go_in_through_multipart_and_come_back_raw_from_their_url() {
    let s = server();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let boundary = "forcebus-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"VersionData\"; filename=\"data.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(&bytes);
    body.extend_from_slice(
        format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"entity_content\"\r\nContent-Type: application/json\r\n\r\n{{\"Title\": \"Data\", \"PathOnClient\": \"data.bin\"}}\r\n--{boundary}--\r\n").as_bytes(),
    );
    let (st, res) = j(s
        .http()
        .post(format!("{}/sobjects/ContentVersion", s.data()))
        .bearer(&s)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .unwrap());
    assert_eq!(st, 201, "{res}");
    let id = res["id"].as_str().unwrap();
    let (_, v) = get(&s, &format!("/sobjects/ContentVersion/{id}"));
    let url = v["VersionData"].as_str().expect("a URL");
    assert!(
        url.ends_with(&format!("/sobjects/ContentVersion/{id}/VersionData")),
        "{url}"
    );
    assert_eq!(v["ContentSize"], json!(300_000));
    let back = s
        .http()
        .get(format!("{}{url}", s.base()))
        .bearer(&s)
        .send()
        .unwrap();
    assert_eq!(back.status(), 200);
    assert_eq!(back.bytes().unwrap().as_ref(), bytes.as_slice());

    let account = create(&s, "Account", json!({"Name": "Attached"}));
    let att = create(
        &s,
        "Attachment",
        json!({"ParentId": account, "Name": "a.txt", "ContentType": "text/plain", "Body": "aGVsbG8="}),
    );
    let back = s
        .http()
        .get(format!("{}/sobjects/Attachment/{att}/Body", s.data()))
        .bearer(&s)
        .send()
        .unwrap();
    assert_eq!(back.headers()["content-type"], "text/plain");
    assert_eq!(back.text().unwrap(), "hello");
    let (st, _) = get(&s, &format!("/sobjects/Attachment/{att}/Nope"));
    assert_eq!(
        st, 404,
        "not a blob field: an external id read that finds nothing"
    );
}

#[test]
fn blobs_are_kept_apart_from_their_records_and_go_when_they_do() {
    // Reads the SQLite file itself.
    let mut s = forcebus_testkit::Server::start_with(
        &crate::bin(),
        forcebus_testkit::Options {
            sqlite: true,
            ..Default::default()
        },
    );
    let account = create(&s, "Account", json!({"Name": "Blobs"}));
    // "first!" then "second", base64.
    let att = create(
        &s,
        "Attachment",
        json!({"ParentId": account, "Name": "a.txt", "ContentType": "text/plain", "Body": "Zmlyc3Qh"}),
    );
    let version = create(
        &s,
        "ContentVersion",
        json!({"Title": "V", "PathOnClient": "v.txt", "VersionData": "dmVyc2lvbiBieXRlcw=="}),
    );
    let st = s
        .http()
        .patch(format!("{}/sobjects/Attachment/{att}", s.data()))
        .bearer(&s)
        .json(&json!({"Body": "c2Vjb25k"}))
        .send()
        .unwrap()
        .status();
    assert_eq!(st, 204);
    let rows = records(
        &s,
        &format!("SELECT Body FROM Attachment WHERE Id = '{att}'"),
    );
    assert!(
        rows[0]["Body"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/sobjects/Attachment/{att}/Body"))),
        "SOQL answers the URL: {rows:?}"
    );
    let events = crate::events::all_events(&s, 0);
    let created = events
        .iter()
        .find(|e| e["kind"] == "ContentVersionChangeEvent")
        .expect("the version's CREATE");
    assert!(
        created["event"]["fields"].get("VersionData").is_none(),
        "no bytes in change events: {created}"
    );

    s.kill();
    s.restart();
    let read = |path: &str| {
        s.http()
            .get(format!("{}{path}", s.data()))
            .bearer(&s)
            .send()
            .unwrap()
    };
    let back = read(&format!("/sobjects/Attachment/{att}/Body"));
    assert_eq!(back.headers()["content-length"], "6");
    assert_eq!(back.text().unwrap(), "second");
    assert_eq!(
        read(&format!("/sobjects/ContentVersion/{version}/VersionData"))
            .text()
            .unwrap(),
        "version bytes"
    );
    let (_, v) = get(&s, &format!("/sobjects/ContentVersion/{version}"));
    assert_eq!(
        v["Checksum"],
        json!("9e621a22157c1195f813239c30b9ab01"),
        "the file's MD5"
    );

    // In the database: the record holds a key, the bytes are in a table of their own,
    // the replaced ones are gone.
    let db = rusqlite::Connection::open(s.dir().join("data/forcebus.db")).unwrap();
    let att15 = &att[..15];
    let body: String = db
        .query_row("SELECT body FROM records WHERE id = ?1", [att15], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(
        !body.contains("c2Vjb25k") && body.contains("blob:"),
        "{body}"
    );
    let blobs = |db: &rusqlite::Connection| -> Vec<(String, Vec<u8>)> {
        let mut stmt = db
            .prepare("SELECT key, CAST(group_concat(data, '') AS BLOB) FROM blob_pieces WHERE key LIKE ?1 GROUP BY key ORDER BY key")
            .unwrap();
        stmt.query_map([format!("{att15}/%")], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let kept = blobs(&db);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].1, b"second");
    drop(db);

    // Deleted, the bytes stay for an undelete; emptied from the Recycle Bin, they go.
    let st = s
        .http()
        .delete(format!("{}/sobjects/Attachment/{att}", s.data()))
        .bearer(&s)
        .send()
        .unwrap()
        .status();
    assert_eq!(st, 204);
    let db = rusqlite::Connection::open(s.dir().join("data/forcebus.db")).unwrap();
    assert_eq!(blobs(&db).len(), 1, "in the Recycle Bin, still there");
    drop(db);
    let purge = format!(
        r#"<?xml version="1.0"?><se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header><SessionHeader xmlns="urn:partner.soap.sforce.com"><sessionId>{}</sessionId></SessionHeader></se:Header><se:Body><emptyRecycleBin xmlns="urn:partner.soap.sforce.com"><ids>{att}</ids></emptyRecycleBin></se:Body></se:Envelope>"#,
        s.ready.access_token
    );
    let r = s
        .http()
        .post(format!("{}/services/Soap/u/66.0", s.base()))
        .header("Content-Type", "text/xml")
        .header("SOAPAction", "x")
        .body(purge)
        .send()
        .unwrap();
    let text = r.text().unwrap();
    assert!(text.contains("<success>true</success>"), "{text}");
    let db = rusqlite::Connection::open(s.dir().join("data/forcebus.db")).unwrap();
    assert!(blobs(&db).is_empty(), "purged with the record");
}
