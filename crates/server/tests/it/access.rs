//! Users and access on the wire: a user made through the test control, signed in with a
//! token of their own; what field-level security and object permissions answer on REST
//! (describe, SOQL, writes), the Tooling and Metadata APIs' refusals, a user without API
//! Enabled, and a deactivated user's token that stops working.

use forcebus_testkit::Server;
use serde_json::{Value, json};

use crate::{Authed, code, create, j, server};

/// Makes a user through `POST /forcebus/v1/control/users`; their token.
fn user(s: &Server, body: Value) -> String {
    let (st, made) = j(s
        .http()
        .post(format!("{}/forcebus/v1/control/users", s.base()))
        .bearer(s)
        .json(&body)
        .send()
        .unwrap());
    assert_eq!(st, 201, "{made}");
    made["access_token"].as_str().unwrap().to_owned()
}

fn as_user(s: &Server, token: &str, path: &str) -> (u16, Value) {
    j(s.http()
        .get(format!("{}{path}", s.data()))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .unwrap())
}

fn post_as(s: &Server, token: &str, path: &str, body: Value) -> (u16, Value) {
    j(s.http()
        .post(format!("{}{path}", s.data()))
        .header("Authorization", format!("Bearer {token}"))
        .json(&body)
        .send()
        .unwrap())
}

fn reader(s: &Server) -> String {
    user(
        s,
        json!({
            "username": "reader@it.test",
            "profile": "Minimum Access - API Only Integrations",
            "permission_set": {
                "name": "Reader",
                "objects": {"Account": {"read": true, "create": true, "edit": true}},
                "fields": {"Account.Industry": {"read": true}, "Account.Rating": {"read": true, "edit": true}}
            }
        }),
    )
}

#[test]
fn field_level_security_shapes_describe_queries_and_writes() {
    let s = server();
    let token = reader(&s);
    create(
        &s,
        "Account",
        json!({"Name": "Acme", "Industry": "Energy", "Phone": "555"}),
    );
    let (st, d) = as_user(&s, &token, "/sobjects/Account/describe");
    assert_eq!(st, 200);
    let fields: Vec<&str> = d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert!(fields.contains(&"Industry") && fields.contains(&"Name"));
    assert!(!fields.contains(&"Phone"), "{fields:?}");
    let industry = d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Industry")
        .unwrap();
    assert_eq!(industry["updateable"], false);
    assert_eq!(d["deletable"], false);
    let (st, body) = as_user(&s, &token, "/query?q=SELECT+Phone+FROM+Account");
    assert_eq!(st, 400);
    assert_eq!(code(&body), "INVALID_FIELD");
    let (st, body) = as_user(&s, &token, "/query?q=SELECT+Name,Industry+FROM+Account");
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["records"][0]["Industry"], "Energy");
    let (st, body) = post_as(
        &s,
        &token,
        "/sobjects/Account",
        json!({"Name": "B", "Industry": "Tech"}),
    );
    assert_eq!(st, 400);
    assert_eq!(body[0]["errorCode"], "INVALID_FIELD_FOR_INSERT_UPDATE");
    assert_eq!(body[0]["fields"], json!(["Industry"]));
    let (st, _) = post_as(
        &s,
        &token,
        "/sobjects/Account",
        json!({"Name": "B", "Rating": "Hot"}),
    );
    assert_eq!(st, 201);
    // An object the user may not read does not exist to them.
    let (st, body) = post_as(&s, &token, "/sobjects/Contact", json!({"LastName": "X"}));
    assert_eq!(st, 404);
    assert_eq!(code(&body), "NOT_FOUND");
    let (st, g) = as_user(&s, &token, "/sobjects");
    assert_eq!(st, 200);
    let names: Vec<&str> = g["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert!(names.contains(&"Account") && !names.contains(&"Contact"));
}

