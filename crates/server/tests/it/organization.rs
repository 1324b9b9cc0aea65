//! The `Organization` row: what the sf CLI and simple-salesforce's `is_sandbox()` read.

use forcebus_testkit::{Options, Server};
use serde_json::json;

use crate::{Authed, bin, code, get, j, server};

#[test]
fn the_org_row_is_queryable_retrievable_and_read_only() {
    let s = server();
    let (st, body) = get(
        &s,
        "/query?q=SELECT+Name,+InstanceName,+IsSandbox,+TrialExpirationDate,+NamespacePrefix,+OrganizationType+FROM+Organization",
    );
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["totalSize"], 1);
    let row = &body["records"][0];
    assert_eq!(row["OrganizationType"], "Developer Edition");
    assert_eq!(row["IsSandbox"], false);
    assert_eq!(row["TrialExpirationDate"], serde_json::Value::Null);
    assert_eq!(row["NamespacePrefix"], serde_json::Value::Null);
    assert_eq!(row["attributes"]["type"], "Organization");
    let org_id = s.ready.org_id.clone();
    assert!(
        row["attributes"]["url"]
            .as_str()
            .unwrap()
            .ends_with(&org_id)
    );
    // simple-salesforce's is_sandbox() asks through queryAll.
    let (st, body) = get(&s, "/queryAll?q=SELECT+IsSandbox+FROM+Organization+LIMIT+1");
    assert_eq!((st, &body["records"][0]["IsSandbox"]), (200, &json!(false)));
    let (st, body) = get(&s, &format!("/sobjects/Organization/{org_id}"));
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["Id"], org_id);
    let (_, describe) = get(&s, "/sobjects/Organization/describe");
    assert_eq!(
        (
            &describe["createable"],
            &describe["updateable"],
            &describe["deletable"]
        ),
        (&json!(false), &json!(false), &json!(false))
    );
    let (st, body) = j(s
        .http()
        .patch(format!("{}/sobjects/Organization/{org_id}", s.data()))
        .bearer(&s)
        .json(&json!({"Name": "Renamed"}))
        .send()
        .unwrap());
    assert_eq!(
        (st, code(&body)),
        (400, "INSUFFICIENT_ACCESS_OR_READONLY"),
        "{body}"
    );
    let (st, body) = j(s
        .http()
        .post(format!("{}/sobjects/Organization", s.data()))
        .bearer(&s)
        .json(&json!({"Name": "Another"}))
        .send()
        .unwrap());
    assert_eq!(
        (st, code(&body)),
        (400, "INSUFFICIENT_ACCESS_OR_READONLY"),
        "{body}"
    );
    let (st, _) = j(s
        .http()
        .delete(format!("{}/sobjects/Organization/{org_id}", s.data()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 400);
}

#[test]
fn edition_and_kind_come_from_the_config() {
    let s = Server::start_with(
        &bin(),
        Options {
            in_memory: true,
            config: Some("org_name = \"Scratchy\"\norg_edition = \"Enterprise Edition\"\norg_kind = \"scratch\"\n".into()),
            ..Default::default()
        },
    );
    let (_, body) = get(
        &s,
        "/query?q=SELECT+Name,+OrganizationType,+IsSandbox,+TrialExpirationDate+FROM+Organization",
    );
    let row = &body["records"][0];
    assert_eq!(row["Name"], "Scratchy");
    assert_eq!(row["OrganizationType"], "Enterprise Edition");
    assert_eq!(row["IsSandbox"], true);
    assert!(
        row["TrialExpirationDate"].is_string(),
        "a scratch org expires: {row}"
    );
}
