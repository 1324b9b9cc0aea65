//! The composite family: `/composite` (references, allOrNone), `/composite/batch`,
//! `/composite/tree`, `/composite/graph`.

use serde_json::{Value, json};

use crate::{Authed, code, create, get, j, live_ids, server};

fn post(s: &forcebus_testkit::Server, path: &str, body: &Value) -> (u16, Value) {
    j(s.http()
        .post(format!("{}{path}", s.data()))
        .bearer(s)
        .json(body)
        .send()
        .unwrap())
}

fn base(s: &forcebus_testkit::Server) -> String {
    s.data()
        .split_once("/services/")
        .map(|(_, rest)| format!("/services/{rest}"))
        .unwrap()
}

#[test]
fn references_chain_creates_queries_and_reads_in_one_transaction() {
    let s = server();
    let b = base(&s);
    let req = json!({"allOrNone": true, "compositeRequest": [
        {"method": "POST", "url": format!("{b}/sobjects/Account"), "referenceId": "refAccount",
         "body": {"Name": "Composite Co"}},
        {"method": "POST", "url": format!("{b}/sobjects/Contact"), "referenceId": "refContact",
         "body": {"LastName": "Smith", "AccountId": "@{refAccount.id}"}},
        {"method": "GET", "referenceId": "refQuery",
         "url": format!("{b}/query?q=SELECT+Id,+LastName+FROM+Contact+WHERE+AccountId='@{{refAccount.id}}'")},
        {"method": "PATCH", "url": format!("{b}/sobjects/Account/@{{refAccount.id}}"),
         "referenceId": "refUpdate", "body": {"Phone": "@{refQuery.records[0].LastName}"}},
        {"method": "GET", "url": format!("{b}/sobjects/Account/@{{refAccount.id}}?fields=Name,Phone"),
         "referenceId": "refRead"},
    ]});
    let (st, body) = post(&s, "/composite", &req);
    assert_eq!(st, 200, "{body}");
    let r = body["compositeResponse"].as_array().unwrap();
    let statuses: Vec<u64> = r
        .iter()
        .map(|e| e["httpStatusCode"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 201, 200, 204, 200], "{body}");
    let account = r[0]["body"]["id"].as_str().unwrap();
    assert_eq!(
        r[0]["httpHeaders"]["Location"],
        json!(format!("{b}/sobjects/Account/{account}"))
    );
    assert_eq!(
        r[2]["body"]["totalSize"], 1,
        "the query sees the uncommitted contact"
    );
    assert_eq!(r[4]["body"]["Phone"], "Smith");
    assert_eq!(r[3]["body"], Value::Null);
    assert_eq!(r[1]["referenceId"], "refContact");
    let (_, contact) = get(
        &s,
        &format!("/sobjects/Contact/{}", r[1]["body"]["id"].as_str().unwrap()),
    );
    assert_eq!(contact["AccountId"], account);
}

#[test]
fn all_or_none_rolls_everything_back_and_halts_the_rest() {
    let s = server();
    let b = base(&s);
    let req = json!({"allOrNone": true, "compositeRequest": [
        {"method": "POST", "url": format!("{b}/sobjects/Account"), "referenceId": "a", "body": {"Name": "Kept?"}},
        {"method": "POST", "url": format!("{b}/sobjects/Account"), "referenceId": "b", "body": {"Phone": "1"}},
        {"method": "POST", "url": format!("{b}/sobjects/Account"), "referenceId": "c", "body": {"Name": "Never"}},
    ]});
    let (st, body) = post(&s, "/composite", &req);
    assert_eq!(st, 200, "{body}");
    let r = body["compositeResponse"].as_array().unwrap();
    assert_eq!(r[1]["httpStatusCode"], 400);
    assert_eq!(code(&r[1]["body"]), "REQUIRED_FIELD_MISSING");
    for i in [0, 2] {
        assert_eq!(r[i]["httpStatusCode"], 400);
        assert_eq!(code(&r[i]["body"]), "PROCESSING_HALTED");
    }
    assert!(live_ids(&s, "Account").is_empty(), "nothing was written");
}

