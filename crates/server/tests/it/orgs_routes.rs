//! Isolation, route by route: every route of the HTTP families' tables (`routes.rs` of
//! `crates/rest` and its shared resources' table, the routers of `crates/soap`,
//! `crates/bulk-api` and `crates/oauth`, read here so a route added later is covered too), the Streaming API's and the server's own, called with every method it answers, with org A's
//! token and org B's ids (records, Bulk jobs and batches, a query locator, a deploy, its
//! org and user ids); then composite, SOAP and Metadata API calls aimed at B's records.
//! Nothing A gets back holds B's data, and B is unchanged afterwards.

use forcebus_testkit::Server;
use serde_json::{Value, json};

use crate::deploy::{between, zip};

/// What only B's data holds (compared in lower case): record names, its username, its
/// object's, field's and event field's names.
const MARKERS: [&str; 2] = ["b-secret", "bsecret"];

/// B's things, named by what a route's parameters call them.
struct OrgB {
    token: String,
    org_id: String,
    user_id: String,
    account: String,
    ingest_job: String,
    query_job: String,
    bulk1_job: String,
    bulk1_batch: String,
    bulk1_result: String,
    locator: String,
    deploy: String,
}

/// One route of a table: its pattern and the methods it answers.
#[derive(Debug)]
struct Route {
    pattern: String,
    methods: Vec<&'static str>,
}

/// Every `.route("…", …)` of a Rust source, with the methods of its handler chain.
fn routes_in(source: &str) -> Vec<Route> {
    let mut routes = Vec::new();
    for chunk in source.split(".route(").skip(1) {
        let Some(rest) = chunk.trim_start().strip_prefix('"') else {
            continue;
        };
        let Some((pattern, handlers)) = rest.split_once('"') else {
            continue;
        };
        // The handler chain ends where the next statement or function begins.
        let handlers = handlers.split("\n}").next().unwrap_or_default();
        let has = |m: &str| {
            [".", "(", " ", "\n", ":"]
                .iter()
                .any(|before| handlers.contains(&format!("{before}{m}(")))
        };
        let mut methods: Vec<&'static str> = ["get", "post", "put", "patch", "delete"]
            .into_iter()
            .filter(|m| has(m))
            .collect();
        if has("any") {
            methods = vec!["get", "post", "delete"];
        }
        routes.push(Route {
            pattern: pattern.to_owned(),
            methods,
        });
    }
    routes
}

/// Every resource of rest's shared resources' table (`pattern: "/…"` and its
/// `Method::…` entries), under `/services/data/{v}`.
fn resources_in(source: &str) -> Vec<Route> {
    let mut routes = Vec::new();
    for chunk in source.split("pattern: \"").skip(1) {
        let Some((pattern, rest)) = chunk.split_once('"') else {
            continue;
        };
        let methods_text = rest.split("Resource {").next().unwrap_or_default();
        let methods: Vec<&'static str> = [
            ("Method::GET", "get"),
            ("Method::POST", "post"),
            ("Method::PUT", "put"),
            ("Method::PATCH", "patch"),
            ("Method::DELETE", "delete"),
        ]
        .into_iter()
        .filter(|(m, _)| methods_text.contains(m))
        .map(|(_, name)| name)
        .collect();
        routes.push(Route {
            pattern: format!("/services/data/{{v}}{pattern}"),
            methods,
        });
    }
    routes
}

fn all_routes() -> Vec<Route> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut routes = Vec::new();
    for file in [
        "rest/src/routes.rs",
        "soap/src/lib.rs",
        "bulk-api/src/lib.rs",
        "oauth/src/lib.rs",
        "bayeux/src/lib.rs",
        "host/src/health.rs",
        "host/src/orgs_api/mod.rs",
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        routes.extend(routes_in(&text));
    }
    let shared = std::fs::read_to_string(root.join("rest/src/data/shared.rs")).unwrap();
    let table = &shared[shared.find("pub(crate) const RESOURCES").unwrap()..];
    routes.extend(resources_in(&table[..table.find("\n];").unwrap()]));
    routes
}