#[test]
fn setup_apis_need_their_permissions_and_the_api_needs_api_enabled() {
    let s = server();
    let token = reader(&s);
    let (st, body) = as_user(&s, &token, "/tooling/query?q=SELECT+Id+FROM+ApexClass");
    assert_eq!(st, 403);
    assert_eq!(code(&body), "INSUFFICIENT_ACCESS");
    let envelope = r#"<?xml version="1.0" encoding="utf-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:met="http://soap.sforce.com/2006/04/metadata"><soapenv:Header><met:SessionHeader><met:sessionId>TOKEN</met:sessionId></met:SessionHeader></soapenv:Header><soapenv:Body><met:listMetadata><met:queries><met:type>CustomObject</met:type></met:queries><met:asOfVersion>59.0</met:asOfVersion></met:listMetadata></soapenv:Body></soapenv:Envelope>"#;
    let r = s
        .http()
        .post(format!("{}/services/Soap/m/59.0", s.base()))
        .header("Content-Type", "text/xml")
        .header("SOAPAction", "listMetadata")
        .body(envelope.replace("TOKEN", &token))
        .send()
        .unwrap();
    let text = r.text().unwrap();
    assert!(
        text.contains("INSUFFICIENT_ACCESS") && text.contains("ModifyAllData"),
        "{text}"
    );
    let none = user(
        &s,
        json!({"username": "noapi@it.test", "profile": "Minimum Access - Salesforce"}),
    );
    let (st, body) = as_user(&s, &none, "/sobjects");
    assert_eq!(st, 403);
    assert_eq!(code(&body), "API_CURRENTLY_DISABLED");
    assert_eq!(body[0]["message"], "API is disabled for this User");
}

#[test]
fn a_deactivated_users_token_stops_working() {
    let s = server();
    let token = reader(&s);
    assert_eq!(as_user(&s, &token, "/sobjects/Account/describe").0, 200);
    let rows = crate::records(&s, "SELECT Id FROM User WHERE Username = 'reader@it.test'");
    let id = rows[0]["Id"].as_str().unwrap();
    assert_eq!(
        crate::patch_record(&s, "User", id, json!({"IsActive": false})),
        204
    );
    let (st, body) = as_user(&s, &token, "/sobjects/Account/describe");
    assert_eq!(st, 401);
    assert_eq!(code(&body), "INVALID_SESSION_ID");
}

fn project_server() -> Server {
    let project = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures/access-project");
    Server::start_with(
        &crate::bin(),
        forcebus_testkit::Options {
            in_memory: true,
            args: vec!["--project".into(), project.display().to_string()],
            ..Default::default()
        },
    )
}

#[test]
fn a_projects_permission_set_and_sharing_rules_apply_to_its_users() {
    let s = project_server();
    let integration = |name: &str| {
        user(
            &s,
            json!({"username": name, "profile": "Minimum Access - API Only Integrations",
                   "permission_sets": ["Sync_Integration"]}),
        )
    };
    let (a, b) = (integration("a@it.test"), integration("b@it.test"));
    let deal = |token: &str, name: &str, amount: u32| {
        let (st, body) = post_as(
            &s,
            token,
            "/sobjects/Deal__c",
            json!({"Name": name, "Amount__c": amount}),
        );
        assert_eq!(st, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    };
    let big = deal(&a, "Big", 5000);
    let small = deal(&a, "Small", 10);
    // The criteria-based rule shares the big deal with every user, read only.
    let (st, body) = as_user(&s, &b, "/query?q=SELECT+Name+FROM+Deal__c");
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["totalSize"], 1);
    assert_eq!(body["records"][0]["Name"], "Big");
    assert_eq!(
        as_user(&s, &b, &format!("/sobjects/Deal__c/{small}")).0,
        404
    );
    let r = s
        .http()
        .patch(format!("{}/sobjects/Deal__c/{big}", s.data()))
        .header("Authorization", format!("Bearer {b}"))
        .json(&json!({"Amount__c": 1}))
        .send()
        .unwrap();
    let (st, body) = j(r);
    assert_eq!(st, 400);
    assert_eq!(code(&body), "INSUFFICIENT_ACCESS_OR_READONLY");
    // The Private object has its share object; the permission set hides Salary__c.
    assert_eq!(crate::get(&s, "/sobjects/Deal__Share/describe").0, 200);
    let (st, body) = as_user(&s, &b, "/query?q=SELECT+Salary__c+FROM+Account");
    assert_eq!(st, 400);
    assert_eq!(code(&body), "INVALID_FIELD");
}