#[test]
fn without_all_or_none_dependents_of_a_failure_halt_and_the_rest_commit() {
    let s = server();
    let b = base(&s);
    let req = json!({"compositeRequest": [
        {"method": "POST", "url": format!("{b}/sobjects/Account"), "referenceId": "bad", "body": {}},
        {"method": "POST", "url": format!("{b}/sobjects/Contact"), "referenceId": "child",
         "body": {"LastName": "X", "AccountId": "@{bad.id}"}},
        {"method": "POST", "url": format!("{b}/sobjects/Account"), "referenceId": "good", "body": {"Name": "Good"}},
    ]});
    let (st, body) = post(&s, "/composite", &req);
    assert_eq!(st, 200, "{body}");
    let r = body["compositeResponse"].as_array().unwrap();
    assert_eq!(code(&r[0]["body"]), "REQUIRED_FIELD_MISSING");
    assert_eq!(code(&r[1]["body"]), "PROCESSING_HALTED");
    assert!(
        r[1]["body"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid reference specified")
    );
    assert_eq!(r[2]["httpStatusCode"], 201);
    assert_eq!(
        live_ids(&s, "Account"),
        [r[2]["body"]["id"].as_str().unwrap()]
    );
}

#[test]
fn malformed_composite_requests_fail_whole_and_change_nothing() {
    let s = server();
    let b = base(&s);
    let sub = |i: usize| json!({"method": "POST", "url": format!("{b}/sobjects/Account"), "referenceId": format!("r{i}"), "body": {"Name": "x"}});
    let too_many: Vec<Value> = (0..26).map(sub).collect();
    let bad_ref =
        json!([{"method": "GET", "url": format!("{b}/sobjects/Account"), "referenceId": "ref[1]"}]);
    let dup = json!([sub(1), sub(1)]);
    let header = json!([{"method": "GET", "url": format!("{b}/limits"), "referenceId": "r", "httpHeaders": {"Authorization": "x"}}]);
    let outside = json!([{"method": "GET", "url": "/services/apexrest/x", "referenceId": "r"}]);
    let queries: Vec<Value> = (0..6)
        .map(|i| json!({"method": "GET", "url": format!("{b}/query?q=SELECT+Id+FROM+Account"), "referenceId": format!("q{i}")}))
        .collect();
    for (list, want) in [
        (json!(too_many), "LIMIT_EXCEEDED"),
        (bad_ref, "JSON_PARSER_ERROR"),
        (dup, "JSON_PARSER_ERROR"),
        (header, "JSON_PARSER_ERROR"),
        (outside, "JSON_PARSER_ERROR"),
        (json!(queries), "LIMIT_EXCEEDED"),
        (json!("not a list"), "JSON_PARSER_ERROR"),
    ] {
        let (st, body) = post(&s, "/composite", &json!({"compositeRequest": list}));
        assert_eq!((st, code(&body)), (400, want), "{body}");
    }
    assert!(live_ids(&s, "Account").is_empty());
    let (st, body) = get(&s, "/composite");
    assert_eq!(st, 200);
    assert!(
        body["graph"]
            .as_str()
            .unwrap()
            .ends_with("/composite/graph")
    );
}

#[test]
fn composite_upserts_and_collections_carry_created() {
    let s = server();
    let b = base(&s);
    let req = json!({"allOrNone": true, "compositeRequest": [
        {"method": "PATCH", "url": format!("{b}/sobjects/Account/External_Id__c/E-1"), "referenceId": "up",
         "body": {"Name": "Upserted"}},
        {"method": "POST", "url": format!("{b}/composite/sobjects"), "referenceId": "coll",
         "body": {"records": [{"attributes": {"type": "Contact"}, "LastName": "C", "AccountId": "@{up.id}"}]}},
        {"method": "GET", "url": format!("{b}/sobjects/Account/External_Id__c/E-1?fields=Name"), "referenceId": "byExt"},
        {"method": "PATCH", "url": format!("{b}/composite/sobjects/Account/External_Id__c"), "referenceId": "upColl",
         "body": {"allOrNone": false, "records": [
             {"attributes": {"type": "Account"}, "External_Id__c": "E-1", "Name": "Upserted Again"},
             {"attributes": {"type": "Account"}, "External_Id__c": "E-2", "Name": "Second"}]}},
    ]});
    let (st, body) = post(&s, "/composite", &req);
    assert_eq!(st, 200, "{body}");
    let r = body["compositeResponse"].as_array().unwrap();
    assert_eq!(r[0]["httpStatusCode"], 201);
    assert_eq!(r[0]["body"]["created"], true);
    assert_eq!(r[1]["body"][0]["success"], true, "{body}");
    assert_eq!(r[2]["body"]["Name"], "Upserted");
    let upserts = &r[3]["body"];
    assert_eq!(r[3]["httpStatusCode"], 200, "{body}");
    assert_eq!(
        (&upserts[0]["created"], &upserts[1]["created"]),
        (&json!(false), &json!(true)),
        "{body}"
    );
    assert_eq!(upserts[0]["id"], r[0]["body"]["id"]);
}

#[test]
fn batch_runs_each_subrequest_alone_and_halts_on_request() {
    let s = server();
    let a = create(&s, "Account", json!({"Name": "Batch"}));
    let v = s.data().rsplit('/').next().unwrap().to_owned();
    let req = |halt: bool| {
        json!({"haltOnError": halt, "batchRequests": [
            {"method": "PATCH", "url": format!("{v}/sobjects/Account/{a}"), "richInput": {"Phone": "9"}},
            {"method": "GET", "url": format!("{v}/sobjects/Account/001000000000000AAA")},
            {"method": "GET", "url": format!("{v}/sobjects/Account/{a}?fields=Phone")},
            {"method": "GET", "url": format!("{v}/limits")},
        ]})
    };
    let (st, body) = post(&s, "/composite/batch", &req(false));
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["hasErrors"], true);
    let codes: Vec<u64> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["statusCode"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [204, 404, 200, 200]);
    assert_eq!(body["results"][2]["result"]["Phone"], "9");
    assert!(body["results"][3]["result"]["DailyApiRequests"].is_object());
    let (_, body) = post(&s, "/composite/batch", &req(true));
    let r = body["results"].as_array().unwrap();
    assert_eq!(r[2]["statusCode"], 412);
    assert_eq!(r[2]["result"][0]["errorCode"], "BATCH_PROCESSING_HALTED");
    let (st, body) = post(
        &s,
        "/composite/batch",
        &json!({"batchRequests": [{"method": "GET", "url": "v33.0/limits"}]}),
    );
    assert_eq!(
        (st, code(&body)),
        (400, "JSON_PARSER_ERROR"),
        "versions before 34.0 are refused"
    );
}