/// `pattern` with B's ids in its parameters (one path per kind of Bulk job).
fn paths(pattern: &str, b: &OrgB) -> Vec<String> {
    let kinds: &[(&str, &str)] = if pattern.contains("{kind}") {
        &[("ingest", &b.ingest_job), ("query", &b.query_job)]
    } else if pattern.starts_with("/services/async/") {
        &[("", &b.bulk1_job)]
    } else if pattern.contains("deployRequest") {
        &[("", &b.deploy)]
    } else if pattern.starts_with("/forcebus/v1/orgs/") {
        &[("", &b.org_id)]
    } else {
        &[("", &b.account)]
    };
    let version = if pattern.starts_with("/services/data/") {
        "v59.0"
    } else {
        "59.0"
    };
    kinds
        .iter()
        .map(|(kind, id)| {
            pattern
                .replace("{v}", version)
                .replace("{version}", "59.0")
                .replace("{o}", "Account")
                .replace("{kind}", kind)
                .replace("{id}", id)
                .replace("{field}", "Id")
                .replace("{value}", &b.account)
                .replace("{locator}", &b.locator)
                .replace("{batch}", &b.bulk1_batch)
                .replace("{what}", "result")
                .replace("{result}", &b.bulk1_result)
                .replace("{which}", "results")
                .replace("{org}", &b.org_id)
                .replace("{user}", &b.user_id)
                .replace("{name}", "Pager__e")
                .replace("{rt}", "012000000000000AAA")
                .replace("{*rest}", "x")
        })
        .collect()
}

/// Calls `method path` with `token`; status and body.
fn call(s: &Server, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, String) {
    let mut r = s
        .http()
        .request(method.parse().unwrap(), format!("{}{path}", s.base()))
        .header("Authorization", format!("Bearer {token}"))
        .header("X-SFDC-Session", token);
    if let Some(body) = body {
        r = r.json(body);
    }
    let r = r.send().unwrap();
    (r.status().as_u16(), r.text().unwrap_or_default())
}

/// A's answer holds none of B's data.
fn clean(what: &str, status: u16, body: &str) {
    let lower = body.to_ascii_lowercase();
    for marker in MARKERS {
        assert!(
            !lower.contains(marker),
            "{what} with org A's token answered {status} with org B's data: {}",
            &body[..body.len().min(600)]
        );
    }
}

