//! The small resources clients call: layouts, list views, `/recent`, the Tooling API's
//! describe, a user's password, query plans.

use serde_json::{Value, json};

use crate::{Authed, code, create, get, j, server};

#[test]
fn layouts_have_the_shape_ui_clients_read() {
    let s = server();
    let (st, body) = get(&s, "/sobjects/Account/describe/layouts");
    assert_eq!(st, 200, "{body}");
    let layout = &body["layouts"][0];
    assert!(layout["id"].as_str().unwrap().starts_with("00h"));
    assert!(layout["buttonLayoutSection"].is_object());
    let first = &layout["detailLayoutSections"][0]["layoutRows"][0]["layoutItems"][0];
    assert_eq!(first["layoutComponents"][0]["type"], "Field");
    assert!(
        layout["relatedLists"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "Contacts")
    );
    let rt = body["recordTypeMappings"][0]["recordTypeId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (st, one) = get(&s, &format!("/sobjects/Account/describe/layouts/{rt}"));
    assert_eq!((st, &one["id"]), (200, &layout["id"]));
    let (st, named) = get(&s, "/sobjects/User/describe/namedLayouts/UserAlt");
    assert_eq!(st, 200, "{named}");
    assert!(named["layouts"].is_array());
    let (st, _) = get(&s, "/sobjects/Account/describe/namedLayouts/Nope");
    assert_eq!(st, 404);
    let (_, compact) = get(&s, "/sobjects/Account/describe/compactLayouts");
    assert_eq!(compact["compactLayouts"][0]["objectType"], "Account");
    let (_, approval) = get(&s, "/sobjects/Account/describe/approvalLayouts");
    assert_eq!(approval["approvalLayouts"], json!([]));
    let (st, body) = get(&s, "/sobjects/Nope__c/describe/layouts");
    assert_eq!((st, code(&body)), (404, "NOT_FOUND"));
}

#[test]
fn list_views_describe_and_run() {
    let s = server();
    for name in ["Beta", "Alpha", "Gamma"] {
        create(&s, "Account", json!({"Name": name}));
    }
    let (st, list) = get(&s, "/sobjects/Account/listviews");
    assert_eq!(st, 200, "{list}");
    let views = list["listviews"].as_array().unwrap();
    assert_eq!(views[0]["developerName"], "AllAccounts");
    let id = views[0]["id"].as_str().unwrap();
    let (_, d) = get(&s, &format!("/sobjects/Account/listviews/{id}/describe"));
    assert!(
        d["query"].as_str().unwrap().starts_with("SELECT Name"),
        "{d}"
    );
    let (st, r) = get(
        &s,
        &format!("/sobjects/Account/listviews/{id}/results?limit=2"),
    );
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        (r["size"].as_u64(), r["done"].as_bool()),
        (Some(3), Some(false))
    );
    let names: Vec<&Value> = r["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rec| &rec["columns"][0]["value"])
        .collect();
    assert_eq!(names, [&json!("Alpha"), &json!("Beta")]);
    let (st, _) = get(&s, &format!("/sobjects/Contact/listviews/{id}/results"));
    assert_eq!(st, 404, "an Account list view is not a Contact one");
    let (st, plan) = get(&s, &format!("/query?explain={id}"));
    assert_eq!(st, 200, "{plan}");
    assert_eq!(plan["plans"][0]["sobjectType"], "Account");
    assert_eq!(plan["plans"][0]["leadingOperationType"], "TableScan");
    let (_, plan) = get(
        &s,
        "/query?explain=SELECT+Id+FROM+Account+WHERE+Id+%3D+%27001000000000000AAA%27",
    );
    assert_eq!(plan["plans"][0]["leadingOperationType"], "Index", "{plan}");
    let (st, body) = get(&s, "/query?explain=SELECT+Nope+FROM+Account");
    assert_eq!((st, code(&body)), (400, "INVALID_FIELD"));
}

#[test]
fn recent_lists_what_the_user_changed_newest_first() {
    let s = server();
    let a = create(&s, "Account", json!({"Name": "First"}));
    let c = create(&s, "Contact", json!({"LastName": "Second"}));
    let (st, body) = get(&s, "/recent?limit=2");
    assert_eq!(st, 200, "{body}");
    let ids: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(
        ids.contains(&a.as_str()) && ids.contains(&c.as_str()),
        "{body}"
    );
    assert!(body[0]["attributes"]["type"].is_string());
}

#[test]
fn the_tooling_api_describes_its_objects() {
    let s = server();
    let (st, global) = get(&s, "/tooling/sobjects");
    assert_eq!(st, 200, "{global}");
    let names: Vec<&str> = global["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"PushTopic") && names.contains(&"PlatformEventChannel"),
        "{names:?}"
    );
    let (st, d) = get(&s, "/tooling/sobjects/PushTopic/describe");
    assert_eq!(st, 200, "{d}");
    assert!(
        d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "Query")
    );
    assert!(
        d["urls"]["sobject"]
            .as_str()
            .unwrap()
            .contains("/tooling/sobjects/PushTopic")
    );
    let (st, _) = get(&s, "/tooling/sobjects/Account/describe");
    assert_eq!(st, 404);
}