#[test]
fn tree_inserts_nested_records_with_their_parents() {
    let s = server();
    let req = json!({"records": [
        {"attributes": {"type": "Account", "referenceId": "ref1"}, "name": "Tree One",
         "Contacts": {"records": [
            {"attributes": {"type": "Contact", "referenceId": "ref2"}, "lastname": "Smith"},
            {"attributes": {"type": "Contact", "referenceId": "ref3"}, "LastName": "Jones"}]}},
        {"attributes": {"type": "Account", "referenceId": "ref4"}, "Name": "Tree Two"},
    ]});
    let (st, body) = post(&s, "/composite/tree/Account", &req);
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["hasErrors"], false);
    let refs: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["referenceId"].as_str().unwrap())
        .collect();
    assert_eq!(
        refs,
        ["ref1", "ref4", "ref2", "ref3"],
        "roots first, then children"
    );
    let account = body["results"][0]["id"].as_str().unwrap();
    let contact = body["results"][2]["id"].as_str().unwrap();
    let (_, c) = get(&s, &format!("/sobjects/Contact/{contact}"));
    assert_eq!(c["AccountId"], account);

    let bad = json!({"records": [
        {"attributes": {"type": "Account", "referenceId": "ok1"}, "Name": "Fine",
         "Contacts": {"records": [{"attributes": {"type": "Contact", "referenceId": "bad1"}, "Email": "x"}]}},
    ]});
    let (st, body) = post(&s, "/composite/tree/Account", &bad);
    assert_eq!(st, 400, "{body}");
    assert_eq!(body["hasErrors"], true);
    assert_eq!(body["results"][0]["referenceId"], "bad1");
    assert_eq!(
        live_ids(&s, "Account").len(),
        2,
        "the failed tree wrote nothing"
    );
    let (st, body) = post(
        &s,
        "/composite/tree/Account",
        &json!({"records": [{"attributes": {"type": "Contact", "referenceId": "x"}, "LastName": "L"}]}),
    );
    assert_eq!((st, code(&body)), (400, "INVALID_INPUT"));
    let many: Vec<Value> = (0..201).map(|i| json!({"attributes": {"type": "Account", "referenceId": format!("r{i}")}, "Name": "n"})).collect();
    let (st, body) = post(&s, "/composite/tree/Account", &json!({"records": many}));
    assert_eq!((st, code(&body)), (400, "LIMIT_EXCEEDED"));
}

