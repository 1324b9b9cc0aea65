//! Bulk API 2.0: ingest jobs (every operation, dialect, malformed data, states, results),
//! query jobs (paging), and the change events of chunked ingest.

use std::time::{Duration, Instant};

use forcebus_testkit::Server;
use serde_json::{Value, json};

use crate::{Authed, code, create, get, j, live_ids, server};

pub(crate) fn new_job(s: &Server, kind: &str, body: Value) -> Value {
    let (st, job) = j(s
        .http()
        .post(format!("{}/jobs/{kind}", s.data()))
        .bearer(s)
        .json(&body)
        .send()
        .unwrap());
    assert_eq!(st, 200, "{job}");
    job
}

pub(crate) fn upload(s: &Server, id: &str, csv: &str) -> (u16, Value) {
    j(s.http()
        .put(format!("{}/jobs/ingest/{id}/batches", s.data()))
        .bearer(s)
        .header("Content-Type", "text/csv")
        .body(csv.to_owned())
        .send()
        .unwrap())
}

pub(crate) fn patch_state(s: &Server, kind: &str, id: &str, state: &str) -> (u16, Value) {
    j(s.http()
        .patch(format!("{}/jobs/{kind}/{id}", s.data()))
        .bearer(s)
        .json(&json!({"state": state}))
        .send()
        .unwrap())
}

/// Polls a job until it leaves its running states.
pub(crate) fn wait(s: &Server, kind: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, job) = get(s, &format!("/jobs/{kind}/{id}"));
        if matches!(
            job["state"].as_str(),
            Some("JobComplete" | "Failed" | "Aborted")
        ) {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} did not finish: {job}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn csv(s: &Server, path: &str) -> String {
    let r = s
        .http()
        .get(format!("{}{path}", s.data()))
        .bearer(s)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/csv");
    r.text().unwrap()
}

/// A new Account insert job, `Open`: its id.
fn open_insert(s: &Server) -> String {
    let job = new_job(
        s,
        "ingest",
        json!({"object": "Account", "operation": "insert"}),
    );
    job["id"].as_str().unwrap().to_owned()
}

/// Closes ingest job `id` (`UploadComplete`) and waits for its end.
fn close_and_wait(s: &Server, id: &str) -> Value {
    let (st, closed) = patch_state(s, "ingest", id, "UploadComplete");
    assert_eq!(st, 200, "{closed}");
    wait(s, "ingest", id)
}

/// Runs an ingest job over `data` to its end.
fn ingest(s: &Server, body: Value, data: &str) -> Value {
    let job = new_job(s, "ingest", body);
    let id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(job["state"], "Open");
    let (st, _) = upload(s, &id, data);
    assert_eq!(st, 201);
    close_and_wait(s, &id)
}

