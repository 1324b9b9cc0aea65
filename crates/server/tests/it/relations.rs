//! A contact's relationships with accounts (`AccountContactRelation`) as Salesforce keeps
//! them: the org makes the direct one with the contact's account and moves it with the
//! account, keeping the old one as indirect; indirect ones are made through the API, one
//! per account and contact; the direct one is not deleted on its own; each change publishes
//! its change event.

use serde_json::{Value, json};

use crate::events::all_events;
use crate::{
    code, create, delete_record as delete, get, patch_record as patch, post_record as post,
    records, server,
};

/// The replay id of the log's last event.
pub(crate) fn last_replay(s: &forcebus_testkit::Server) -> u64 {
    all_events(s, 0)
        .last()
        .and_then(|e| e["replayId"].as_u64())
        .unwrap_or(0)
}

/// The contact's relationships: (account name, direct, active), by account name.
fn relations(s: &forcebus_testkit::Server, contact: &str) -> Vec<(Value, Value, Value)> {
    records(
        s,
        &format!(
            "SELECT Account.Name, IsDirect, IsActive FROM AccountContactRelation WHERE ContactId = '{contact}' ORDER BY Account.Name"
        ),
    )
    .iter()
    .map(|r| {
        (
            r["Account"]["Name"].clone(),
            r["IsDirect"].clone(),
            r["IsActive"].clone(),
        )
    })
    .collect()
}