/// What B holds, read with B's own token: counts, its records' names, its jobs' states.
fn snapshot(s: &Server, b: &OrgB) -> Value {
    let names = |object: &str| {
        let q = format!("/services/data/v59.0/query?q=SELECT+Name+FROM+{object}+ORDER+BY+Name");
        let (st, body) = call(s, "GET", &q, &b.token, None);
        assert_eq!(st, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        json!([
            v["totalSize"],
            v["records"][0]["Name"],
            v["records"][1]["Name"]
        ])
    };
    let state = |path: &str| {
        let (_, body) = call(s, "GET", path, &b.token, None);
        serde_json::from_str::<Value>(&body).unwrap_or(Value::Null)["state"].clone()
    };
    let r = s
        .http()
        .get(format!("{}/forcebus/v1/orgs/{}", s.base(), b.org_id))
        .header("Authorization", format!("Bearer {}", s.ready.admin_key))
        .send()
        .unwrap();
    let entry: Value = r.json().unwrap();
    json!({
        "records": entry["records"],
        "events": entry["events"],
        "accounts": names("Account"),
        "things": names("BSecretThing__c"),
        "ingest": state(&format!("/services/data/v59.0/jobs/ingest/{}", b.ingest_job)),
        "query": state(&format!("/services/data/v59.0/jobs/query/{}", b.query_job)),
    })
}

/// Org B: 202 accounts (a query locator needs more than a batch), an object and a
/// platform event of its own, an open Bulk 2.0 ingest job, a Bulk 2.0 and a Bulk 1.0 query
/// job done, and a validated deploy.
fn org_b(s: &Server) -> OrgB {
    let r = s
        .http()
        .post(format!("{}/forcebus/v1/orgs", s.base()))
        .header("Authorization", format!("Bearer {}", s.ready.admin_key))
        .json(&json!({"name": "b", "config": {
            "users": [{"username": "b-secret@team.test", "password": "pw"}],
            "objects": {"BSecretThing__c": {"label": "Thing", "fields": [{"name": "BSecretHours__c", "type": "double", "precision": 4, "scale": 0}]}},
            "platform_events": {"Pager__e": {"label": "Pager", "fields": [{"name": "BSecretNote__c", "type": "string", "length": 40}]}}
        }}))
        .send()
        .unwrap();
    let made: Value = r.json().unwrap();
    let token = made["access_token"].as_str().unwrap().to_owned();
    let t = token.as_str();
    let records: Vec<Value> = (0..200)
        .map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("B-secret-account-{i:03}")}))
        .collect();
    let (st, body) = call(
        s,
        "POST",
        "/services/data/v59.0/composite/sobjects",
        t,
        Some(&json!({"records": records})),
    );
    assert_eq!(st, 200, "{body}");
    let mut account = String::new();
    for name in ["B-secret-account-200", "B-secret-account-201"] {
        let (_, body) = call(
            s,
            "POST",
            "/services/data/v59.0/sobjects/Account",
            t,
            Some(&json!({"Name": name})),
        );
        account = serde_json::from_str::<Value>(&body).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    call(
        s,
        "POST",
        "/services/data/v59.0/sobjects/BSecretThing__c",
        t,
        Some(&json!({"Name": "B-secret-thing", "BSecretHours__c": 3})),
    );
    call(
        s,
        "POST",
        "/services/data/v59.0/sobjects/Pager__e",
        t,
        Some(&json!({"BSecretNote__c": "B-secret-page"})),
    );
    let page: Value = s
        .http()
        .get(format!("{}/query?q=SELECT+Name+FROM+Account", s.data()))
        .header("Authorization", format!("Bearer {t}"))
        .header("Sforce-Query-Options", "batchSize=200")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let locator = page["nextRecordsUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("no locator: {}", page["totalSize"]))
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let (_, body) = call(
        s,
        "POST",
        "/services/data/v59.0/jobs/ingest",
        t,
        Some(&json!({"object": "Account", "operation": "insert"})),
    );
    let ingest_job = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .http()
        .put(format!("{}/jobs/ingest/{ingest_job}/batches", s.data()))
        .header("Authorization", format!("Bearer {t}"))
        .header("Content-Type", "text/csv")
        .body("Name\nB-secret-bulk\n")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let (_, body) = call(
        s,
        "POST",
        "/services/data/v59.0/jobs/query",
        t,
        Some(&json!({"operation": "query", "query": "SELECT Name FROM Account"})),
    );
    let query_job = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let job = format!("/services/data/v59.0/jobs/query/{query_job}");
    while !call(s, "GET", &job, t, None).1.contains("JobComplete") {
        assert!(
            std::time::Instant::now() < deadline,
            "B's query job did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (bulk1_job, bulk1_batch, bulk1_result) = bulk1_query(s, t);
    let answer = metadata(
        s,
        t,
        &format!(
            "<met:deploy><met:ZipFile>{}</met:ZipFile><met:DeployOptions><met:checkOnly>true</met:checkOnly></met:DeployOptions></met:deploy>",
            zip(&[
                (
                    "pkg/package.xml",
                    r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><types><members>Account.BSecretField__c</members><name>CustomField</name></types><version>62.0</version></Package>"#
                ),
                (
                    "pkg/objects/Account.object",
                    r#"<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata"><fields><fullName>BSecretField__c</fullName><label>Secret</label><type>Text</type><length>20</length></fields></CustomObject>"#
                ),
            ])
        ),
    );
    let deploy = between(&answer, "<id>", "</id>").to_owned();
    OrgB {
        token,
        org_id: made["org_id"].as_str().unwrap().to_owned(),
        user_id: made["user_id"].as_str().unwrap().to_owned(),
        account,
        ingest_job,
        query_job,
        bulk1_job,
        bulk1_batch,
        bulk1_result,
        locator,
        deploy,
    }
}

/// A Bulk 1.0 query job of B's, its batch done: job, batch and result ids.
fn bulk1_query(s: &Server, token: &str) -> (String, String, String) {
    let (job, batches) = crate::bulk1::json_job(
        s,
        token,
        r#"{"operation":"query","object":"Account","contentType":"JSON"}"#,
        &["SELECT Name FROM Account"],
    );
    let batch = batches[0].clone();
    let path = format!("/job/{job}/batch/{batch}/result");
    let (_, text) = crate::bulk1::send_as(s, token, "GET", &path, "application/json", "");
    let results: Value = serde_json::from_str(&text).unwrap();
    let result = results[0]
        .as_str()
        .unwrap_or_else(|| panic!("{results}"))
        .to_owned();
    (job, batch, result)
}

/// A Metadata API call with `token`'s session.
fn metadata(s: &Server, token: &str, op: &str) -> String {
    soap(
        s,
        "/services/Soap/m/62.0",
        "http://soap.sforce.com/2006/04/metadata",
        token,
        op,
    )
}

fn soap(s: &Server, path: &str, ns: &str, token: &str, op: &str) -> String {
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:met="{ns}"><soapenv:Header><met:SessionHeader><met:sessionId>{token}</met:sessionId></met:SessionHeader></soapenv:Header><soapenv:Body>{op}</soapenv:Body></soapenv:Envelope>"#
    );
    let r = s
        .http()
        .post(format!("{}{path}", s.base()))
        .header("Content-Type", "text/xml")
        .header("SOAPAction", "x")
        .body(body)
        .send()
        .unwrap();
    r.text().unwrap()
}

/// Calls aimed at B's records through APIs whose bodies name them.
fn aimed(b: &OrgB) -> Vec<(&'static str, String, Value)> {
    let id = &b.account;
    let v = "/services/data/v59.0";
    vec![
        (
            "GET",
            format!("{v}/query?q=SELECT+Name+FROM+Account+WHERE+Id='{id}'"),
            Value::Null,
        ),
        (
            "GET",
            format!("{v}/queryAll?q=SELECT+Name+FROM+Account+WHERE+Id='{id}'"),
            Value::Null,
        ),
        (
            "GET",
            format!("{v}/search?q=FIND+%7Bsecret%7D"),
            Value::Null,
        ),
        (
            "GET",
            format!("{v}/composite/sobjects/Account?ids={id}&fields=Name"),
            Value::Null,
        ),
        (
            "POST",
            format!("{v}/composite/sobjects/Account"),
            json!({"ids": [id], "fields": ["Name"]}),
        ),
        (
            "DELETE",
            format!("{v}/composite/sobjects?ids={id}"),
            Value::Null,
        ),
        (
            "PATCH",
            format!("{v}/composite/sobjects"),
            json!({"allOrNone": false, "records": [{"attributes": {"type": "Account"}, "id": id, "Name": "A was here"}]}),
        ),
        (
            "PATCH",
            format!("{v}/composite/sobjects/Account/Id"),
            json!({"allOrNone": false, "records": [{"attributes": {"type": "Account"}, "Id": id, "Name": "A was here"}]}),
        ),
        (
            "POST",
            format!("{v}/composite"),
            json!({"allOrNone": false, "compositeRequest": [
            {"method": "GET", "url": format!("{v}/sobjects/Account/{id}"), "referenceId": "get"},
            {"method": "PATCH", "url": format!("{v}/sobjects/Account/{id}"), "referenceId": "patch", "body": {"Name": "A was here"}},
            {"method": "DELETE", "url": format!("{v}/sobjects/Account/{id}"), "referenceId": "delete"}]}),
        ),
        (
            "POST",
            format!("{v}/composite/batch"),
            json!({"batchRequests": [
            {"method": "GET", "url": format!("v59.0/sobjects/Account/{id}")},
            {"method": "GET", "url": format!("v59.0/query?q=SELECT+Name+FROM+Account+WHERE+Id='{id}'")},
            {"method": "DELETE", "url": format!("v59.0/sobjects/Account/{id}")}]}),
        ),
        (
            "POST",
            format!("{v}/composite/graph"),
            json!({"graphs": [{"graphId": "g", "compositeRequest": [
            {"method": "PATCH", "url": format!("{v}/sobjects/Account/{id}"), "referenceId": "patch", "body": {"Name": "A was here"}}]}]}),
        ),
        (
            "POST",
            format!("{v}/sobjects/Account/{id}?_HttpMethod=PATCH"),
            json!({"Name": "A was here"}),
        ),
        (
            "POST",
            format!("{v}/tooling/sobjects/CustomField"),
            json!({"FullName": "Account.Mine__c", "Metadata": {"label": "Mine", "type": "Text", "length": 5}}),
        ),
    ]
}

#[test]
fn org_as_token_reaches_nothing_of_org_b_on_any_route() {
    let s = crate::server();
    let b = org_b(&s);
    let r = s
        .http()
        .post(format!("{}/forcebus/v1/orgs", s.base()))
        .header("Authorization", format!("Bearer {}", s.ready.admin_key))
        .json(&json!({"name": "a"}))
        .send()
        .unwrap();
    let a: Value = r.json().unwrap();
    let ta = a["access_token"].as_str().unwrap().to_owned();
    let before = snapshot(&s, &b);

    let routes = all_routes();
    assert!(routes.len() >= 75, "the route tables were read: {routes:?}");
    let generic =
        json!({"Name": "A was here", "Id": b.account, "ids": [b.account], "state": "Aborted"});
    let (mut calls, mut answered) = (0, 0);
    for route in &routes {
        assert!(!route.methods.is_empty(), "{route:?}");
        for path in paths(&route.pattern, &b) {
            let path = format!(
                "{path}?q=SELECT+Name+FROM+Account&ids={}&fields=Name",
                b.account
            );
            for method in &route.methods {
                let body = (*method != "get").then_some(&generic);
                let (st, text) = call(&s, &method.to_ascii_uppercase(), &path, &ta, body);
                clean(&format!("{method} {path}"), st, &text);
                calls += 1;
                answered += usize::from((200..300).contains(&st));
            }
        }
    }
    for (method, path, body) in aimed(&b) {
        let (st, text) = call(&s, method, &path, &ta, (!body.is_null()).then_some(&body));
        clean(&format!("{method} {path}"), st, &text);
        calls += 1;
    }
    let id = &b.account;
    let partner = "urn:partner.soap.sforce.com";
    for op in [
        format!(
            "<met:retrieve><met:fieldList>Name</met:fieldList><met:sObjectType>Account</met:sObjectType><met:ids>{id}</met:ids></met:retrieve>"
        ),
        format!(
            "<met:query><met:queryString>SELECT Name FROM Account WHERE Id = '{id}'</met:queryString></met:query>"
        ),
        format!(
            "<met:update><met:sObjects><type xmlns=\"urn:sobject.partner.soap.sforce.com\">Account</type><Id xmlns=\"urn:sobject.partner.soap.sforce.com\">{id}</Id><Name xmlns=\"urn:sobject.partner.soap.sforce.com\">A was here</Name></met:sObjects></met:update>"
        ),
        format!("<met:delete><met:ids>{id}</met:ids></met:delete>"),
        "<met:getUserInfo/>".to_owned(),
        "<met:describeGlobal/>".to_owned(),
    ] {
        let text = soap(&s, "/services/Soap/u/59.0", partner, &ta, &op);
        clean(&op, 0, &text);
    }
    for op in [
        "<met:readMetadata><met:type>CustomObject</met:type><met:fullNames>BSecretThing__c</met:fullNames><met:fullNames>Pager__e</met:fullNames><met:fullNames>Account</met:fullNames></met:readMetadata>".to_owned(),
        "<met:listMetadata><met:queries><met:type>CustomObject</met:type></met:queries><met:queries><met:type>CustomField</met:type></met:queries></met:listMetadata>".to_owned(),
        format!("<met:checkDeployStatus><met:asyncProcessId>{}</met:asyncProcessId><met:includeDetails>true</met:includeDetails></met:checkDeployStatus>", b.deploy),
    ] {
        let text = metadata(&s, &ta, &op);
        clean(&op, 0, &text);
    }

    assert!(calls >= 130, "{calls} calls");
    assert!(
        answered >= 20,
        "A's token was good on A's own routes: {answered} of {calls} answered 2xx"
    );
    let (st, _) = call(&s, "GET", "/services/data/v59.0/limits", &ta, None);
    assert_eq!(st, 200, "A's token still good at the end");
    assert_eq!(snapshot(&s, &b), before, "org B unchanged");
}

/// A made org's token is revoked where it was issued, by POST (its body) or GET (its
/// query): the request names the token, and the token its org.
#[test]
fn a_made_orgs_token_is_revoked_in_its_own_org() {
    let s = crate::server();
    for how in ["post", "get"] {
        let (st, made) = crate::orgs::new_org(&s, serde_json::json!({"name": how}));
        assert_eq!(st, 201, "{made}");
        let token = made["access_token"].as_str().unwrap().to_owned();
        let (st, _) = crate::orgs::rest(&s, reqwest::Method::GET, &token, "/sobjects", None);
        assert_eq!(st, 200);
        let url = format!("{}/services/oauth2/revoke", s.base());
        let r = match how {
            "post" => s
                .http()
                .post(&url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!("token={}", token.replace('!', "%21")))
                .send()
                .unwrap(),
            _ => s
                .http()
                .get(&url)
                .query(&[("token", &token)])
                .send()
                .unwrap(),
        };
        assert_eq!(r.status(), 200, "{how}: {}", r.text().unwrap_or_default());
        let (st, _) = crate::orgs::rest(&s, reqwest::Method::GET, &token, "/sobjects", None);
        assert_eq!(st, 401, "{how}: revoked");
    }
}