#[test]
fn insert_update_upsert_delete_and_hard_delete_with_their_results() {
    let s = server();
    let job = ingest(
        &s,
        json!({"object": "Account", "operation": "insert"}),
        "Name,Phone,External_Id__c\nAcme,555,E1\n\"Globex, Inc.\",,E2\n,123,E3\n",
    );
    assert_eq!(job["state"], "JobComplete", "{job}");
    assert_eq!(
        (
            job["numberRecordsProcessed"].as_u64(),
            job["numberRecordsFailed"].as_u64()
        ),
        (Some(3), Some(1))
    );
    let id = job["id"].as_str().unwrap();
    let ok = csv(&s, &format!("/jobs/ingest/{id}/successfulResults"));
    let lines: Vec<&str> = ok.lines().collect();
    assert_eq!(
        lines[0],
        "\"sf__Id\",\"sf__Created\",Name,Phone,External_Id__c"
    );
    assert!(
        lines[1].ends_with(",\"true\",\"Acme\",\"555\",\"E1\""),
        "{ok}"
    );
    let failed = csv(&s, &format!("/jobs/ingest/{id}/failedResults"));
    assert!(failed.contains("\"\",\"REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --\",\"\",\"123\",\"E3\""), "{failed}");
    let accounts = live_ids(&s, "Account");
    assert_eq!(accounts.len(), 2);
    let acme = lines[1]
        .split(',')
        .next()
        .unwrap()
        .trim_matches('"')
        .to_owned();

    let job = ingest(
        &s,
        json!({"object": "Account", "operation": "update"}),
        &format!("Id,Phone\n{acme},999\n001000000000000AAA,1\n"),
    );
    assert_eq!(job["numberRecordsFailed"], 1, "{job}");
    assert_eq!(
        get(&s, &format!("/sobjects/Account/{acme}")).1["Phone"],
        "999"
    );

    let job = ingest(
        &s,
        json!({"object": "Account", "operation": "upsert", "externalIdFieldName": "External_Id__c"}),
        "External_Id__c,Name\nE1,Acme Renamed\nE9,Brand New\n",
    );
    let id = job["id"].as_str().unwrap();
    let ok = csv(&s, &format!("/jobs/ingest/{id}/successfulResults"));
    assert!(ok.contains("\"false\",\"E1\",\"Acme Renamed\""), "{ok}");
    assert!(ok.contains("\"true\",\"E9\",\"Brand New\""), "{ok}");
    assert_eq!(live_ids(&s, "Account").len(), 3);

    let job = ingest(
        &s,
        json!({"object": "Account", "operation": "delete"}),
        &format!("Id\n{acme}\n"),
    );
    assert_eq!(job["numberRecordsFailed"], 0, "{job}");
    let (_, all) = get(
        &s,
        &format!("/queryAll?q=SELECT+Id,IsDeleted+FROM+Account+WHERE+Id='{acme}'"),
    );
    assert_eq!(
        all["records"][0]["IsDeleted"], true,
        "a delete goes to the Recycle Bin"
    );
    let other = live_ids(&s, "Account").into_iter().next().unwrap();
    let job = ingest(
        &s,
        json!({"object": "Account", "operation": "hardDelete"}),
        &format!("Id\n{other}\n"),
    );
    assert_eq!(job["numberRecordsFailed"], 0, "{job}");
    let (_, all) = get(
        &s,
        &format!("/queryAll?q=SELECT+Id+FROM+Account+WHERE+Id='{other}'"),
    );
    assert_eq!(all["totalSize"], 0, "a hard delete skips the Recycle Bin");
}

#[test]
fn every_delimiter_and_line_ending_is_read_and_written_back() {
    let s = server();
    for (name, sep) in [
        ("BACKQUOTE", "`"),
        ("CARET", "^"),
        ("COMMA", ","),
        ("PIPE", "|"),
        ("SEMICOLON", ";"),
        ("TAB", "\t"),
    ] {
        for (ending, nl) in [("LF", "\n"), ("CRLF", "\r\n")] {
            let data = format!("Name{sep}Phone{nl}{name} {ending}{sep}1{nl}");
            let job = ingest(
                &s,
                json!({"object": "Account", "operation": "insert", "columnDelimiter": name, "lineEnding": ending}),
                &data,
            );
            assert_eq!(
                (job["state"].as_str(), job["numberRecordsFailed"].as_u64()),
                (Some("JobComplete"), Some(0)),
                "{name} {ending}: {job}"
            );
            assert_eq!(
                (job["columnDelimiter"].as_str(), job["lineEnding"].as_str()),
                (Some(name), Some(ending))
            );
            let id = job["id"].as_str().unwrap();
            let ok = csv(&s, &format!("/jobs/ingest/{id}/successfulResults"));
            assert!(
                ok.starts_with(&format!(
                    "\"sf__Id\"{sep}\"sf__Created\"{sep}Name{sep}Phone{nl}"
                )),
                "{name} {ending}: {ok:?}"
            );
        }
    }
    assert_eq!(live_ids(&s, "Account").len(), 12);
}

