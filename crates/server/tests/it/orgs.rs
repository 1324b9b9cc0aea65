//! Many orgs on one server (`/forcebus/v1/orgs`): made with the admin key, each with its
//! own users, records and events, reached by its own token (REST, SOAP, Pub/Sub) or by
//! its users' names at sign-in; a token never reaches another org's data; a deleted org's
//! tokens answer 401 at once; orgs survive kill -9 and a deleted one stays deleted.

use forcebus_pubsub::proto::TopicRequest;
use forcebus_testkit::Server;
use serde_json::{Value, json};

use crate::pubsub::{plaintext, request_as, runtime};

fn admin(s: &Server) -> String {
    format!("Bearer {}", s.ready.admin_key)
}

pub(crate) fn new_org(s: &Server, body: Value) -> (u16, Value) {
    let r = s
        .http()
        .post(format!("{}/forcebus/v1/orgs", s.base()))
        .header("Authorization", admin(s))
        .json(&body)
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

/// A REST call with `token`.
pub(crate) fn rest(
    s: &Server,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = s
        .http()
        .request(method, format!("{}{path}", s.data()))
        .header("Authorization", format!("Bearer {token}"));
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

/// The names of the org's accounts (the org of `token`), by name.
pub(crate) fn accounts(s: &Server, token: &str) -> Vec<String> {
    let (st, q) = rest(
        s,
        reqwest::Method::GET,
        token,
        "/query?q=SELECT+Name+FROM+Account+ORDER+BY+Name",
        None,
    );
    assert_eq!(st, 200, "{q}");
    q["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn orgs_are_made_isolated_signed_in_to_and_deleted() {
    let mut s = Server::start_with(&crate::bin(), forcebus_testkit::Options::default());
    let (st, a) = new_org(&s, json!({"name": "team-a"}));
    assert_eq!(st, 201, "{a}");
    for key in [
        "org_id",
        "user_id",
        "username",
        "password",
        "security_token",
        "client_id",
        "client_secret",
        "access_token",
        "instance_url",
        "api_version",
    ] {
        assert!(
            a[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key} in {a}"
        );
    }
    assert_ne!(a["org_id"], s.ready.org_id.as_str());
    let (st, b) = new_org(
        &s,
        json!({"name": "team-b", "config": {"users": [{"username": "b@team.test", "password": "pw-b"}],
               "objects": {"Ticket__c": {"label": "Ticket", "fields": [{"name": "Hours__c", "type": "double", "precision": 4, "scale": 0}]}}}}),
    );
    assert_eq!(st, 201, "{b}");
    assert_eq!(b["username"], "b@team.test");
    let (ta, tb) = (
        a["access_token"].as_str().unwrap(),
        b["access_token"].as_str().unwrap(),
    );

    // Each org sees only its own records; ids of another org are not found.
    let (st, made) = rest(
        &s,
        reqwest::Method::POST,
        ta,
        "/sobjects/Account",
        Some(json!({"Name": "Only A"})),
    );
    assert_eq!(st, 201, "{made}");
    let a_id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(accounts(&s, ta), ["Only A"]);
    assert!(accounts(&s, tb).is_empty());
    // Orgs mint from their own blocks: B's next Account is not A's id.
    let (_, b_made) = rest(
        &s,
        reqwest::Method::POST,
        tb,
        "/sobjects/Account",
        Some(json!({"Name": "B"})),
    );
    assert_ne!(b_made["id"], made["id"]);
    rest(
        &s,
        reqwest::Method::DELETE,
        tb,
        &format!("/sobjects/Account/{}", b_made["id"].as_str().unwrap()),
        None,
    );
    assert!(accounts(&s, tb).is_empty());
    assert!(!accounts(&s, &s.ready.access_token).contains(&"Only A".to_owned()));
    for (method, body) in [
        (reqwest::Method::GET, None),
        (reqwest::Method::PATCH, Some(json!({"Name": "B was here"}))),
        (reqwest::Method::DELETE, None),
    ] {
        let (st, e) = rest(
            &s,
            method.clone(),
            tb,
            &format!("/sobjects/Account/{a_id}"),
            body,
        );
        assert_eq!(
            st, 404,
            "{method} of org A's record with org B's token: {e}"
        );
    }
    assert_eq!(accounts(&s, ta), ["Only A"], "unchanged");
    // The schema is the org's own: B has Ticket__c, A does not.
    assert_eq!(
        rest(
            &s,
            reqwest::Method::GET,
            tb,
            "/sobjects/Ticket__c/describe",
            None
        )
        .0,
        200
    );
    assert_eq!(
        rest(
            &s,
            reqwest::Method::GET,
            ta,
            "/sobjects/Ticket__c/describe",
            None
        )
        .0,
        404
    );

    // Sign-in by username reaches the user's org: OAuth password flow and SOAP login.
    let r = s
        .http()
        .post(format!("{}/services/oauth2/token", s.base()))
        .form(&[
            ("grant_type", "password"),
            ("client_id", b["client_id"].as_str().unwrap()),
            ("client_secret", b["client_secret"].as_str().unwrap()),
            ("username", "b@team.test"),
            (
                "password",
                &format!("pw-b{}", b["security_token"].as_str().unwrap()),
            ),
        ])
        .send()
        .unwrap();
    let token: Value = r.json().unwrap();
    let signed_in = token["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{token}"));
    assert!(
        signed_in.starts_with(&b["org_id"].as_str().unwrap()[..15]),
        "{signed_in}"
    );
    let login = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Body><urn:login><urn:username>{}</urn:username><urn:password>{}{}</urn:password></urn:login></soapenv:Body></soapenv:Envelope>"#,
        a["username"].as_str().unwrap(),
        a["password"].as_str().unwrap(),
        a["security_token"].as_str().unwrap()
    );
    let r = s
        .http()
        .post(format!("{}/services/Soap/u/62.0", s.base()))
        .header("Content-Type", "text/xml")
        .header("SOAPAction", "login")
        .body(login)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        r.contains(&format!(
            "<organizationId>{}</organizationId>",
            a["org_id"].as_str().unwrap()
        )),
        "{r}"
    );

    // Usernames are unique across the server.
    let (st, e) = new_org(
        &s,
        json!({"config": {"users": [{"username": "b@team.test", "password": "x"}]}}),
    );
    assert_eq!(st, 400, "{e}");
    let (st, e) = new_org(
        &s,
        json!({"config": {"users": [{"username": s.ready.username, "password": "x"}]}}),
    );
    assert_eq!(st, 400, "{e}");

    // Pub/Sub: the token's org serves it; another org's tenantid is refused.
    let rt = runtime();
    let topic = |token: &str, tenant: &str| {
        rt.block_on(async {
            let mut client = plaintext(&s).await;
            let req = request_as(
                &s,
                TopicRequest {
                    topic_name: "/data/AccountChangeEvent".into(),
                },
                token,
                tenant,
            );
            client
                .get_topic(req)
                .await
                .map(|_| ())
                .map_err(|e| e.code())
        })
    };
    assert_eq!(topic(ta, a["org_id"].as_str().unwrap()), Ok(()));
    assert_eq!(
        topic(ta, b["org_id"].as_str().unwrap()),
        Err(tonic::Code::Unauthenticated)
    );

    // The list: the default org first, with counts.
    let list: Value = s
        .http()
        .get(format!("{}/forcebus/v1/orgs", s.base()))
        .header("Authorization", admin(&s))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let orgs = list["orgs"].as_array().unwrap();
    assert_eq!(orgs.len(), 3, "{list}");
    assert_eq!(orgs[0]["default"], true);
    let team_a = orgs.iter().find(|o| o["name"] == "team-a").unwrap();
    assert!(
        team_a["records"].as_u64().unwrap() >= 2,
        "a user and an account: {team_a}"
    );
    let r = s
        .http()
        .get(format!("{}/forcebus/v1/orgs", s.base()))
        .header("Authorization", format!("Bearer {ta}"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "an org's token is no admin key");

    // Deleting A: its token answers 401 at once; B is untouched.
    let r = s
        .http()
        .delete(format!(
            "{}/forcebus/v1/orgs/{}",
            s.base(),
            a["org_id"].as_str().unwrap()
        ))
        .header("Authorization", admin(&s))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let (st, e) = rest(&s, reqwest::Method::GET, ta, "/sobjects/Account", None);
    assert_eq!(st, 401, "{e}");
    assert_eq!(e[0]["errorCode"], "INVALID_SESSION_ID");
    let r = s
        .http()
        .delete(format!("{}/forcebus/v1/orgs/{}", s.base(), s.ready.org_id))
        .header("Authorization", admin(&s))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400, "the default org stays");

    // kill -9: B comes back with its record, schema and token; A stays deleted.
    rest(
        &s,
        reqwest::Method::POST,
        tb,
        "/sobjects/Ticket__c",
        Some(json!({"Name": "T", "Hours__c": 3})),
    );
    s.kill();
    s.restart();
    let (st, q) = rest(
        &s,
        reqwest::Method::GET,
        tb,
        "/query?q=SELECT+Hours__c+FROM+Ticket__c",
        None,
    );
    assert_eq!(st, 200, "{q}");
    assert_eq!(q["records"][0]["Hours__c"], 3.0);
    assert_eq!(
        rest(&s, reqwest::Method::GET, ta, "/sobjects/Account", None).0,
        401
    );
    let r = s
        .http()
        .get(format!(
            "{}/forcebus/v1/orgs/{}",
            s.base(),
            a["org_id"].as_str().unwrap()
        ))
        .header("Authorization", admin(&s))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

#[test]
fn the_admin_api_wants_the_admin_key_and_good_input() {
    let s = crate::server();
    let r = s
        .http()
        .post(format!("{}/forcebus/v1/orgs", s.base()))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = s
        .http()
        .post(format!("{}/forcebus/v1/orgs", s.base()))
        .header("Authorization", format!("Bearer {}", s.ready.access_token))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "an org token does not make orgs");
    for bad in [
        json!({"nme": "typo"}),
        json!({"config": {"objects": 5}}),
        json!({"name": ""}),
    ] {
        let (st, e) = new_org(&s, bad.clone());
        assert_eq!(st, 400, "{bad}: {e}");
        assert!(e[0]["message"].as_str().is_some(), "{e}");
    }
    let r = s
        .http()
        .post(format!("{}/forcebus/v1/orgs", s.base()))
        .header("Authorization", admin(&s))
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // An empty body makes an org with generated credentials.
    let r = s
        .http()
        .post(format!("{}/forcebus/v1/orgs", s.base()))
        .header("Authorization", admin(&s))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let made: Value = r.json().unwrap();
    assert!(
        made["username"]
            .as_str()
            .unwrap()
            .ends_with(".forcebus.local"),
        "{made}"
    );
    let (st, _) = rest(
        &s,
        reqwest::Method::GET,
        made["access_token"].as_str().unwrap(),
        "/limits",
        None,
    );
    assert_eq!(st, 200);
}

