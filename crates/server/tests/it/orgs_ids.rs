//! Ids the server makes from counters of an org's own (Bulk jobs and batches, custom
//! fields and objects, deploys) are unique across the server's orgs, as Salesforce's are:
//! a harness that keys them across orgs never sees two alike.

use forcebus_testkit::Server;
use reqwest::Method;
use serde_json::json;

use crate::orgs::{new_org, rest};

/// The ids an org's first Bulk 2.0 job and first custom field get.
fn first_ids(s: &Server, token: &str) -> (String, String) {
    let (st, job) = rest(
        s,
        Method::POST,
        token,
        "/jobs/ingest",
        Some(json!({"object": "Account", "operation": "insert"})),
    );
    assert_eq!(st, 200, "{job}");
    let (st, field) = rest(
        s,
        Method::POST,
        token,
        "/tooling/sobjects/CustomField",
        Some(json!({"FullName": "Account.Tier_Code__c",
            "Metadata": {"label": "Tier Code", "type": "Text", "length": 10}})),
    );
    assert_eq!(st, 201, "{field}");
    (
        job["id"].as_str().unwrap().to_owned(),
        field["id"].as_str().unwrap().to_owned(),
    )
}

/// A review found: every org's first Bulk job was `750Fb0000000001IAA`.
#[test]
fn the_first_job_and_field_of_each_org_have_ids_of_their_own() {
    let s = Server::start_with(&crate::bin(), forcebus_testkit::Options::default());
    let mut ids = vec![first_ids(&s, &s.ready.access_token)];
    for name in ["ids-a", "ids-b"] {
        let (st, org) = new_org(&s, json!({"name": name}));
        assert_eq!(st, 201, "{org}");
        ids.push(first_ids(&s, org["access_token"].as_str().unwrap()));
    }
    let jobs: std::collections::HashSet<&str> = ids.iter().map(|(j, _)| j.as_str()).collect();
    let fields: std::collections::HashSet<&str> = ids.iter().map(|(_, f)| f.as_str()).collect();
    assert_eq!((jobs.len(), fields.len()), (3, 3), "{ids:?}");
    assert!(
        ids.iter()
            .all(|(j, f)| j.starts_with("750") && f.starts_with("00N")),
        "{ids:?}"
    );
}
