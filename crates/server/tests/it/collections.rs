//! `/composite/sobjects`: one transaction per call, results in request order.

use serde_json::{Value, json};

use crate::{Authed, code, create, get, j, live_ids, server};

fn url(s: &forcebus_testkit::Server) -> String {
    format!("{}/composite/sobjects", s.data())
}

#[test]
fn create_with_and_without_all_or_none() {
    let s = server();
    let records = json!([
        {"attributes": {"type": "Account"}, "Name": "One"},
        {"attributes": {"type": "Account"}},
        {"attributes": {"type": "Contact"}, "LastName": "Two"},
        {"Name": "no type"},
    ]);
    let (st, body) = j(s
        .http()
        .post(url(&s))
        .bearer(&s)
        .json(&json!({"allOrNone": true, "records": records}))
        .send()
        .unwrap());
    assert_eq!(st, 200, "{body}");
    let codes: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["errors"][0]["statusCode"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "REQUIRED_FIELD_MISSING",
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "INVALID_TYPE"
        ]
    );
    assert_eq!(body[1]["errors"][0]["fields"], json!(["Name"]));
    assert!(live_ids(&s, "Account").is_empty() && live_ids(&s, "Contact").is_empty());
    let (st, body) = j(s
        .http()
        .post(url(&s))
        .bearer(&s)
        .json(&json!({"allOrNone": false, "records": records}))
        .send()
        .unwrap());
    assert_eq!(st, 200);
    let ok: Vec<bool> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["success"].as_bool().unwrap())
        .collect();
    assert_eq!(ok, [true, false, true, false]);
    assert_eq!(body[0]["errors"], json!([]));
    assert_eq!(live_ids(&s, "Account"), [body[0]["id"].as_str().unwrap()]);
}

#[test]
fn update_delete_and_retrieve() {
    let s = server();
    let a = create(&s, "Account", json!({"Name": "A"}));
    let b = create(&s, "Account", json!({"Name": "B"}));
    let body = json!({"records": [
        {"attributes": {"type": "Account"}, "id": a, "Phone": "1"},
        {"attributes": {"type": "Account"}, "Id": &b[..15], "Phone": "2"},
        {"attributes": {"type": "Account"}, "Phone": "3"},
    ]});
    let (st, res) = j(s
        .http()
        .patch(url(&s))
        .bearer(&s)
        .json(&body)
        .send()
        .unwrap());
    assert_eq!(st, 200, "{res}");
    assert_eq!(res[0], json!({"id": a, "success": true, "errors": []}));
    assert_eq!(res[1]["id"], b);
    assert_eq!(res[2]["success"], false);
    let (st, recs) = j(s
        .http()
        .post(format!("{}/Account", url(&s)))
        .bearer(&s)
        .json(&json!({"ids": [a, "001Fb0000000999", b], "fields": ["Name", "Phone"]}))
        .send()
        .unwrap());
    assert_eq!(st, 200, "{recs}");
    assert_eq!(
        (
            recs[0]["Phone"].as_str(),
            &recs[1],
            recs[2]["Phone"].as_str()
        ),
        (Some("1"), &Value::Null, Some("2"))
    );
    let (st, recs) = j(s
        .http()
        .get(format!("{}/Account?ids={a}&fields=Name", url(&s)))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!((st, recs[0]["Name"].as_str()), (200, Some("A")));
    let (st, res) = j(s
        .http()
        .delete(format!("{}?ids={a},junk&allOrNone=true", url(&s)))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 200);
    assert_eq!(
        res[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(res[1]["errors"][0]["statusCode"], "MALFORMED_ID");
    assert_eq!(get(&s, &format!("/sobjects/Account/{a}")).0, 200);
    let (_, res) = j(s
        .http()
        .delete(format!("{}?ids={a},{b}", url(&s)))
        .bearer(&s)
        .send()
        .unwrap());
    assert!(
        res.as_array().unwrap().iter().all(|r| r["success"] == true),
        "{res}"
    );
    assert!(live_ids(&s, "Account").is_empty());
}

#[test]
fn upsert_by_external_id_reports_created() {
    let s = server();
    let existing = create(
        &s,
        "Account",
        json!({"Name": "Old", "External_Id__c": "X1"}),
    );
    let body = json!({"allOrNone": false, "records": [
        {"attributes": {"type": "Account"}, "External_Id__c": "X1", "Name": "Updated"},
        {"attributes": {"type": "Account"}, "External_Id__c": "X2", "Name": "New"},
        {"attributes": {"type": "Account"}, "Name": "No key"},
    ]});
    let (st, res) = j(s
        .http()
        .patch(format!("{}/Account/External_Id__c", url(&s)))
        .bearer(&s)
        .json(&body)
        .send()
        .unwrap());
    assert_eq!(st, 200, "{res}");
    assert_eq!(
        res[0],
        json!({"id": existing, "success": true, "errors": [], "created": false})
    );
    assert_eq!(res[1]["created"], true);
    assert_eq!(res[2]["success"], false);
    assert_eq!(
        get(&s, &format!("/sobjects/Account/{existing}")).1["Name"],
        "Updated"
    );
    // Failed upserts say whether they would have inserted, as Salesforce's do (jsforce's
    // own test reads `created` on rolled-back results).
    let body = json!({"allOrNone": true, "records": [
        {"attributes": {"type": "Account"}, "External_Id__c": "X1", "Name": "Again"},
        {"attributes": {"type": "Account"}, "External_Id__c": "X3", "Name": "New"},
        {"attributes": {"type": "Account"}, "External_Id__c": "X4", "Name": "Bad", "OwnerId": "INVALID_OWNER"},
    ]});
    let (st, res) = j(s
        .http()
        .patch(format!("{}/Account/External_Id__c", url(&s)))
        .bearer(&s)
        .json(&body)
        .send()
        .unwrap());
    assert_eq!(st, 200, "{res}");
    let created: Vec<&Value> = res
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["created"])
        .collect();
    assert_eq!(
        created,
        [&json!(false), &json!(true), &json!(true)],
        "{res}"
    );
    assert_eq!(
        res[1]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(res[2]["errors"][0]["statusCode"], "MALFORMED_ID");
}

#[test]
fn limits_and_malformed_collections() {
    let s = server();
    let many: Vec<Value> = (0..201)
        .map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("A{i}")}))
        .collect();
    let (st, body) = j(s
        .http()
        .post(url(&s))
        .bearer(&s)
        .json(&json!({"records": many}))
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (400, "EXCEEDED_ID_LIMIT"));
    for bad in [
        json!({"records": "nope"}),
        json!({"records": [1]}),
        json!({"allOrNone": "yes", "records": []}),
        json!({"records": [], "extra": 1}),
    ] {
        let (st, body) = j(s.http().post(url(&s)).bearer(&s).json(&bad).send().unwrap());
        assert_eq!(st, 400, "{bad} -> {body}");
    }
    assert!(live_ids(&s, "Account").is_empty());
}
