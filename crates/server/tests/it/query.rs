//! SOQL over REST: shapes, paging and locators, batch size, columns=true, queryAll,
//! tooling, and errors.

use serde_json::{Value, json};

use crate::{Authed, code, create, j, server};

fn q(s: &forcebus_testkit::Server, kind: &str, soql: &str) -> (u16, Value) {
    j(s.http()
        .get(format!("{}/{kind}", s.data()))
        .query(&[("q", soql)])
        .bearer(s)
        .send()
        .unwrap())
}

fn bulk(s: &forcebus_testkit::Server, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let records: Vec<Value> = chunk.iter().map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("Bulk {i:05}"), "NumberOfEmployees": i})).collect();
        let (st, body) = j(s
            .http()
            .post(format!("{}/composite/sobjects", s.data()))
            .bearer(s)
            .json(&json!({"allOrNone": true, "records": records}))
            .send()
            .unwrap());
        assert_eq!(st, 200, "{body}");
    }
}

#[test]
fn pages_follow_next_records_url_under_both_prefixes() {
    let s = server();
    bulk(&s, 4500);
    let (st, first) = q(&s, "query/", "SELECT Name FROM Account ORDER BY Name");
    assert_eq!(st, 200);
    assert_eq!(
        (first["totalSize"].as_u64(), first["done"].as_bool()),
        (Some(4500), Some(false))
    );
    assert_eq!(first["records"].as_array().unwrap().len(), 2000);
    let next = first["nextRecordsUrl"].as_str().unwrap().to_owned();
    assert!(next.starts_with("/services/data/v59.0/query/01g"), "{next}");
    let locator = next.rsplit('/').next().unwrap().to_owned();
    assert!(!locator.contains('/'));
    let (st, second) = j(s
        .http()
        .get(format!("{}{next}", s.base()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 200);
    assert_eq!(second["records"][0]["Name"], "Bulk 02000");
    // jsforce pages a queryAll cursor under /query/ and vice versa: both resolve.
    let (st, again) = j(s
        .http()
        .get(format!("{}/queryAll/{locator}", s.data()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!((st, &again["records"][0]), (200, &second["records"][0]));
    let third_url = second["nextRecordsUrl"].as_str().unwrap();
    let (_, third) = j(s
        .http()
        .get(format!("{}{third_url}", s.base()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(
        (
            third["done"].as_bool(),
            third["records"].as_array().unwrap().len()
        ),
        (Some(true), 500)
    );
    assert!(third.get("nextRecordsUrl").is_none());
    assert_eq!(third["records"][499]["Name"], "Bulk 04499");
    // Batch size from the header, clamped to 200..2000.
    let (_, small) = j(s
        .http()
        .get(format!("{}/query", s.data()))
        .query(&[("q", "SELECT Id FROM Account")])
        .header("Sforce-Query-Options", "batchSize=300")
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(small["records"].as_array().unwrap().len(), 300);
    let (_, tiny) = j(s
        .http()
        .get(format!("{}/query", s.data()))
        .query(&[("q", "SELECT Id FROM Account")])
        .header("Sforce-Query-Options", "batchSize=5")
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(tiny["records"].as_array().unwrap().len(), 200);
    let (st, body) = j(s
        .http()
        .get(format!("{}/query/01gNOPE-2000", s.data()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (400, "INVALID_QUERY_LOCATOR"));
    // Aggregate results cannot be paged: more groups than a batch is an error.
    let (st, body) = q(
        &s,
        "query",
        "SELECT Name, COUNT(Id) FROM Account GROUP BY Name",
    );
    assert_eq!((st, code(&body)), (400, "MALFORMED_QUERY"));
    assert!(
        body[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Aggregate query does not support queryMore()")
    );
    let (st, _) = q(
        &s,
        "query",
        "SELECT Name, COUNT(Id) FROM Account GROUP BY Name LIMIT 2000",
    );
    assert_eq!(st, 200);
    // A filtered count over the bulk set.
    let (_, count) = q(
        &s,
        "query",
        "SELECT COUNT() FROM Account WHERE NumberOfEmployees < 100",
    );
    assert_eq!(
        count,
        json!({"totalSize": 100, "done": true, "records": []})
    );
}

#[test]
fn query_all_shows_the_recycle_bin() {
    let s = server();
    let gone = create(&s, "Account", json!({"Name": "Gone"}));
    create(&s, "Account", json!({"Name": "Here"}));
    s.http()
        .delete(format!("{}/sobjects/Account/{gone}", s.data()))
        .bearer(&s)
        .send()
        .unwrap();
    let (_, live) = q(&s, "query", "SELECT Name FROM Account");
    assert_eq!(live["totalSize"], 1);
    let (_, all) = q(
        &s,
        "queryAll",
        "SELECT Name, IsDeleted FROM Account ORDER BY Name",
    );
    assert_eq!(all["totalSize"], 2);
    assert_eq!(
        (
            all["records"][0]["Name"].as_str(),
            all["records"][0]["IsDeleted"].as_bool()
        ),
        (Some("Gone"), Some(true))
    );
}

#[test]
fn shapes_columns_and_errors() {
    let s = server();
    let acct = create(&s, "Account", json!({"Name": "Acme"}));
    create(
        &s,
        "Contact",
        json!({"LastName": "Smith", "AccountId": acct}),
    );
    let (st, body) = q(
        &s,
        "query",
        "select id, lastname, account.name from contact",
    );
    assert_eq!(st, 200);
    let row = &body["records"][0];
    assert_eq!(row["attributes"]["type"], "Contact");
    assert_eq!(row["LastName"], "Smith");
    assert_eq!(row["Account"]["Name"], "Acme");
    assert_eq!(
        row["Account"]["attributes"]["url"],
        format!("/services/data/v59.0/sobjects/Account/{acct}")
    );
    let (_, body) = q(
        &s,
        "query",
        "SELECT Name, (SELECT LastName FROM Contacts) FROM Account",
    );
    assert_eq!(
        body["records"][0]["Contacts"]["records"][0]["LastName"],
        "Smith"
    );
    // The sf CLI's second call.
    let (st, cols) = j(s
        .http()
        .get(format!("{}/query", s.data()))
        .query(&[
            (
                "q",
                "SELECT Id, Parent.Name, (SELECT LastName FROM Contacts) FROM Account",
            ),
            ("columns", "true"),
        ])
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 200, "{cols}");
    let names: Vec<&str> = cols["columnMetadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["columnName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Id", "Parent", "Contacts"]);
    assert_eq!(
        cols["columnMetadata"][1]["joinColumns"][0]["columnName"],
        "Name"
    );
    assert_eq!(cols["columnMetadata"][2]["aggregate"], true);
    assert_eq!(cols["entityName"], "Account");
    let (st, body) = q(&s, "query", "SELECT Id, Name, id FROM Account");
    assert_eq!((st, code(&body)), (400, "MALFORMED_QUERY"));
    assert!(
        body[0]["message"]
            .as_str()
            .unwrap()
            .contains("duplicate field selected: Id")
    );
    for (soql, want) in [
        ("SELECT Id FROM", "MALFORMED_QUERY"),
        ("SELECT Nope FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Nope", "INVALID_TYPE"),
    ] {
        let (st, body) = q(&s, "query", soql);
        assert_eq!((st, code(&body)), (400, want), "{soql}");
        assert!(
            body[0]["message"]
                .as_str()
                .unwrap()
                .contains("ERROR at Row:1:Column:")
        );
    }
    let (st, body) = j(s
        .http()
        .get(format!("{}/query", s.data()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (400, "MALFORMED_QUERY"));
}

#[test]
fn tooling_query_sees_tooling_objects_only() {
    let s = server();
    let (st, body) = q(&s, "tooling/query/", "SELECT Id, Username FROM User");
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["records"][0]["Username"], s.ready.username);
    // The sf CLI probes for a Dev Hub this way and expects a 4xx.
    let (st, body) = q(&s, "tooling/query", "SELECT Id FROM ScratchOrgInfo limit 1");
    assert_eq!((st, code(&body)), (400, "INVALID_TYPE"));
    let (st, _) = q(&s, "tooling/query", "SELECT Id FROM Account");
    assert_eq!(st, 400);
}

#[test]
fn large_child_results_page_on_their_own() {
    let s = server();
    let acct = create(&s, "Account", json!({"Name": "Parent"}));
    for chunk in (0..450).collect::<Vec<_>>().chunks(200) {
        let records: Vec<Value> = chunk.iter().map(|i| json!({"attributes": {"type": "Contact"}, "LastName": format!("Kid {i:03}"), "AccountId": acct})).collect();
        let (st, _) = j(s
            .http()
            .post(format!("{}/composite/sobjects", s.data()))
            .bearer(&s)
            .json(&json!({"allOrNone": true, "records": records}))
            .send()
            .unwrap());
        assert_eq!(st, 200);
    }
    let (st, body) = j(s
        .http()
        .get(format!("{}/query", s.data()))
        .query(&[(
            "q",
            "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account",
        )])
        .header("Sforce-Query-Options", "batchSize=200")
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 200);
    let kids = &body["records"][0]["Contacts"];
    assert_eq!(
        (kids["totalSize"].as_u64(), kids["done"].as_bool()),
        (Some(450), Some(false))
    );
    assert_eq!(kids["records"].as_array().unwrap().len(), 200);
    let mut seen = 200;
    let mut next = kids["nextRecordsUrl"].as_str().map(str::to_owned);
    while let Some(url) = next {
        let (st, page) = j(s
            .http()
            .get(format!("{}{url}", s.base()))
            .bearer(&s)
            .send()
            .unwrap());
        assert_eq!(st, 200);
        if seen == 200 {
            assert_eq!(page["records"][0]["LastName"], "Kid 200");
        }
        seen += page["records"].as_array().unwrap().len();
        next = page["nextRecordsUrl"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, 450);
}

/// A review found: each paged query kept its whole result for 15 minutes (50 queries
/// over a large table took 2 GB). A cursor keeps the ids of its rows, and all cursors
/// together stay within `query_cursor_max_bytes`: past it the least recently used goes,
/// and its locator answers INVALID_QUERY_LOCATOR.
#[test]
fn cursors_are_bounded_by_bytes_and_keep_only_ids() {
    let s = forcebus_testkit::Server::start_with(
        &crate::bin(),
        forcebus_testkit::Options {
            in_memory: true,
            // Room for one cursor of 3,000 ids (15 bytes each), not two.
            config: Some("query_cursor_max_bytes = 60000\n".into()),
            ..Default::default()
        },
    );
    bulk(&s, 3000);
    let (_, first) = q(&s, "query", "SELECT Id, Name FROM Account ORDER BY Name");
    let first_next = first["nextRecordsUrl"].as_str().unwrap().to_owned();
    let (_, second) = q(&s, "query", "SELECT Id FROM Account ORDER BY Name DESC");
    let second_next = second["nextRecordsUrl"].as_str().unwrap().to_owned();
    let get = |url: &str| {
        j(s.http()
            .get(format!("{}{url}", s.base()))
            .bearer(&s)
            .send()
            .unwrap())
    };
    let (st, body) = get(&first_next);
    assert_eq!((st, code(&body)), (400, "INVALID_QUERY_LOCATOR"), "{body}");
    // The newer cursor pages to the end, every row once and in order, shaped when asked.
    let mut names: Vec<String> = second["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_owned())
        .collect();
    let (st, page) = get(&second_next);
    assert_eq!(st, 200, "{page}");
    assert_eq!(page["done"], true);
    assert_eq!(page["totalSize"], 3000);
    names.extend(
        page["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Id"].as_str().unwrap().to_owned()),
    );
    let unique: std::collections::HashSet<_> = names.iter().collect();
    assert_eq!((names.len(), unique.len()), (3000, 3000));
}

/// A record changed after the first page shows its new values on a later page (rows are
/// shaped when their page is asked for); one deleted since is left out.
#[test]
fn later_pages_are_shaped_when_asked_for() {
    let s = server();
    bulk(&s, 2500);
    let (_, first) = q(&s, "query", "SELECT Id, Name FROM Account ORDER BY Name");
    let next = first["nextRecordsUrl"].as_str().unwrap().to_owned();
    let (_, last) = q(
        &s,
        "query",
        "SELECT Id FROM Account ORDER BY Name DESC LIMIT 2",
    );
    let (renamed, deleted) = (
        last["records"][0]["Id"].as_str().unwrap().to_owned(),
        last["records"][1]["Id"].as_str().unwrap().to_owned(),
    );
    let r = s
        .http()
        .patch(format!("{}/sobjects/Account/{renamed}", s.data()))
        .bearer(&s)
        .json(&json!({"Name": "Bulk 99999 renamed"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = s
        .http()
        .delete(format!("{}/sobjects/Account/{deleted}", s.data()))
        .bearer(&s)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let (st, page) = j(s
        .http()
        .get(format!("{}{next}", s.base()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 200, "{page}");
    let rows = page["records"].as_array().unwrap();
    assert_eq!(rows.len(), 499, "the deleted row is left out");
    assert_eq!(rows.last().unwrap()["Name"], "Bulk 99999 renamed");
}