/// A reset empties an org of records and events; its users, schema and tokens stay, and
/// replay ids go on growing. `forcebus org` drives the same API.
#[test]
fn an_org_is_reset_and_driven_from_the_cli() {
    let s = crate::server();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(crate::bin())
            .arg("org")
            .args(["--data-dir", s.dir().join("data").to_str().unwrap()])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let made: Value = serde_json::from_str(&run(&["create", "--name", "from-cli"])).unwrap();
    let (id, token) = (
        made["org_id"].as_str().unwrap(),
        made["access_token"].as_str().unwrap(),
    );
    let (st, _) = rest(
        &s,
        reqwest::Method::POST,
        token,
        "/sobjects/Account",
        Some(json!({"Name": "Before"})),
    );
    assert_eq!(st, 201);
    let events = |t: &str| -> Value {
        s.http()
            .get(format!("{}/forcebus/v1/events", s.base()))
            .query(&[("channel", "/data/AccountChangeEvent")])
            .header("Authorization", format!("Bearer {t}"))
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let before = events(token);
    let last = before["events"].as_array().unwrap().last().unwrap()["replayId"]
        .as_u64()
        .unwrap();
    let list = run(&["list"]);
    assert!(list.contains("from-cli"), "{list}");
    let reset: Value = serde_json::from_str(&run(&["reset", id])).unwrap();
    assert_eq!(reset["name"], "from-cli");
    assert!(
        accounts(&s, token).is_empty(),
        "records gone, the token still good"
    );
    assert!(
        events(token)["events"].as_array().unwrap().is_empty(),
        "events gone"
    );
    rest(
        &s,
        reqwest::Method::POST,
        token,
        "/sobjects/Account",
        Some(json!({"Name": "After"})),
    );
    let after = events(token);
    let next = after["events"][0]["replayId"].as_u64().unwrap();
    assert!(next > last, "replay ids go on: {next} after {last}");
    assert!(run(&["show", id]).contains("\"records\""));
    assert!(run(&["delete", id]).contains("\"deleted\""));
    assert_eq!(
        rest(&s, reqwest::Method::GET, token, "/limits", None).0,
        401
    );
}

/// An org's test controls (`/forcebus/v1/orgs/{id}/control`) answer the admin key and that
/// org's tokens, act on that org alone, and are driven by `forcebus control --org`.
#[test]
fn an_orgs_controls_take_the_admin_key() {
    let s = crate::server();
    let (_, a) = new_org(&s, json!({"name": "controlled"}));
    let (_, b) = new_org(&s, json!({"name": "other"}));
    let (id, token) = (
        a["org_id"].as_str().unwrap(),
        a["access_token"].as_str().unwrap(),
    );
    let call = |method: reqwest::Method, path: &str, auth: &str, body: Option<Value>| {
        let mut r = s
            .http()
            .request(method, format!("{}{path}", s.base()))
            .header("Authorization", auth);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().unwrap();
        (
            r.status().as_u16(),
            r.json::<Value>().unwrap_or(Value::Null),
        )
    };
    let clock = format!("/forcebus/v1/orgs/{id}/control/clock");
    let (st, view) = call(
        reqwest::Method::POST,
        &clock,
        &admin(&s),
        Some(json!({"freeze": true})),
    );
    assert_eq!(st, 200, "{view}");
    assert_eq!(view["clock"]["frozen"], true);
    let shown = |path: &str, auth: &str| call(reqwest::Method::GET, path, auth, None);
    let (st, own) = shown("/forcebus/v1/control", &format!("Bearer {token}"));
    assert_eq!((st, &own["clock"]["frozen"]), (200, &json!(true)), "{own}");
    let (_, default) = shown("/forcebus/v1/control", &admin(&s));
    assert_eq!(
        default["clock"]["frozen"], false,
        "the default org's clock runs"
    );
    let other = format!("Bearer {}", b["access_token"].as_str().unwrap());
    let (st, _) = shown(&format!("/forcebus/v1/orgs/{id}/control"), &other);
    assert_eq!(st, 401, "another org's token does not reach these controls");
    let (st, _) = shown(
        &format!("/forcebus/v1/orgs/{id}/control"),
        &format!("Bearer {token}"),
    );
    assert_eq!(st, 200, "the org's own token does");
    let (st, _) = shown("/forcebus/v1/orgs/00D000000000zzzAAA/control", &admin(&s));
    assert_eq!(st, 404);
    let out = std::process::Command::new(crate::bin())
        .args(["control", "--org", id, "clear"])
        .args(["--data-dir", s.dir().join("data").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, own) = shown("/forcebus/v1/control", &format!("Bearer {token}"));
    assert_eq!(own["clock"]["frozen"], false, "cleared by the CLI: {own}");
}