#[test]
fn malformed_uploads_fail_the_job_and_write_nothing() {
    let s = server();
    for (body, data, words) in [
        (
            json!({"object": "Account", "operation": "insert"}),
            "Name,Phone\nA,1\n\"B,2\n",
            "not closed",
        ),
        (
            json!({"object": "Account", "operation": "insert"}),
            "Name,Nope__c\nA,1\n",
            "Field name not found : Nope__c",
        ),
        (
            json!({"object": "Account", "operation": "insert", "lineEnding": "LF"}),
            "Name\r\nA\r\n",
            "LineEnding is invalid",
        ),
        (
            json!({"object": "Account", "operation": "update"}),
            "Name\nA\n",
            "Field name not found : Id",
        ),
    ] {
        let job = ingest(&s, body, data);
        assert_eq!(job["state"], "Failed", "{job}");
        assert!(
            job["errorMessage"].as_str().unwrap().contains(words),
            "{job}"
        );
        let id = job["id"].as_str().unwrap();
        let rest = csv(&s, &format!("/jobs/ingest/{id}/unprocessedrecords"));
        assert_eq!(
            rest.lines().count(),
            data.lines().count(),
            "every row unprocessed: {rest:?}"
        );
    }
    // Invalid UTF-8 and a wrong number of columns.
    let id = open_insert(&s);
    let r = s
        .http()
        .put(format!("{}/jobs/ingest/{id}/batches", s.data()))
        .bearer(&s)
        .header("Content-Type", "text/csv")
        .body(b"Name\nA\n\xff\xfe\n".to_vec())
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let job = close_and_wait(&s, &id);
    assert!(
        job["errorMessage"].as_str().unwrap().contains("UTF-8"),
        "{job}"
    );
    let job = ingest(
        &s,
        json!({"object": "Account", "operation": "insert"}),
        "Name,Phone\nA,1,extra\nB,2\n",
    );
    assert_eq!(
        (
            job["numberRecordsProcessed"].as_u64(),
            job["numberRecordsFailed"].as_u64()
        ),
        (Some(2), Some(1)),
        "{job}"
    );
    assert_eq!(live_ids(&s, "Account").len(), 1, "only the well-formed row");
}

