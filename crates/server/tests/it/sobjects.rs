//! Single-record create, retrieve, update, delete, upsert, external ids, and every
//! validation error, each leaving the org unchanged.

use serde_json::{Value, json};

use crate::{Authed, code, create, get, j, live_ids, server};

#[test]
fn create_retrieve_update_delete() {
    let s = server();
    let id = create(
        &s,
        "Account",
        json!({"attributes": {"type": "Account"}, "Name": "Acme", "BillingCity": "Paris", "NumberOfEmployees": "12", "AnnualRevenue": 1e6}),
    );
    assert_eq!(id.len(), 18);
    assert!(id.starts_with("001"));
    let (st, rec) = get(&s, &format!("/sobjects/Account/{id}"));
    assert_eq!(st, 200);
    assert_eq!(
        rec["attributes"],
        json!({"type": "Account", "url": format!("/services/data/v59.0/sobjects/Account/{id}")})
    );
    assert_eq!(rec["Id"], id);
    assert_eq!(rec["NumberOfEmployees"], 12);
    assert_eq!(rec["BillingAddress"]["city"], "Paris");
    assert_eq!(rec["OwnerId"], s.ready.user_id);
    assert_eq!(rec["IsDeleted"], false);
    assert!(rec["CreatedDate"].as_str().unwrap().ends_with("+0000"));
    let keys: Vec<&str> = rec
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        &keys[..4],
        ["attributes", "Id", "IsDeleted", "MasterRecordId"]
    );
    // 15-character ids work everywhere; 18 come back.
    let (st, rec) = get(
        &s,
        &format!("/sobjects/account/{}?fields=Name,Phone", &id[..15]),
    );
    assert_eq!(st, 200);
    let keys: Vec<&str> = rec
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["attributes", "Name", "Phone", "Id"],
        "the asked fields, then the Id"
    );
    let r = s
        .http()
        .patch(format!("{}/sobjects/Account/{}", s.data(), &id[..15]))
        .bearer(&s)
        .json(&json!({"Phone": "555", "BillingCity": null}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert!(r.text().unwrap().is_empty());
    let (_, rec) = get(&s, &format!("/sobjects/Account/{id}"));
    assert_eq!(
        (rec["Phone"].as_str(), &rec["BillingAddress"]),
        (Some("555"), &Value::Null)
    );
    assert_eq!(
        s.http()
            .delete(format!("{}/sobjects/Account/{id}", s.data()))
            .bearer(&s)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    let (st, body) = get(&s, &format!("/sobjects/Account/{id}"));
    assert_eq!((st, code(&body)), (404, "NOT_FOUND"));
    let (st, body) = j(s
        .http()
        .patch(format!("{}/sobjects/Account/{id}", s.data()))
        .bearer(&s)
        .json(&json!({"Phone": "1"}))
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (404, "ENTITY_IS_DELETED"));
    let (st, body) = j(s
        .http()
        .delete(format!("{}/sobjects/Account/{id}", s.data()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (404, "ENTITY_IS_DELETED"));
}

#[test]
fn validation_errors_use_salesforce_codes_and_change_nothing() {
    let s = server();
    let parent = create(&s, "Account", json!({"Name": "Parent"}));
    let contact = create(&s, "Contact", json!({"LastName": "C"}));
    let cases: Vec<(&str, Value, &str)> = vec![
        ("Account", json!({"Phone": "1"}), "REQUIRED_FIELD_MISSING"),
        (
            "Account",
            json!({"Name": "x", "Nope__c": 1}),
            "INVALID_FIELD",
        ),
        (
            "Account",
            json!({"Name": "x", "CreatedDate": "2024-01-01T00:00:00Z"}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
        ),
        (
            "Account",
            json!({"Name": "x", "Id": parent}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
        ),
        (
            "Account",
            json!({"Name": "x".repeat(256)}),
            "STRING_TOO_LONG",
        ),
        (
            "Account",
            json!({"Name": "x", "Tier__c": "Bronze"}),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ),
        (
            "Account",
            json!({"Name": "x", "ParentId": "not-an-id"}),
            "MALFORMED_ID",
        ),
        (
            "Account",
            json!({"Name": "x", "ParentId": "001Fb0000009999"}),
            "INVALID_CROSS_REFERENCE_KEY",
        ),
        (
            "Account",
            json!({"Name": "x", "ParentId": contact}),
            "FIELD_INTEGRITY_EXCEPTION",
        ),
        (
            "Account",
            json!({"Name": "x", "NumberOfEmployees": "lots"}),
            "JSON_PARSER_ERROR",
        ),
        (
            "Account",
            json!({"Name": {"nested": true}}),
            "JSON_PARSER_ERROR",
        ),
        (
            "Account",
            json!({"Name": "x", "NumberOfEmployees": 123456789}),
            "NUMBER_OUTSIDE_VALID_RANGE",
        ),
        (
            "Account",
            json!({"Name": "x", "AnnualRevenue": true}),
            "JSON_PARSER_ERROR",
        ),
        (
            "Contact",
            json!({"LastName": "x", "Email": "not-an-email"}),
            "INVALID_EMAIL_ADDRESS",
        ),
        (
            "Opportunity",
            json!({"Name": "x", "StageName": "Prospecting", "CloseDate": "2024-02-30"}),
            "JSON_PARSER_ERROR",
        ),
    ];
    for (object, body, want) in cases {
        let (st, resp) = j(s
            .http()
            .post(format!("{}/sobjects/{object}", s.data()))
            .bearer(&s)
            .json(&body)
            .send()
            .unwrap());
        assert_eq!((st, code(&resp)), (400, want), "{object} {body} -> {resp}");
    }
    let (st, resp) = j(s
        .http()
        .post(format!("{}/sobjects/Account", s.data()))
        .bearer(&s)
        .json(&json!({"Name": "Dup", "External_Id__c": "E1"}))
        .send()
        .unwrap());
    assert_eq!(st, 201, "{resp}");
    let (st, resp) = j(s
        .http()
        .post(format!("{}/sobjects/Account", s.data()))
        .bearer(&s)
        .json(&json!({"Name": "Dup2", "External_Id__c": "e1"}))
        .send()
        .unwrap());
    assert_eq!((st, code(&resp)), (400, "DUPLICATE_VALUE"));
    let (_, resp) = j(s
        .http()
        .post(format!("{}/sobjects/Account", s.data()))
        .bearer(&s)
        .json(&json!({}))
        .send()
        .unwrap());
    assert_eq!(resp[0]["fields"], json!(["Name"]));
    assert_eq!(resp[0]["message"], "Required fields are missing: [Name]");
    assert_eq!(
        live_ids(&s, "Account").len(),
        2,
        "only the parent and the first Dup exist"
    );
    // Updates are validated the same way and change nothing when they fail.
    let (st, resp) = j(s
        .http()
        .patch(format!("{}/sobjects/Account/{parent}", s.data()))
        .bearer(&s)
        .json(&json!({"Name": null}))
        .send()
        .unwrap());
    assert_eq!((st, code(&resp)), (400, "REQUIRED_FIELD_MISSING"));
    let (st, resp) = j(s
        .http()
        .patch(format!("{}/sobjects/Account/{parent}", s.data()))
        .bearer(&s)
        .json(&json!({"Phone": "1", "CreatedById": parent}))
        .send()
        .unwrap());
    assert_eq!((st, code(&resp)), (400, "INVALID_FIELD_FOR_INSERT_UPDATE"));
    assert_eq!(
        get(&s, &format!("/sobjects/Account/{parent}")).1["Phone"],
        Value::Null
    );
}

#[test]
fn bad_requests_get_salesforce_errors() {
    let s = server();
    let url = format!("{}/sobjects/Account", s.data());
    let (st, body) = j(s
        .http()
        .post(&url)
        .bearer(&s)
        .header("Content-Type", "application/json")
        .body("{\"Name\": ")
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (400, "JSON_PARSER_ERROR"));
    let (st, body) = j(s
        .http()
        .post(&url)
        .bearer(&s)
        .header("Content-Type", "application/json")
        .body("[1, 2]")
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (400, "JSON_PARSER_ERROR"));
    let (st, body) = j(s
        .http()
        .post(&url)
        .bearer(&s)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("Name=x")
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (415, "UNSUPPORTED_MEDIA_TYPE"));
    let huge = format!("{{\"Name\": \"{}\"}}", "x".repeat(51 * 1024 * 1024));
    let (st, body) = j(s
        .http()
        .post(&url)
        .bearer(&s)
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (413, "REQUEST_ENTITY_TOO_LARGE"));
    let (st, body) = j(s
        .http()
        .put(format!("{url}/001Fb0000000001"))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (405, "METHOD_NOT_ALLOWED"));
    assert_eq!(
        body[0]["message"],
        "HTTP Method 'PUT' not allowed. Allowed are GET,HEAD,PATCH,DELETE"
    );
    let (st, body) = get(&s, "/sobjects/Nope__c/001Fb0000000001");
    assert_eq!((st, code(&body)), (404, "NOT_FOUND"));
    let (st, body) = get(&s, "/sobjects/Account/xyz");
    assert_eq!(
        (st, body[0]["message"].as_str()),
        (
            404,
            Some("Provided external ID field does not exist or is not accessible: xyz")
        )
    );
    let (st, body) = get(&s, "/sobjects/Account/001Fb0000000999");
    assert_eq!((st, code(&body)), (404, "NOT_FOUND"));
    let id = create(&s, "Account", json!({"Name": "x"}));
    let (st, body) = get(&s, &format!("/sobjects/Account/{id}?fields=Name,Bogus"));
    assert_eq!((st, code(&body)), (400, "INVALID_FIELD"));
    let (st, body) = j(s
        .http()
        .get(format!("{}/services/data/v19.0/sobjects", s.base()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (410, "GONE"), "a retired version");
    let (st, body) = j(s
        .http()
        .get(format!("{}/services/nothing/here", s.base()))
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (404, "NOT_FOUND"));
    assert_eq!(live_ids(&s, "Account"), [id]);
}

#[test]
fn upsert_and_retrieval_by_external_id() {
    let s = server();
    let url = |v: &str, val: &str| {
        format!(
            "{}/services/data/v{v}/sobjects/Account/External_Id__c/{val}",
            s.base()
        )
    };
    let (st, body) = j(s
        .http()
        .patch(url("59.0", "A%2F1"))
        .bearer(&s)
        .json(&json!({"Name": "Slash"}))
        .send()
        .unwrap());
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["created"], true);
    let id = body["id"].as_str().unwrap().to_owned();
    let (st, body) = j(s
        .http()
        .patch(url("59.0", "A%2F1"))
        .bearer(&s)
        .json(&json!({"Name": "Slash 2"}))
        .send()
        .unwrap());
    assert_eq!(
        (st, &body),
        (
            200,
            &json!({"id": id, "success": true, "errors": [], "created": false})
        )
    );
    let st = s
        .http()
        .patch(url("45.0", "A%2F1"))
        .bearer(&s)
        .json(&json!({"Name": "Old API"}))
        .send()
        .unwrap()
        .status();
    assert_eq!(st.as_u16(), 204, "before API 46.0 an update answers 204");
    let (st, rec) = j(s
        .http()
        .get(url("59.0", "a%2F1"))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(
        (st, rec["Name"].as_str(), rec["External_Id__c"].as_str()),
        (200, Some("Old API"), Some("A/1"))
    );
    let (st, body) = j(s
        .http()
        .get(url("59.0", "missing"))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (404, "NOT_FOUND"));
    let (st, body) = j(s
        .http()
        .patch(format!("{}/sobjects/Account/Name/x", s.data()))
        .bearer(&s)
        .json(&json!({}))
        .send()
        .unwrap());
    assert_eq!(
        (st, code(&body)),
        (404, "NOT_FOUND"),
        "Name is not an external id"
    );
    // Several matches: 300 with the record URLs.
    let a = create(&s, "Account", json!({"Name": "L1", "Legacy_Code__c": "L"}));
    let b = create(&s, "Account", json!({"Name": "L2", "Legacy_Code__c": "L"}));
    let (st, body) = j(s
        .http()
        .get(format!("{}/sobjects/Account/Legacy_Code__c/L", s.data()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 300);
    assert_eq!(
        body,
        json!([
            format!("/services/data/v59.0/sobjects/Account/{a}"),
            format!("/services/data/v59.0/sobjects/Account/{b}")
        ])
    );
    let (st, _) = j(s
        .http()
        .patch(format!("{}/sobjects/Account/Legacy_Code__c/L", s.data()))
        .bearer(&s)
        .json(&json!({"Name": "?"}))
        .send()
        .unwrap());
    assert_eq!(st, 300);
    let st = s
        .http()
        .delete(url("59.0", "A%2F1"))
        .bearer(&s)
        .send()
        .unwrap()
        .status();
    assert_eq!(st.as_u16(), 204);
    assert_eq!(live_ids(&s, "Account"), [a, b]);
}

#[test]
fn custom_objects_and_deleted_and_updated_windows() {
    let s = server();
    let acct = create(&s, "Account", json!({"Name": "Parent"}));
    let inv = create(
        &s,
        "Invoice__c",
        json!({"Name": "INV-1", "Account__c": acct, "Total__c": 10.555}),
    );
    assert!(inv.starts_with("a00"));
    let (_, rec) = get(&s, &format!("/sobjects/Invoice__c/{inv}"));
    assert_eq!(rec["Total__c"], 10.56);
    let (st, body) = j(s
        .http()
        .post(format!("{}/sobjects/Invoice__c", s.data()))
        .bearer(&s)
        .json(&json!({"Name": "INV-2"}))
        .send()
        .unwrap());
    assert_eq!(
        (st, code(&body)),
        (400, "REQUIRED_FIELD_MISSING"),
        "master-detail is required"
    );
    s.http()
        .delete(format!("{}/sobjects/Account/{acct}", s.data()))
        .bearer(&s)
        .send()
        .unwrap();
    let (st, body) = get(
        &s,
        "/sobjects/Invoice__c/deleted/?start=2000-01-01T00:00:00Z&end=2100-01-01T00:00:00Z",
    );
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        body["deletedRecords"][0]["id"], inv,
        "master-detail children go with the parent"
    );
    assert!(body["latestDateCovered"].is_string());
    let (st, body) = get(
        &s,
        "/sobjects/Invoice__c/updated?start=2000-01-01T00:00:00Z",
    );
    assert_eq!((st, code(&body)), (400, "MISSING_ARGUMENT"));
}

#[test]
fn unknown_paths_check_the_session_first_and_unknown_sub_resources_are_not_found() {
    let s = crate::server();
    let unknown = format!("{}/no/such/resource", s.data());
    let (st, body) = crate::j(
        s.http()
            .get(&unknown)
            .header("Authorization", "Bearer nope")
            .send()
            .unwrap(),
    );
    assert_eq!((st, crate::code(&body)), (401, "INVALID_SESSION_ID"));
    let (st, body) = crate::j(s.http().get(&unknown).send().unwrap());
    assert_eq!((st, crate::code(&body)), (401, "INVALID_SESSION_ID"));
    let (st, body) = crate::get(&s, "/no/such/resource");
    assert_eq!((st, crate::code(&body)), (404, "NOT_FOUND"));
    let (st, body) = crate::get(&s, "/sobjects/Account/frobnicate/x");
    assert_eq!((st, crate::code(&body)), (404, "NOT_FOUND"), "{body}");
    assert_eq!(body[0]["message"], "The requested resource does not exist");
    let (st, body) = crate::get(&s, "/sobjects/Account/Name/x");
    assert_eq!(st, 404, "{body}");
    assert!(
        body[0]["message"]
            .as_str()
            .unwrap()
            .contains("external ID field"),
        "{body}"
    );
    // Repeated slashes, as the sf CLI sends after `sf org login access-token`.
    let doubled = format!("{}//services/data/v59.0//limits", s.base());
    let (st, body) = crate::j(s.http().get(doubled).bearer(&s).send().unwrap());
    assert_eq!(st, 200, "{body}");
}
