//! The small resources clients call: layouts, list views, `/recent`, the Tooling API's
//! describe, a user's password, query plans.

use serde_json::{Value, json};

use forcebus_testkit::Server;

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

fn ids(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap_or_else(|| panic!("not an array: {body}"))
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_owned())
        .collect()
}

fn soql(s: &Server, q: &str) -> Value {
    let (st, body) = get(s, &format!("/query?q={}", q.replace(' ', "+")));
    assert_eq!(st, 200, "{q}: {body}");
    body
}

/// `LastViewedDate` and `LastReferencedDate` of one record, as the user sees them.
fn stamps(s: &Server, object: &str, id: &str) -> (Value, Value) {
    let body = soql(
        s,
        &format!("SELECT LastViewedDate, LastReferencedDate FROM {object} WHERE Id = '{id}'"),
    );
    let row = &body["records"][0];
    (
        row["LastViewedDate"].clone(),
        row["LastReferencedDate"].clone(),
    )
}

#[test]
fn for_view_and_for_reference_stamp_the_user_and_fill_recent() {
    let mut s = Server::start_with(
        &crate::bin(),
        forcebus_testkit::Options {
            in_memory: false,
            config: Some(crate::CONFIG.into()),
            ..Default::default()
        },
    );
    let a = create(&s, "Account", json!({"Name": "Viewed"}));
    let c = create(&s, "Contact", json!({"LastName": "Referenced"}));
    let untouched = create(&s, "Account", json!({"Name": "Untouched"}));
    let (st, body) = get(&s, "/recent");
    assert_eq!((st, ids(&body)), (200, vec![]), "creating is not viewing");
    let modstamp =
        |s: &Server| get(s, &format!("/sobjects/Account/{a}")).1["SystemModstamp"].clone();
    let before = modstamp(&s);

    let q = soql(
        &s,
        &format!("SELECT Id, Name FROM Account WHERE Id = '{a}' FOR VIEW"),
    );
    assert_eq!(q["totalSize"], 1, "{q}");
    std::thread::sleep(std::time::Duration::from_millis(5));
    soql(
        &s,
        &format!("SELECT Id FROM Contact WHERE Id = '{c}' FOR REFERENCE"),
    );

    let (viewed, referenced) = stamps(&s, "Account", &a);
    assert!(
        viewed.is_string() && viewed == referenced,
        "{viewed} {referenced}"
    );
    let (viewed, referenced) = stamps(&s, "Contact", &c);
    assert!(
        viewed.is_null() && referenced.is_string(),
        "{viewed} {referenced}"
    );
    assert_eq!(
        stamps(&s, "Account", &untouched),
        (Value::Null, Value::Null)
    );
    let (_, filtered) = get(
        &s,
        "/query?q=SELECT+Id+FROM+Account+WHERE+LastViewedDate+!=+null",
    );
    assert_eq!(ids(&filtered["records"]), vec![a.clone()], "{filtered}");
    assert_eq!(modstamp(&s), before, "a view changes no record");

    let (_, body) = get(&s, "/recent");
    assert_eq!(
        ids(&body),
        vec![c.clone(), a.clone()],
        "newest first: {body}"
    );
    assert_eq!(body[1]["Name"], "Viewed");
    assert_eq!(body[1]["attributes"]["type"], "Account");
    let (_, body) = get(&s, "/recent?limit=1");
    assert_eq!(ids(&body), vec![c.clone()]);
    let (_, info) = get(&s, "/sobjects/Account");
    assert_eq!(ids(&info["recentItems"]), vec![a.clone()], "{info}");

    std::thread::sleep(std::time::Duration::from_millis(5));
    soql(
        &s,
        &format!("SELECT Id FROM Account WHERE Id = '{a}' FOR VIEW"),
    );
    s.restart();
    let (_, body) = get(&s, "/recent");
    assert_eq!(
        ids(&body),
        vec![a.clone(), c.clone()],
        "kept across a restart: {body}"
    );

    let (st, _) = j(s
        .http()
        .delete(format!("{}/sobjects/Contact/{c}", s.data()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 204);
    let (_, body) = get(&s, "/recent");
    assert_eq!(
        ids(&body),
        vec![a.clone()],
        "deleted records leave the list: {body}"
    );
    let (st, body) = get(&s, "/recent?limit=x");
    assert_eq!((st, code(&body)), (400, "INVALID_INPUT"));
}

#[test]
fn what_one_user_viewed_is_not_another_users() {
    let s = server();
    let a = create(&s, "Account", json!({"Name": "Mine"}));
    soql(
        &s,
        &format!("SELECT Id FROM Account WHERE Id = '{a}' FOR VIEW"),
    );
    let other = create(
        &s,
        "User",
        json!({"Username": "viewer2@example.com", "LastName": "Two", "Email": "viewer2@example.com", "Alias": "two"}),
    );
    let (st, _) = j(s
        .http()
        .post(format!("{}/sobjects/User/{other}/password", s.data()))
        .bearer(&s)
        .json(&json!({"NewPassword": "Other4Viewer"}))
        .send()
        .unwrap());
    assert_eq!(st, 204);
    let (st, token) = j(s
        .http()
        .post(format!("{}/services/oauth2/token", s.base()))
        .form(&[
            ("grant_type", "password"),
            ("client_id", s.ready.client_id.as_str()),
            ("client_secret", s.ready.client_secret.as_str()),
            ("username", "viewer2@example.com"),
            ("password", "Other4Viewer"),
        ])
        .send()
        .unwrap());
    assert_eq!(st, 200, "{token}");
    let as_other = |path: &str| {
        j(s.http()
            .get(format!("{}{path}", s.data()))
            .header(
                "Authorization",
                format!("Bearer {}", token["access_token"].as_str().unwrap()),
            )
            .send()
            .unwrap())
    };
    let (_, body) = as_other("/recent");
    assert_eq!(ids(&body), Vec::<String>::new(), "{body}");
    let (_, q) = as_other(&format!(
        "/query?q=SELECT+LastViewedDate+FROM+Account+WHERE+Id='{a}'"
    ));
    assert!(q["records"][0]["LastViewedDate"].is_null(), "{q}");
    let (_, mine) = get(&s, "/recent");
    assert_eq!(ids(&mine), vec![a]);
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

/// `/tabs` and `/theme`: the tabs of the org's apps (`describeTabs`' own), each object's
/// once, the org's custom objects among them, with their icons' URLs on this server.
#[test]
fn tabs_and_theme_list_the_apps_objects() {
    let s = crate::server_with("[objects.Invoice__c]\nlabel = \"Invoice\"\n");
    let (st, tabs) = get(&s, "/tabs");
    assert_eq!(st, 200, "{tabs}");
    let tabs = tabs.as_array().unwrap();
    let names: Vec<&str> = tabs.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names[0], "standard-Account");
    assert!(
        names.contains(&"standard-Case") && names.contains(&"Invoice__c"),
        "{names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| **n == "standard-Account").count(),
        1,
        "in both apps, listed once"
    );
    let account = &tabs[0];
    assert_eq!(account["label"], "Accounts");
    assert_eq!(account["sobjectName"], "Account");
    assert_eq!(account["url"], format!("{}/001/o", s.base()));
    assert_eq!(account["icons"][0]["contentType"], "image/png");
    let (st, theme) = get(&s, "/theme");
    assert_eq!(st, 200, "{theme}");
    let items = theme["themeItems"].as_array().unwrap();
    assert_eq!(items.len(), tabs.len());
    assert_eq!(items[0]["name"], "Account");
    assert!(items[0]["colors"].is_null());
    assert!(items[0]["icons"].as_array().is_some_and(|i| !i.is_empty()));
}