#[test]
fn graphs_commit_or_roll_back_each_on_its_own() {
    let s = server();
    let b = base(&s);
    let req = json!({"graphs": [
        {"graphId": "g1", "compositeRequest": [
            {"method": "POST", "url": format!("{b}/sobjects/Account"), "referenceId": "acc", "body": {"Name": "Graph"}},
            {"method": "POST", "url": format!("{b}/sobjects/Contact"), "referenceId": "con",
             "body": {"LastName": "G", "AccountId": "@{acc.id}"}}]},
        {"graphId": "g2", "compositeRequest": [
            {"method": "POST", "url": format!("{b}/sobjects/Account"), "referenceId": "acc2", "body": {"Name": "Rolled"}},
            {"method": "POST", "url": format!("{b}/sobjects/Contact"), "referenceId": "con2", "body": {"AccountId": "@{acc2.id}"}}]},
    ]});
    let (st, body) = post(&s, "/composite/graph", &req);
    assert_eq!(st, 200, "{body}");
    let g = body["graphs"].as_array().unwrap();
    assert_eq!(g[0]["isSuccessful"], true);
    assert_eq!(g[1]["isSuccessful"], false);
    let r2 = g[1]["graphResponse"]["compositeResponse"]
        .as_array()
        .unwrap();
    assert_eq!(code(&r2[0]["body"]), "PROCESSING_HALTED");
    assert_eq!(code(&r2[1]["body"]), "REQUIRED_FIELD_MISSING");
    assert_eq!(
        live_ids(&s, "Account").len(),
        1,
        "only the first graph was kept"
    );
    let query = json!({"graphs": [{"graphId": "q", "compositeRequest": [
        {"method": "GET", "url": format!("{b}/query?q=SELECT+Id+FROM+Account"), "referenceId": "q"}]}]});
    let (st, body) = post(&s, "/composite/graph", &query);
    assert_eq!(
        (st, code(&body)),
        (400, "JSON_PARSER_ERROR"),
        "graph nodes are sObject resources"
    );
}

#[test]
fn tree_duplicates_and_unknown_fields_are_answered_as_salesforce_does() {
    let s = server();
    let dup = json!({"records": [
        {"attributes": {"type": "Account", "referenceId": "dup"}, "Name": "A"},
        {"attributes": {"type": "Account", "referenceId": "ok"}, "Name": "B"},
        {"attributes": {"type": "Account", "referenceId": "dup"}, "Name": "C"},
    ]});
    let (st, body) = post(&s, "/composite/tree/Account", &dup);
    assert_eq!(st, 400, "{body}");
    let refs: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["referenceId"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["dup", "dup"], "one result per occurrence: {body}");
    let unknown = json!({"records": [{"attributes": {"type": "Account", "referenceId": "r1"}, "Name": "X", "Bogus__c": "x"}]});
    let (st, body) = post(&s, "/composite/tree/Account", &unknown);
    assert_eq!(
        (st, code(&body)),
        (400, "INVALID_FIELD"),
        "a top-level error: {body}"
    );
    assert!(live_ids(&s, "Account").is_empty());
}

#[test]
fn composite_reads_describe_global_and_replication_resources() {
    let s = server();
    let b = base(&s);
    let window = "start=2000-01-01T00:00:00Z&end=2099-01-01T00:00:00Z";
    let req = json!({"compositeRequest": [
        {"method": "POST", "url": format!("{b}/sobjects/Account"), "referenceId": "a", "body": {"Name": "R"}},
        {"method": "GET", "url": format!("{b}/sobjects"), "referenceId": "global"},
        {"method": "GET", "url": format!("{b}/sobjects/Account/updated?{window}"), "referenceId": "updated"},
        {"method": "GET", "url": format!("{b}/sobjects/Account/deleted?{window}"), "referenceId": "deleted"},
    ]});
    let (st, body) = post(&s, "/composite", &req);
    assert_eq!(st, 200, "{body}");
    let r = body["compositeResponse"].as_array().unwrap();
    let statuses: Vec<u64> = r
        .iter()
        .map(|e| e["httpStatusCode"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 200, 200, 200], "{body}");
    assert!(
        r[1]["body"]["sobjects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "Account")
    );
    assert_eq!(r[2]["body"]["ids"], json!([r[0]["body"]["id"]]));
    assert_eq!(r[3]["body"]["deletedRecords"], json!([]));
    let graph = json!({"graphs": [{"graphId": "g", "compositeRequest": [
        {"method": "POST", "url": format!("{b}/sobject/Account"), "referenceId": "n", "body": {"Name": "Singular"}}]}]});
    let (st, body) = post(&s, "/composite/graph", &graph);
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        body["graphs"][0]["isSuccessful"], true,
        "sobject/ is read as sobjects/: {body}"
    );
}