#[test]
fn job_calls_refuse_what_salesforce_refuses() {
    let s = server();
    let (st, body) = j(s
        .http()
        .post(format!("{}/jobs/ingest", s.data()))
        .bearer(&s)
        .json(&json!({"object": "Nope__c", "operation": "insert"}))
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (400, "INVALIDJOB"));
    let (st, body) = j(s
        .http()
        .post(format!("{}/jobs/ingest", s.data()))
        .bearer(&s)
        .json(&json!({"object": "Account", "operation": "upsert"}))
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (400, "INVALIDJOB"));
    assert!(
        body[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("External ID was blank")
    );
    let (st, body) = j(s
        .http()
        .post(format!("{}/jobs/ingest", s.data()))
        .bearer(&s)
        .json(&json!({"object": "Account", "operation": "insert", "columnDelimiter": "DASH"}))
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (400, "INVALIDJOB"));
    let id = open_insert(&s);
    assert_eq!(upload(&s, &id, "Name\nA\n").0, 201);
    let (st, body) = upload(&s, &id, "Name\nB\n");
    assert_eq!(
        (st, code(&body)),
        (400, "INVALIDJOBSTATE"),
        "one upload per job"
    );
    let (st, body) = patch_state(&s, "ingest", &id, "Open");
    assert_eq!((st, code(&body)), (400, "INVALIDJOBSTATE"));
    let (st, body) = get(&s, &format!("/jobs/ingest/{id}/successfulResults"));
    assert_eq!(
        (st, code(&body)),
        (400, "INVALIDJOBSTATE"),
        "no results while open"
    );
    let (st, _) = patch_state(&s, "ingest", &id, "Aborted");
    assert_eq!(st, 200);
    let (st, body) = patch_state(&s, "ingest", &id, "UploadComplete");
    assert_eq!(
        (st, code(&body)),
        (400, "INVALIDJOBSTATE"),
        "an aborted job stays aborted"
    );
    assert!(live_ids(&s, "Account").is_empty());
    let (_, list) = get(&s, "/jobs/ingest");
    assert!(
        list["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == id.as_str())
    );
    let r = s
        .http()
        .delete(format!("{}/jobs/ingest/{id}", s.data()))
        .bearer(&s)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let (st, body) = get(&s, &format!("/jobs/ingest/{id}"));
    assert_eq!((st, code(&body)), (404, "NOT_FOUND"));
    let r = s
        .http()
        .get(format!("{}/jobs/ingest/750000000000000AAA", s.data()))
        .header("Authorization", "Bearer nope")
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[test]
fn query_jobs_page_with_locators() {
    let s = server();
    let rows: String = (0..2500).map(|i| format!("Q{i:05},{i}\n")).collect();
    let job = ingest(
        &s,
        json!({"object": "Account", "operation": "insert"}),
        &format!("Name,NumberOfEmployees\n{rows}"),
    );
    assert_eq!(job["numberRecordsFailed"], 0, "{job}");
    let deleted = create(&s, "Account", json!({"Name": "Gone"}));
    s.http()
        .delete(format!("{}/sobjects/Account/{deleted}", s.data()))
        .bearer(&s)
        .send()
        .unwrap();
    let job = new_job(
        &s,
        "query",
        json!({"operation": "query", "query": "SELECT Name, NumberOfEmployees, Owner.Name FROM Account ORDER BY Name", "columnDelimiter": "PIPE"}),
    );
    assert_eq!(job["state"], "UploadComplete");
    let id = job["id"].as_str().unwrap().to_owned();
    let job = wait(&s, "query", &id);
    assert_eq!(job["numberRecordsProcessed"], 2500, "{job}");
    let mut locator: Option<String> = None;
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    loop {
        // 700 is not a multiple of the index the server keeps every 1,000 rows, so pages
        // start between index entries.
        let mut url = format!("{}/jobs/query/{id}/results?maxRecords=700", s.data());
        if let Some(l) = &locator {
            url.push_str(&format!("&locator={l}"));
        }
        let r = s.http().get(url).bearer(&s).send().unwrap();
        assert_eq!(r.status(), 200);
        let n: usize = r.headers()["sforce-numberofrecords"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let next = r.headers()["sforce-locator"].to_str().unwrap().to_owned();
        let text = r.text().unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("\"Name\"|\"NumberOfEmployees\"|\"Owner.Name\""),
            "every page starts with the header"
        );
        let page: Vec<String> = lines.map(str::to_owned).collect();
        assert_eq!(page.len(), n);
        pages.push(n);
        seen.extend(page);
        if next == "null" {
            break;
        }
        locator = Some(next);
    }
    let want: Vec<String> = (0..2500)
        .map(|i| format!("\"Q{i:05}\"|\"{i}\"|\"Admin User\""))
        .collect();
    assert!(
        seen == want,
        "every row once, in order, and not the deleted one"
    );
    assert_eq!(pages, [700, 700, 700, 400]);
    let job = new_job(
        &s,
        "query",
        json!({"operation": "queryAll", "query": "SELECT Id FROM Account WHERE Name = 'Gone'"}),
    );
    let job = wait(&s, "query", job["id"].as_str().unwrap());
    assert_eq!(
        job["numberRecordsProcessed"], 1,
        "queryAll sees the Recycle Bin: {job}"
    );
    for (q, want) in [
        ("SELECT COUNT() FROM Account", "INVALIDOPERATION"),
        (
            "SELECT Name, (SELECT Id FROM Contacts) FROM Account",
            "INVALIDOPERATION",
        ),
        ("SELECT Nope FROM Account", "INVALIDJOB"),
    ] {
        let (st, body) = j(s
            .http()
            .post(format!("{}/jobs/query", s.data()))
            .bearer(&s)
            .json(&json!({"operation": "query", "query": q}))
            .send()
            .unwrap());
        assert_eq!((st, code(&body)), (400, want), "{q}: {body}");
    }
}

#[test]
fn each_chunk_of_two_hundred_is_one_transaction_with_bulk_origin() {
    let s = server();
    let rows: String = (0..450).map(|i| format!("C{i}\n")).collect();
    let id = open_insert(&s);
    upload(&s, &id, &format!("Name\n{rows}"));
    let job = close_and_wait(&s, &id);
    assert_eq!(job["numberRecordsProcessed"], 450);
    let (_, body) = j(s
        .http()
        .get(format!(
            "{}/forcebus/v1/events?after=0&limit=1000",
            s.base()
        ))
        .bearer(&s)
        .send()
        .unwrap());
    let creates: Vec<&Value> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "AccountChangeEvent")
        .collect();
    assert_eq!(creates.len(), 450);
    let header = |e: &Value| e["event"]["ChangeEventHeader"].clone();
    let mut keys: Vec<String> = creates
        .iter()
        .map(|e| header(e)["transactionKey"].as_str().unwrap().to_owned())
        .collect();
    keys.dedup();
    assert_eq!(keys.len(), 3, "chunks of 200, 200 and 50");
    assert_eq!(
        header(creates[0])["changeOrigin"],
        "com/salesforce/api/bulkapi/59.0"
    );
    assert_eq!(header(creates[199])["sequenceNumber"], 200);
    assert_eq!(header(creates[200])["sequenceNumber"], 1);
}

#[test]
fn a_job_killed_mid_way_resumes_after_its_last_chunk_with_nothing_twice() {
    let mut s = Server::start_with(
        &crate::bin(),
        forcebus_testkit::Options {
            in_memory: false,
            ..Default::default()
        },
    );
    let n = 6000;
    let rows: String = (0..n).map(|i| format!("K{i:05},{i}\n")).collect();
    let id = open_insert(&s);
    assert_eq!(
        upload(&s, &id, &format!("Name,NumberOfEmployees\n{rows}")).0,
        201
    );
    patch_state(&s, "ingest", &id, "UploadComplete");
    // Kill it once some chunks, but not all, have committed.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, job) = get(&s, &format!("/jobs/ingest/{id}"));
        let done = job["numberRecordsProcessed"].as_u64().unwrap();
        if done > 0 {
            assert!(
                done < n,
                "the job finished before it could be killed; make it longer"
            );
            break;
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    s.kill();
    s.restart();
    let job = wait(&s, "ingest", &id);
    assert_eq!(job["state"], "JobComplete", "{job}");
    assert_eq!(
        (
            job["numberRecordsProcessed"].as_u64(),
            job["numberRecordsFailed"].as_u64()
        ),
        (Some(n), Some(0))
    );
    let (_, count) = get(&s, "/query?q=SELECT+COUNT()+FROM+Account");
    assert_eq!(count["totalSize"], n, "every row once");
    let ok = csv(&s, &format!("/jobs/ingest/{id}/successfulResults"));
    let mut names: Vec<&str> = ok
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    assert_eq!(names.len() as u64, n, "one result per row");
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len() as u64, n, "no result twice");
}

#[test]
fn a_ten_thousand_row_upsert_delivers_every_change_event_in_order_to_a_subscriber() {
    use crate::bayeux::{connect, handshake, post};
    let s = server();
    // Half the rows exist already: the upsert updates them and creates the rest.
    let existing: String = (0..5000).map(|i| format!("U{i:05},Old {i}\n")).collect();
    let job = ingest(
        &s,
        json!({"object": "Account", "operation": "insert"}),
        &format!("External_Id__c,Name\n{existing}"),
    );
    assert_eq!(job["numberRecordsFailed"], 0);
    let client = handshake(&s);
    let auth = format!("OAuth {}", s.ready.access_token);
    let sub = post(
        &s,
        Some(&auth),
        "",
        json!([{"channel": "/meta/subscribe", "clientId": client, "subscription": "/data/AccountChangeEvent", "id": "2"}]),
    );
    assert_eq!(sub[0]["successful"], true, "{sub}");
    let rows: String = (0..10_000).map(|i| format!("U{i:05},New {i}\n")).collect();
    let job = ingest(
        &s,
        json!({"object": "Account", "operation": "upsert", "externalIdFieldName": "External_Id__c"}),
        &format!("External_Id__c,Name\n{rows}"),
    );
    assert_eq!(
        (
            job["numberRecordsProcessed"].as_u64(),
            job["numberRecordsFailed"].as_u64()
        ),
        (Some(10_000), Some(0)),
        "{job}"
    );
    let mut events: Vec<Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut n = 10;
    while events.len() < 10_000 {
        assert!(
            Instant::now() < deadline,
            "only {} events arrived",
            events.len()
        );
        n += 1;
        let reply = connect(&s, &client, &n.to_string(), json!({"timeout": 0}));
        events.extend(
            reply
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["channel"] == "/data/AccountChangeEvent")
                .cloned(),
        );
    }
    assert_eq!(events.len(), 10_000, "nothing lost, nothing twice");
    let replay: Vec<u64> = events
        .iter()
        .map(|e| e["data"]["event"]["replayId"].as_u64().unwrap())
        .collect();
    assert!(replay.windows(2).all(|w| w[0] < w[1]), "in replay order");
    let header = |e: &Value| e["data"]["payload"]["ChangeEventHeader"].clone();
    let types: Vec<String> = events
        .iter()
        .map(|e| header(e)["changeType"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types.iter().filter(|t| *t == "UPDATE").count(), 5000);
    assert_eq!(types.iter().filter(|t| *t == "CREATE").count(), 5000);
    let mut keys: Vec<String> = events
        .iter()
        .map(|e| header(e)["transactionKey"].as_str().unwrap().to_owned())
        .collect();
    keys.dedup();
    assert_eq!(keys.len(), 50, "one transaction per 200-row chunk");
    assert!(
        events
            .iter()
            .all(|e| header(e)["changeOrigin"] == "com/salesforce/api/bulkapi/59.0")
    );
}

#[test]
fn an_upload_past_the_limit_is_refused_and_the_job_stays_open_for_another() {
    let s = Server::start_with(
        &crate::bin(),
        forcebus_testkit::Options {
            in_memory: true,
            config: Some("bulk_max_upload_bytes = 1000\n".into()),
            ..Default::default()
        },
    );
    let id = open_insert(&s);
    let big: String = (0..200).map(|i| format!("Row {i}\n")).collect();
    let (st, body) = upload(&s, &id, &format!("Name\n{big}"));
    assert_eq!((st, code(&body)), (400, "EXCEEDEDQUOTA"), "{body}");
    let (_, job) = get(&s, &format!("/jobs/ingest/{id}"));
    assert_eq!(job["state"], "Open");
    assert_eq!(
        upload(&s, &id, "Name\nSmall\n").0,
        201,
        "nothing of the refused upload is kept"
    );
    let job = close_and_wait(&s, &id);
    assert_eq!(job["numberRecordsProcessed"], 1, "{job}");
}

#[test]
fn an_abort_right_after_the_close_is_final() {
    let s = server();
    let rows: String = (0..20_000).map(|i| format!("A{i}\n")).collect();
    let id = open_insert(&s);
    upload(&s, &id, &format!("Name\n{rows}"));
    patch_state(&s, "ingest", &id, "UploadComplete");
    let (st, job) = patch_state(&s, "ingest", &id, "Aborted");
    assert_eq!((st, job["state"].as_str()), (200, Some("Aborted")), "{job}");
    std::thread::sleep(Duration::from_millis(1500));
    let (_, job) = get(&s, &format!("/jobs/ingest/{id}"));
    assert_eq!(
        job["state"], "Aborted",
        "the worker never takes an aborted job back: {job}"
    );
    let processed = job["numberRecordsProcessed"].as_u64().unwrap();
    let (_, count) = get(&s, "/query?q=SELECT+COUNT()+FROM+Account");
    assert_eq!(
        count["totalSize"].as_u64(),
        Some(processed),
        "nothing written past what it reports"
    );
    let rest = csv(&s, &format!("/jobs/ingest/{id}/unprocessedrecords"));
    assert_eq!(
        rest.lines().count() as u64 - 1 + processed,
        20_000,
        "the rest is unprocessed"
    );
}

#[test]
fn failed_rows_keep_the_header_width_and_salesforces_error_text() {
    let s = server();
    let job = ingest(
        &s,
        json!({"object": "Account", "operation": "update"}),
        "Id,Name\n001000000000000AAA,X\n001000000000001AAA,Y,extra\n",
    );
    let id = job["id"].as_str().unwrap();
    let failed = csv(&s, &format!("/jobs/ingest/{id}/failedResults"));
    let lines: Vec<&str> = failed.lines().collect();
    assert_eq!(
        lines[1],
        "\"001000000000000AAA\",\"INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--\",\"001000000000000AAA\",\"X\"",
        "{failed}"
    );
    assert_eq!(
        lines[2].matches("\",\"").count(),
        3,
        "four cells like the header: {failed}"
    );
}

#[test]
fn an_upsert_on_id_inserts_rows_without_one_and_updates_rows_with_one() {
    let s = server();
    let job = ingest(
        &s,
        json!({"object": "Account", "operation": "upsert", "externalIdFieldName": "Id"}),
        "NAME,PHONE\nFirst,1\nSecond,2\n",
    );
    assert_eq!(job["state"], "JobComplete", "{job}");
    assert_eq!(job["numberRecordsFailed"], 0, "{job}");
    let id = job["id"].as_str().unwrap();
    let ok = csv(&s, &format!("/jobs/ingest/{id}/successfulResults"));
    assert_eq!(ok.matches("\"true\"").count(), 2, "both rows are new: {ok}");
    let first = ok.lines().nth(1).unwrap().split(',').next().unwrap();
    let first = first.trim_matches('"').to_owned();

    let job = ingest(
        &s,
        json!({"object": "Account", "operation": "upsert", "externalIdFieldName": "Id"}),
        &format!("Id,Name\n{first},First Renamed\n,Third\n"),
    );
    assert_eq!(job["numberRecordsFailed"], 0, "{job}");
    let id = job["id"].as_str().unwrap();
    let ok = csv(&s, &format!("/jobs/ingest/{id}/successfulResults"));
    assert!(
        ok.contains(&format!("\"false\",\"{first}\",\"First Renamed\"")),
        "{ok}"
    );
    assert!(ok.contains("\"true\",\"\",\"Third\""), "{ok}");
    assert_eq!(live_ids(&s, "Account").len(), 3);
    assert_eq!(
        get(&s, &format!("/sobjects/Account/{first}")).1["Name"],
        "First Renamed"
    );
}

/// A CSV of `Name` rows, `left` bytes of it, made as it is read.
struct Rows {
    left: u64,
    next: u64,
    pending: Vec<u8>,
}

impl std::io::Read for Rows {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() && self.left > 0 {
            if self.pending.is_empty() {
                self.pending = if self.next == 0 {
                    b"Name\n".to_vec()
                } else {
                    format!("Account number {:012}\n", self.next).into_bytes()
                };
                self.next += 1;
            }
            let take = self.pending.len().min(buf.len() - n);
            let take = take.min(usize::try_from(self.left).unwrap_or(usize::MAX));
            buf[n..n + take].copy_from_slice(&self.pending[..take]);
            self.pending.drain(..take);
            self.left -= take as u64;
            n += take;
        }
        Ok(n)
    }
}

fn peak_rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

#[test]
fn a_150_mb_upload_is_refused_at_the_limit_without_being_held_in_memory() {
    let s = server();
    let id = open_insert(&s);
    let before = peak_rss_bytes(s.pid());
    let sent = s
        .http()
        .put(format!("{}/jobs/ingest/{id}/batches", s.data()))
        .bearer(&s)
        .header("Content-Type", "text/csv")
        .body(reqwest::blocking::Body::new(Rows {
            left: 150 * 1024 * 1024,
            next: 0,
            pending: Vec::new(),
        }))
        .send();
    // The client sends all 150 MB before it reads: the server reads the rest, then answers.
    let (st, body) = j(sent.expect("an answer, not a closed connection"));
    assert_eq!((st, code(&body)), (400, "EXCEEDEDQUOTA"), "{body}");
    let grew = peak_rss_bytes(s.pid()).saturating_sub(before);
    assert!(
        grew < 50 * 1024 * 1024,
        "the upload is streamed to disk, not held: peak RSS grew {grew} bytes"
    );
    let (_, job) = get(&s, &format!("/jobs/ingest/{id}"));
    assert_eq!(job["state"], "Open", "{job}");
    let (st, body) = upload(&s, &id, "Name\nSmall\n");
    assert_eq!(st, 201, "{body}");
    let job = close_and_wait(&s, &id);
    assert_eq!(
        job["numberRecordsProcessed"], 1,
        "nothing of the 150 MB: {job}"
    );
}

/// Fields by API version in Bulk API 2.0 as in REST: `ServiceContract.AdditionalDiscount`
/// came in 55.0, so a 54.0 job does not know it (the ingest job fails, the query job is
/// refused) and a 62.0 job does.
#[test]
fn bulk_jobs_see_the_fields_of_their_api_version() {
    let s = server();
    let at = |version: &str, path: &str| format!("{}/services/data/v{version}{path}", s.base());
    let ingest = |version: &str| {
        let (st, job) = j(s
            .http()
            .post(at(version, "/jobs/ingest"))
            .bearer(&s)
            .json(&json!({"object": "ServiceContract", "operation": "insert"}))
            .send()
            .unwrap());
        assert_eq!(st, 200, "{job}");
        let id = job["id"].as_str().unwrap().to_owned();
        let r = s
            .http()
            .put(at(version, &format!("/jobs/ingest/{id}/batches")))
            .bearer(&s)
            .header("Content-Type", "text/csv")
            .body("Name,AdditionalDiscount\nP,5\n")
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let r = s
            .http()
            .patch(at(version, &format!("/jobs/ingest/{id}")))
            .bearer(&s)
            .json(&json!({"state": "UploadComplete"}))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        wait(&s, "ingest", &id)
    };
    let old = ingest("54.0");
    assert_eq!(old["state"], "Failed", "{old}");
    assert_eq!(
        old["errorMessage"],
        "InvalidBatch : Field name not found : AdditionalDiscount"
    );
    let new = ingest("62.0");
    assert_eq!(new["state"], "JobComplete", "{new}");
    assert_eq!(new["numberRecordsProcessed"], 1);
    let query = |version: &str| {
        j(s.http()
            .post(at(version, "/jobs/query"))
            .bearer(&s)
            .json(&json!({"operation": "query", "query": "SELECT Id, AdditionalDiscount FROM ServiceContract"}))
            .send()
            .unwrap())
    };
    let (st, refused) = query("54.0");
    assert_eq!(st, 400, "{refused}");
    assert!(
        refused.to_string().contains("AdditionalDiscount"),
        "{refused}"
    );
    assert_eq!(query("62.0").0, 200);
}