#[test]
fn a_contacts_direct_relationship_follows_its_account_and_indirect_ones_are_made() {
    let s = server();
    let acme = create(&s, "Account", json!({"Name": "Acme"}));
    let beta = create(&s, "Account", json!({"Name": "Beta"}));
    let gamma = create(&s, "Account", json!({"Name": "Gamma"}));
    let mark = last_replay(&s);
    let ada = create(&s, "Contact", json!({"LastName": "Ada", "AccountId": acme}));
    let direct = records(
        &s,
        &format!(
            "SELECT Id, AccountId, IsDirect, IsActive, Roles FROM AccountContactRelation WHERE ContactId = '{ada}'"
        ),
    );
    assert_eq!(direct.len(), 1, "{direct:?}");
    assert_eq!(
        (
            &direct[0]["AccountId"],
            &direct[0]["IsDirect"],
            &direct[0]["IsActive"],
            &direct[0]["Roles"]
        ),
        (&json!(acme), &json!(true), &json!(true), &Value::Null)
    );
    let direct_id = direct[0]["Id"].as_str().unwrap().to_owned();
    // The contact's insert and its relationship are one transaction's change events.
    let events = all_events(&s, mark);
    let made: Vec<(&Value, &Value, &Value)> = events
        .iter()
        .map(|e| &e["event"]["ChangeEventHeader"])
        .map(|h| (&h["entityName"], &h["changeType"], &h["transactionKey"]))
        .collect();
    assert_eq!(made.len(), 2, "{made:?}");
    assert_eq!(
        (made[0].0, made[1].0, made[1].1),
        (
            &json!("Contact"),
            &json!("AccountContactRelation"),
            &json!("CREATE")
        )
    );
    assert_eq!(made[0].2, made[1].2, "one transaction");
    let relation_event = &events[1]["event"];
    assert_eq!(
        relation_event["ChangeEventHeader"]["recordIds"],
        json!([direct_id])
    );
    assert_eq!(
        relation_event["fields"]["IsDirect"],
        json!(true),
        "{relation_event}"
    );

    // Indirect ones through the API: not direct, inactive unless given; one per pair.
    let (st, body) = post(
        &s,
        "AccountContactRelation",
        json!({"AccountId": beta, "ContactId": ada, "Roles": "Decision Maker;Evaluator"}),
    );
    assert_eq!(st, 201, "{body}");
    let indirect = body["id"].as_str().unwrap().to_owned();
    let (_, r) = get(&s, &format!("/sobjects/AccountContactRelation/{indirect}"));
    assert_eq!(
        (&r["IsDirect"], &r["IsActive"], &r["Roles"]),
        (
            &json!(false),
            &json!(false),
            &json!("Decision Maker;Evaluator")
        ),
        "{r}"
    );
    for account in [&acme, &beta] {
        let (st, body) = post(
            &s,
            "AccountContactRelation",
            json!({"AccountId": account, "ContactId": ada}),
        );
        assert_eq!((st, code(&body)), (400, "DUPLICATE_VALUE"), "{body}");
    }
    let (st, body) = post(
        &s,
        "AccountContactRelation",
        json!({"AccountId": gamma, "ContactId": ada, "IsDirect": true}),
    );
    assert_eq!(
        (st, code(&body)),
        (400, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        "{body}"
    );
    assert_eq!(
        patch(
            &s,
            "AccountContactRelation",
            &indirect,
            json!({"AccountId": gamma})
        ),
        400,
        "an account is set on create only"
    );
    assert_eq!(
        patch(
            &s,
            "AccountContactRelation",
            &indirect,
            json!({"IsActive": true})
        ),
        204
    );
    // The direct one goes only with its contact or its contact's account.
    let (st, body) = delete(&s, "AccountContactRelation", &direct_id);
    assert_eq!((st, code(&body)), (400, "INVALID_OPERATION"), "{body}");

    // The account changes: the old direct one is kept as indirect, the new account's
    // (indirect until now) becomes the direct one.
    assert_eq!(patch(&s, "Contact", &ada, json!({"AccountId": beta})), 204);
    assert_eq!(
        relations(&s, &ada),
        vec![
            (json!("Acme"), json!(false), json!(true)),
            (json!("Beta"), json!(true), json!(true)),
        ]
    );
    let (_, r) = get(&s, &format!("/sobjects/AccountContactRelation/{indirect}"));
    assert_eq!(r["IsDirect"], json!(true), "the same record: {r}");
    // To an account it had no relationship with: a new direct one.
    assert_eq!(patch(&s, "Contact", &ada, json!({"AccountId": gamma})), 204);
    assert_eq!(
        relations(&s, &ada),
        vec![
            (json!("Acme"), json!(false), json!(true)),
            (json!("Beta"), json!(false), json!(true)),
            (json!("Gamma"), json!(true), json!(true)),
        ]
    );
    // Now indirect, the first one can go.
    assert_eq!(delete(&s, "AccountContactRelation", &direct_id).0, 204);

    // Parent and child relationships in SOQL.
    let rows = records(
        &s,
        &format!(
            "SELECT LastName, (SELECT Account.Name, IsDirect FROM AccountContactRelations ORDER BY Account.Name) FROM Contact WHERE Id = '{ada}'"
        ),
    );
    let children: Vec<(&Value, &Value)> = rows[0]["AccountContactRelations"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (&r["Account"]["Name"], &r["IsDirect"]))
        .collect();
    assert_eq!(
        children,
        vec![
            (&json!("Beta"), &json!(false)),
            (&json!("Gamma"), &json!(true))
        ]
    );
    let rows = records(
        &s,
        &format!(
            "SELECT Name, (SELECT Contact.LastName, IsDirect FROM AccountContactRelations) FROM Account WHERE Id = '{gamma}'"
        ),
    );
    assert_eq!(
        rows[0]["AccountContactRelations"]["records"][0]["Contact"]["LastName"],
        json!("Ada")
    );
    let rows = records(
        &s,
        "SELECT Contact.LastName, Account.Name FROM AccountContactRelation WHERE IsDirect = true",
    );
    assert_eq!(
        (&rows[0]["Contact"]["LastName"], &rows[0]["Account"]["Name"]),
        (&json!("Ada"), &json!("Gamma"))
    );

    // A contact made without an account has no relationship; deleting a contact takes
    // its relationships along.
    let private = create(&s, "Contact", json!({"LastName": "Solo"}));
    assert!(relations(&s, &private).is_empty());
    assert_eq!(delete(&s, "Contact", &ada).0, 204);
    assert!(relations(&s, &ada).is_empty());
}