/// Two platform events, one published after its transaction commits.
const EVENTS: &str = r#"
[platform_events.After__e]
publish_behavior = "PublishAfterCommit"
fields = [{ name = "Note__c", type = "string", length = 20 }]

[platform_events.Now__e]
fields = [{ name = "Note__c", type = "string", length = 20 }]

[platform_events.Big__e]
publish_behavior = "PublishAfterCommit"
fields = [
  { name = "A__c", type = "textarea", length = 131072 },
  { name = "B__c", type = "textarea", length = 131072 },
  { name = "C__c", type = "textarea", length = 131072 },
  { name = "D__c", type = "textarea", length = 131072 },
  { name = "E__c", type = "textarea", length = 131072 },
  { name = "F__c", type = "textarea", length = 131072 },
  { name = "G__c", type = "textarea", length = 131072 },
  { name = "H__c", type = "textarea", length = 131072 },
]
"#;

/// The `Note__c` of every retained event on `/event/{name}`.
fn notes(s: &forcebus_testkit::Server, name: &str) -> Vec<String> {
    let (client, sub) = crate::platform::subscribe(s, &format!("/event/{name}"), -2);
    assert_eq!(sub["successful"], true, "{sub}");
    crate::platform::drain(s, &client)
        .iter()
        .map(|m| m["data"]["payload"]["Note__c"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn after_commit_events_go_out_only_if_the_transaction_is_kept() {
    let s = forcebus_testkit::Server::start_with(
        &crate::bin(),
        forcebus_testkit::Options {
            in_memory: true,
            config: Some(format!("{}\n{EVENTS}", crate::CONFIG)),
            ..Default::default()
        },
    );
    let b = base(&s);
    let composite = |note: &str, then_fail: bool| {
        let mut subs = vec![
            json!({"method": "POST", "url": format!("{b}/sobjects/After__e"), "referenceId": "after",
                   "body": {"Note__c": note}}),
            json!({"method": "POST", "url": format!("{b}/sobjects/Now__e"), "referenceId": "now",
                   "body": {"Note__c": note}}),
        ];
        if then_fail {
            subs.push(
                json!({"method": "POST", "url": format!("{b}/sobjects/Account"),
                             "referenceId": "bad", "body": {"Phone": "1"}}),
            );
        }
        let (st, body) = post(
            &s,
            "/composite",
            &json!({"allOrNone": true, "compositeRequest": subs}),
        );
        assert_eq!(st, 200, "{body}");
        body
    };
    let body = composite("rolled back", true);
    assert_eq!(
        body["compositeResponse"][2]["httpStatusCode"], 400,
        "{body}"
    );
    let body = composite("kept", false);
    assert_eq!(
        body["compositeResponse"][0]["httpStatusCode"], 201,
        "{body}"
    );
    assert_eq!(
        notes(&s, "After__e"),
        ["kept"],
        "an after-commit event of a rolled-back transaction is dropped"
    );
    assert_eq!(
        notes(&s, "Now__e"),
        ["rolled back", "kept"],
        "an immediate event is published whatever becomes of the transaction"
    );

    // An after-commit event past the size limit is refused when it is sent, as it would be
    // when published, not accepted and then lost.
    let long = "x".repeat(131_072);
    let fields: serde_json::Map<String, Value> = ["A", "B", "C", "D", "E", "F", "G", "H"]
        .iter()
        .map(|f| (format!("{f}__c"), json!(long)))
        .collect();
    let (st, body) = post(
        &s,
        "/composite",
        &json!({"allOrNone": false, "compositeRequest": [
            {"method": "POST", "url": format!("{b}/sobjects/Big__e"), "referenceId": "big", "body": fields}]}),
    );
    assert_eq!(st, 200, "{body}");
    let reply = &body["compositeResponse"][0];
    assert_eq!(reply["httpStatusCode"], 400, "{reply}");
    assert_eq!(code(&reply["body"]), "LIMIT_EXCEEDED");
}