#[test]
fn a_password_set_through_the_api_is_the_one_that_logs_in() {
    let s = server();
    let user = s.ready.user_id.clone();
    let url = format!("{}/sobjects/User/{user}/password", s.data());
    let (st, body) = j(s
        .http()
        .post(&url)
        .bearer(&s)
        .json(&json!({"NewPassword": "short"}))
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (400, "INVALID_NEW_PASSWORD"));
    let (st, _) = j(s
        .http()
        .post(&url)
        .bearer(&s)
        .json(&json!({"NewPassword": "Better4Sure"}))
        .send()
        .unwrap());
    assert_eq!(st, 204);
    let login = |password: &str| {
        s.http()
            .post(format!("{}/services/oauth2/token", s.base()))
            .form(&[
                ("grant_type", "password"),
                ("client_id", s.ready.client_id.as_str()),
                ("client_secret", s.ready.client_secret.as_str()),
                ("username", s.ready.username.as_str()),
                ("password", password),
            ])
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(login("Better4Sure"), 200);
    assert_eq!(
        login(&s.ready.password),
        400,
        "the old password no longer works"
    );
    let (_, status) = j(s.http().get(&url).bearer(&s).send().unwrap());
    assert_eq!(status["isExpired"], false);
    let (st, reset) = j(s.http().delete(&url).bearer(&s).send().unwrap());
    assert_eq!(st, 200);
    let fresh = reset["NewPassword"].as_str().unwrap().to_owned();
    assert_eq!(login(&fresh), 200);
    let (_, status) = j(s.http().get(&url).bearer(&s).send().unwrap());
    assert_eq!(status["isExpired"], true);
    let (st, _) = get(&s, "/sobjects/Account/001000000000000AAA/password");
    assert_eq!(st, 404);
}

#[test]
fn the_tooling_api_reaches_push_topics_and_basic_info() {
    let s = server();
    let (st, basic) = get(&s, "/tooling/sobjects/PlatformEventChannel");
    assert_eq!(st, 200, "{basic}");
    assert_eq!(basic["objectDescribe"]["name"], "PlatformEventChannel");
    let (st, body) = j(s.http().post(format!("{}/tooling/sobjects/PushTopic", s.data())).bearer(&s)
        .json(&json!({"Name": "ToolingTopic", "Query": "SELECT Id, Name FROM Account", "ApiVersion": 59.0}))
        .send().unwrap());
    assert_eq!(st, 201, "{body}");
    let id = body["id"].as_str().unwrap();
    let (st, topic) = get(&s, &format!("/tooling/sobjects/PushTopic/{id}"));
    assert_eq!(
        (st, &topic["Name"]),
        (200, &json!("ToolingTopic")),
        "{topic}"
    );
    let r = s
        .http()
        .delete(format!("{}/tooling/sobjects/PushTopic/{id}", s.data()))
        .bearer(&s)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let (st, _) = get(&s, "/sobjects/Organization/describe/layouts");
    assert_eq!(st, 200, "Organization's describe advertises its layouts");
}
