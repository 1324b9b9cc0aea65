//! SOSL: `/search` and `/parameterizedSearch`.

use serde_json::{Value, json};

use crate::{Authed, code, create, get, j, server};

fn search(s: &forcebus_testkit::Server, sosl: &str) -> (u16, Value) {
    j(s.http()
        .get(format!("{}/search", s.data()))
        .query(&[("q", sosl)])
        .bearer(s)
        .send()
        .unwrap())
}

fn names(body: &Value) -> Vec<String> {
    body["searchRecords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r["attributes"]["type"].as_str().unwrap(),
                r["Name"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

#[test]
fn search_finds_text_across_objects_in_returning_order() {
    let s = server();
    let acme = create(
        &s,
        "Account",
        json!({"Name": "Acme Corporation", "Industry": "Energy"}),
    );
    create(&s, "Account", json!({"Name": "Globex"}));
    create(
        &s,
        "Contact",
        json!({"LastName": "Acme-Smith", "Email": "smith@acme.example"}),
    );
    // It would match the Account list's WHERE too: only its deletion keeps it out.
    let deleted = create(
        &s,
        "Account",
        json!({"Name": "Acme Gone", "Industry": "Energy"}),
    );
    let (st, _) = j(s
        .http()
        .delete(format!("{}/sobjects/Account/{deleted}", s.data()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 204);

    let (st, body) = search(
        &s,
        "FIND {acme*} IN ALL FIELDS RETURNING Contact(Name, Email), Account(Id, Name, Industry WHERE Industry = 'Energy')",
    );
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        names(&body),
        ["Contact:Acme-Smith", "Account:Acme Corporation"]
    );
    let account = &body["searchRecords"][1];
    assert_eq!(account["Id"], acme);
    assert!(
        account["attributes"]["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/sobjects/Account/{acme}"))
    );

    // "acme" is in both Accounts' names and the Contact's email: IN EMAIL FIELDS finds
    // only the Contact.
    let (_, body) = search(
        &s,
        "FIND {acme} IN EMAIL FIELDS RETURNING Account(Name), Contact(Name, Email)",
    );
    assert_eq!(names(&body), ["Contact:Acme-Smith"], "{body}");
    let (_, body) = search(
        &s,
        "FIND {acme} RETURNING Account(Name) WITH METADATA='LABELS'",
    );
    assert_eq!(
        body["metadata"]["entityMetadata"],
        json!([{"entityName": "Account", "fieldMetadata": [{"name": "Name", "label": "Account Name"}]}]),
        "{body}"
    );
    let (_, body) = j(s
        .http()
        .get(format!("{}/search", s.data().replace("v59.0", "v35.0")))
        .query(&[("q", "FIND {Globex} RETURNING Account(Name)")])
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(
        body[0]["Name"], "Globex",
        "up to API 35.0 the answer is a bare array: {body}"
    );
}

#[test]
fn malformed_searches_get_salesforces_errors() {
    let s = server();
    for (sosl, want) in [
        ("FIND acme", "MALFORMED_SEARCH"),
        ("FIND {a}", "INVALID_SEARCH"),
        ("FIND {acme} RETURNING Nope__c", "INVALID_TYPE"),
        ("FIND {acme} RETURNING Account(Nope)", "INVALID_FIELD"),
        (
            "FIND {acme} RETURNING Account(Name WHERE Name =)",
            "MALFORMED_QUERY",
        ),
    ] {
        let (st, body) = search(&s, sosl);
        assert_eq!((st, code(&body)), (400, want), "{sosl}: {body}");
    }
    let (st, body) = get(&s, "/search");
    assert_eq!((st, code(&body)), (400, "MALFORMED_SEARCH"));
}

#[test]
fn parameterized_search_by_get_and_post() {
    let s = server();
    create(
        &s,
        "Account",
        json!({"Name": "Initech", "Industry": "Technology"}),
    );
    create(&s, "Account", json!({"Name": "Initech Labs"}));
    let (st, body) = get(
        &s,
        "/parameterizedSearch?q=Initech&sobject=Account&Account.fields=Name&Account.where=Industry%3D%27Technology%27&Account.limit=5",
    );
    assert_eq!(st, 200, "{body}");
    assert_eq!(names(&body), ["Account:Initech"]);
    let (st, body) = j(s.http()
        .post(format!("{}/parameterizedSearch", s.data()))
        .bearer(&s)
        .json(&json!({"q": "initech", "fields": ["Id", "Name"], "sobjects": [{"name": "Account", "orderBy": "Name DESC"}], "overallLimit": 1}))
        .send()
        .unwrap());
    assert_eq!(st, 200, "{body}");
    assert_eq!(names(&body), ["Account:Initech Labs"]);
    let (st, body) = get(&s, "/parameterizedSearch?sobject=Account");
    assert_eq!((st, code(&body)), (400, "MISSING_ARGUMENT"));
}
