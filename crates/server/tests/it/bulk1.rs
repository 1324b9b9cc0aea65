//! Bulk API 1.0: jobs and batches in CSV (with XML job info, as jsforce sends), JSON (as
//! simple-salesforce sends) and XML, query batches, and the errors in Bulk 1.0's envelope.

use std::time::{Duration, Instant};

use forcebus_testkit::Server;
use serde_json::{Value, json};

use crate::{get, live_ids, server};

fn base(s: &Server) -> String {
    format!("{}/services/async/59.0", s.base())
}

fn send(s: &Server, method: &str, path: &str, content_type: &str, body: &str) -> (u16, String) {
    send_as(s, &s.ready.access_token, method, path, content_type, body)
}

/// A Bulk API 1.0 call with `token` in `X-SFDC-Session`: status and body.
pub(crate) fn send_as(
    s: &Server,
    token: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, String) {
    let r = s
        .http()
        .request(method.parse().unwrap(), format!("{}{path}", base(s)))
        .header("X-SFDC-Session", token)
        .header("Content-Type", content_type)
        .body(body.to_owned())
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

/// A JSON job of `token`'s org (`job` its JSON jobInfo) with one batch per `batches`,
/// closed, every batch `Completed`: the job's id and the batches'.
pub(crate) fn json_job(
    s: &Server,
    token: &str,
    job: &str,
    batches: &[&str],
) -> (String, Vec<String>) {
    let call = |method: &str, path: &str, body: &str| -> Value {
        let (st, text) = send_as(s, token, method, path, "application/json", body);
        assert!(st < 300, "{method} {path}: {st} {text}");
        serde_json::from_str(&text).unwrap()
    };
    let job = call("POST", "/job", job)["id"].as_str().unwrap().to_owned();
    let ids: Vec<String> = batches
        .iter()
        .map(|b| {
            call("POST", &format!("/job/{job}/batch"), b)["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    call("POST", &format!("/job/{job}"), r#"{"state":"Closed"}"#);
    for batch in &ids {
        let info: Value =
            serde_json::from_str(&wait_batch_as(s, token, &job, batch, true)).unwrap();
        assert_eq!(info["state"], "Completed", "{info}");
    }
    (job, ids)
}

/// The text of the first `<name>` element.
fn xml(text: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("no <{name}> in {text}"))
        + open.len();
    let end = text[start..].find(&format!("</{name}>")).unwrap() + start;
    text[start..end].to_owned()
}

fn wait_batch(s: &Server, job: &str, batch: &str, json: bool) -> String {
    wait_batch_as(s, &s.ready.access_token, job, batch, json)
}

fn wait_batch_as(s: &Server, token: &str, job: &str, batch: &str, json: bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ct = if json {
            "application/json"
        } else {
            "application/xml"
        };
        let (_, info) = send_as(
            s,
            token,
            "GET",
            &format!("/job/{job}/batch/{batch}"),
            ct,
            "",
        );
        let state = if json {
            serde_json::from_str::<Value>(&info).unwrap()["state"]
                .as_str()
                .unwrap()
                .to_owned()
        } else {
            xml(&info, "state")
        };
        if matches!(state.as_str(), "Completed" | "Failed" | "NotProcessed") {
            return info;
        }
        assert!(
            Instant::now() < deadline,
            "batch {batch} did not finish: {info}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

const JOB_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload">
  <operation>insert</operation>
  <object>Account</object>

  <contentType>CSV</contentType>
</jobInfo>"#;

#[test]
fn a_csv_job_with_xml_job_info_as_jsforce_sends_it() {
    let s = server();
    let (st, job) = send(
        &s,
        "POST",
        "/job",
        "application/xml; charset=utf-8",
        JOB_XML,
    );
    assert_eq!(st, 201, "{job}");
    assert!(
        job.contains("<jobInfo xmlns=\"http://www.force.com/2009/06/asyncapi/dataload\">"),
        "{job}"
    );
    assert_eq!(xml(&job, "state"), "Open");
    assert_eq!(xml(&job, "contentType"), "CSV");
    let id = xml(&job, "id");
    assert!(id.starts_with("750"));
    let (st, batch) = send(
        &s,
        "POST",
        &format!("/job/{id}/batch"),
        "text/csv",
        "Name,Phone\nOne,1\n,2\nThree,3\n",
    );
    assert_eq!(st, 201, "{batch}");
    let batch_id = xml(&batch, "id");
    assert!(batch_id.starts_with("751"), "{batch}");
    let (st, closed) = send(
        &s,
        "POST",
        &format!("/job/{id}"),
        "application/xml",
        "<jobInfo xmlns=\"http://www.force.com/2009/06/asyncapi/dataload\"><state>Closed</state></jobInfo>",
    );
    assert_eq!((st, xml(&closed, "state")), (200, "Closed".into()));
    let info = wait_batch(&s, &id, &batch_id, false);
    assert_eq!(xml(&info, "state"), "Completed", "{info}");
    assert_eq!(
        (
            xml(&info, "numberRecordsProcessed"),
            xml(&info, "numberRecordsFailed")
        ),
        ("3".into(), "1".into())
    );
    let r = s
        .http()
        .get(format!("{}/job/{id}/batch/{batch_id}/result", base(&s)))
        .header("X-SFDC-Session", &s.ready.access_token)
        .send()
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/csv");
    let text = r.text().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "\"Id\",\"Success\",\"Created\",\"Error\"");
    assert!(lines[1].ends_with(",\"true\",\"true\",\"\""), "{text}");
    assert!(
        lines[2].starts_with("\"\",\"false\",\"false\",\"REQUIRED_FIELD_MISSING:"),
        "input order kept: {text}"
    );
    assert!(lines[3].ends_with(",\"true\",\"true\",\"\""));
    let (_, job) = send(&s, "GET", &format!("/job/{id}"), "application/xml", "");
    assert_eq!(
        (
            xml(&job, "numberBatchesCompleted"),
            xml(&job, "numberRecordsProcessed")
        ),
        ("1".into(), "3".into())
    );
    let (_, list) = send(
        &s,
        "GET",
        &format!("/job/{id}/batch"),
        "application/xml",
        "",
    );
    assert!(
        list.starts_with("<?xml") && list.contains("<batchInfoList") && list.contains(&batch_id),
        "{list}"
    );
    let (_, request) = send(
        &s,
        "GET",
        &format!("/job/{id}/batch/{batch_id}/request"),
        "application/xml",
        "",
    );
    assert_eq!(request, "Name,Phone\nOne,1\n,2\nThree,3\n");
    let (st, err) = send(
        &s,
        "POST",
        &format!("/job/{id}/batch"),
        "text/csv",
        "Name\nLate\n",
    );
    assert_eq!(
        (st, xml(&err, "exceptionCode")),
        (400, "InvalidJobState".into()),
        "a closed job takes no batch"
    );
    assert_eq!(live_ids(&s, "Account").len(), 2);
}

#[test]
fn a_json_job_as_simple_salesforce_sends_it() {
    let s = server();
    create_account_with_ext(&s);
    let (st, job) = send(
        &s,
        "POST",
        "/job",
        "application/json",
        r#"{"operation": "upsert", "object": "Account", "externalIdFieldName": "External_Id__c", "contentType": "JSON", "concurrencyMode": 0}"#,
    );
    assert_eq!(st, 201, "{job}");
    let job: Value = serde_json::from_str(&job).unwrap();
    assert_eq!(
        (job["state"].as_str(), job["concurrencyMode"].as_str()),
        (Some("Open"), Some("Parallel"))
    );
    assert_eq!(job["apiVersion"], json!(59.0));
    let id = job["id"].as_str().unwrap().to_owned();
    let records = json!([
        {"External_Id__c": "X1", "Name": "Updated"},
        {"External_Id__c": "X2", "Name": "Created"},
        {"External_Id__c": "X3"},
    ]);
    let (st, batch) = send(
        &s,
        "POST",
        &format!("/job/{id}/batch"),
        "application/json",
        &records.to_string(),
    );
    assert_eq!(st, 201, "{batch}");
    let batch: Value = serde_json::from_str(&batch).unwrap();
    let batch_id = batch["id"].as_str().unwrap().to_owned();
    wait_batch(&s, &id, &batch_id, true);
    let (_, results) = send(
        &s,
        "GET",
        &format!("/job/{id}/batch/{batch_id}/result"),
        "application/json",
        "",
    );
    let results: Value = serde_json::from_str(&results).unwrap();
    assert_eq!(results[0]["created"], false, "{results}");
    assert_eq!(results[1]["created"], true);
    assert_eq!(results[2]["success"], false);
    assert_eq!(
        results[2]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING",
        "{results}"
    );
    assert_eq!(results[2]["errors"][0]["fields"], json!(["Name"]));
    let (st, _) = send(
        &s,
        "POST",
        &format!("/job/{id}"),
        "application/json",
        r#"{"state": "Closed"}"#,
    );
    assert_eq!(st, 200);
    let (st, err) = send(
        &s,
        "POST",
        &format!("/job/{id}/batch"),
        "application/json",
        "[]",
    );
    let err: Value = serde_json::from_str(&err).unwrap();
    assert_eq!(
        (st, err["exceptionCode"].as_str()),
        (400, Some("InvalidJobState"))
    );
}

fn create_account_with_ext(s: &Server) {
    crate::create(
        s,
        "Account",
        json!({"Name": "Before", "External_Id__c": "X1"}),
    );
}

#[test]
fn xml_batches_query_batches_and_errors() {
    let s = server();
    let (_, job) = send(
        &s,
        "POST",
        "/job",
        "application/xml",
        &JOB_XML.replace("CSV", "XML"),
    );
    let id = xml(&job, "id");
    let records = r#"<?xml version="1.0" encoding="UTF-8"?><sObjects xmlns="http://www.force.com/2009/06/asyncapi/dataload"><sObject><Name>X &amp; Co</Name></sObject><sObject><Phone>1</Phone></sObject></sObjects>"#;
    let (_, batch) = send(
        &s,
        "POST",
        &format!("/job/{id}/batch"),
        "application/xml",
        records,
    );
    let batch_id = xml(&batch, "id");
    wait_batch(&s, &id, &batch_id, false);
    let (_, results) = send(
        &s,
        "GET",
        &format!("/job/{id}/batch/{batch_id}/result"),
        "application/xml",
        "",
    );
    assert!(
        results.contains(
            "<results xmlns=\"http://www.force.com/2009/06/asyncapi/dataload\"><result><id>001"
        ),
        "{results}"
    );
    assert!(
        results.contains("<statusCode>REQUIRED_FIELD_MISSING</statusCode>"),
        "{results}"
    );

    let query_job = JOB_XML.replace(
        "<operation>insert</operation>",
        "<operation>query</operation>",
    );
    let (_, job) = send(&s, "POST", "/job", "application/xml", &query_job);
    let qid = xml(&job, "id");
    let (st, batch) = send(
        &s,
        "POST",
        &format!("/job/{qid}/batch"),
        "text/csv",
        "SELECT Id, Name FROM Account",
    );
    assert_eq!(st, 201, "{batch}");
    let qbatch = xml(&batch, "id");
    wait_batch(&s, &qid, &qbatch, false);
    let (_, list) = send(
        &s,
        "GET",
        &format!("/job/{qid}/batch/{qbatch}/result"),
        "application/xml",
        "",
    );
    let rid = xml(&list, "result");
    assert!(
        rid.starts_with("752") && list.contains("<result-list"),
        "{list}"
    );
    let (_, rows) = send(
        &s,
        "GET",
        &format!("/job/{qid}/batch/{qbatch}/result/{rid}"),
        "application/xml",
        "",
    );
    assert!(
        rows.starts_with("\"Id\",\"Name\"\n") && rows.contains("\"X & Co\""),
        "{rows}"
    );

    let (st, body) = send(&s, "POST", &format!("/job/{id}/batch"), "text/csv", "");
    assert_eq!(
        (st, xml(&body, "exceptionCode")),
        (400, "ClientInputError".into()),
        "an empty batch"
    );
    let r = s
        .http()
        .post(format!("{}/job", base(&s)))
        .header("X-SFDC-Session", "invalid")
        .header("Content-Type", "application/xml")
        .body(JOB_XML)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .unwrap()
            .contains("<exceptionCode>InvalidSessionId</exceptionCode>"),
        "jsforce relogs on exactly this"
    );
    let (st, body) = send(
        &s,
        "POST",
        "/job",
        "application/xml",
        &JOB_XML.replace("Account", "Nope__c"),
    );
    assert_eq!(
        (st, xml(&body, "exceptionCode")),
        (400, "InvalidJob".into())
    );
    let (st, body) = send(&s, "GET", "/job/750000000000000AAA", "application/xml", "");
    assert_eq!(
        (st, xml(&body, "exceptionCode")),
        (400, "InvalidJob".into())
    );
    let (st, body) = send(
        &s,
        "POST",
        "/job",
        "application/xml",
        "<jobInfo><operation>upsert</operation><object>Account</object><contentType>CSV</contentType></jobInfo>",
    );
    assert_eq!(st, 400);
    assert!(
        xml(&body, "exceptionMessage").starts_with("External ID was blank"),
        "{body}"
    );
    let (st, aborted) = send(
        &s,
        "POST",
        &format!("/job/{id}"),
        "application/xml",
        "<jobInfo><state>Aborted</state></jobInfo>",
    );
    assert_eq!((st, xml(&aborted, "state")), (200, "Aborted".into()));
    let (_, lim) = get(&s, "/limits");
    assert!(
        lim["DailyBulkApiBatches"]["Remaining"].as_u64()
            < lim["DailyBulkApiBatches"]["Max"].as_u64(),
        "{lim}"
    );
}

#[test]
fn a_csv_batch_is_read_with_its_own_line_ending() {
    let s = server();
    let (_, job) = send(&s, "POST", "/job", "application/xml", JOB_XML);
    let id = xml(&job, "id");
    let (_, batch) = send(
        &s,
        "POST",
        &format!("/job/{id}/batch"),
        "text/csv",
        "Name,NumberOfEmployees\r\nWin #1,1\r\nWin #2,2\r\n",
    );
    let batch_id = xml(&batch, "id");
    let info = wait_batch(&s, &id, &batch_id, false);
    assert_eq!(
        (xml(&info, "state"), xml(&info, "numberRecordsFailed")),
        ("Completed".into(), "0".into()),
        "{info}"
    );
    let (_, results) = send(
        &s,
        "GET",
        &format!("/job/{id}/batch/{batch_id}/result"),
        "application/xml",
        "",
    );
    assert_eq!(
        results.lines().count(),
        3,
        "a header and two rows: {results:?}"
    );
    let too_many: String = (0..10_001).map(|i| format!("Many {i}\n")).collect();
    let (_, batch) = send(
        &s,
        "POST",
        &format!("/job/{id}/batch"),
        "text/csv",
        &format!("Name\n{too_many}"),
    );
    assert_eq!(xml(&batch, "state"), "Failed", "{batch}");
    assert!(xml(&batch, "stateMessage").contains("10000"), "{batch}");
}

/// Salesforce answers a job resource in the request's own format and a batch resource in
/// the job's: a JSON client (a Singer tap) that makes a CSV job gets its jobInfo in JSON,
/// and its batchInfo, batchInfoList and result list in XML, whatever its `Content-Type`.
/// Every pairing of the job's `contentType` and the request's. A query job may read any
/// object the REST API queries, `Organization` among them.
#[test]
fn job_resources_answer_as_the_request_batch_resources_as_the_job() {
    let s = server();
    let is_json = |text: &str| text.trim_start().starts_with(['{', '[']);
    let is_xml = |text: &str| text.starts_with("<?xml");
    for content_type in ["CSV", "XML", "JSON"] {
        let job_json = content_type == "JSON";
        let (st, job) = send(
            &s,
            "POST",
            "/job",
            "application/json",
            &format!(
                r#"{{"operation":"query","object":"Organization","contentType":"{content_type}"}}"#
            ),
        );
        assert_eq!(st, 201, "{job}");
        let job: Value = serde_json::from_str(&job).unwrap_or_else(|e| panic!("{e}: {job}"));
        assert_eq!(
            (job["contentType"].as_str(), job["object"].as_str()),
            (Some(content_type), Some("Organization"))
        );
        let id = job["id"].as_str().unwrap().to_owned();
        // The job resource: in the request's format.
        let (st, read) = send(&s, "GET", &format!("/job/{id}"), "application/json", "");
        assert_eq!(st, 200);
        assert_eq!(
            serde_json::from_str::<Value>(&read).unwrap()["id"],
            id.as_str()
        );
        let (st, read) = send(&s, "GET", &format!("/job/{id}"), "application/xml", "");
        assert_eq!(st, 200);
        assert_eq!(xml(&read, "id"), id);
        let mut batch = None;
        for request in ["application/json", "application/xml", "text/csv"] {
            let what = format!("{content_type} job, {request} request");
            let (st, added) = send(
                &s,
                "POST",
                &format!("/job/{id}/batch"),
                request,
                "SELECT Id, Name FROM Organization",
            );
            assert_eq!(st, 201, "{what}: {added}");
            assert!(
                if job_json {
                    is_json(&added)
                } else {
                    is_xml(&added)
                },
                "{what}: {added}"
            );
            let batch_id = if job_json {
                serde_json::from_str::<Value>(&added).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            } else {
                xml(&added, "id")
            };
            let info = wait_batch(&s, &id, &batch_id, job_json);
            for read in [
                format!("/job/{id}/batch/{batch_id}"),
                format!("/job/{id}/batch"),
                format!("/job/{id}/batch/{batch_id}/result"),
            ] {
                let (st, text) = send(&s, "GET", &read, request, "");
                assert_eq!(st, 200, "{what}, {read}: {text}");
                assert!(
                    if job_json {
                        is_json(&text)
                    } else {
                        is_xml(&text)
                    },
                    "{what}, {read}: {text}"
                );
            }
            // An error about a batch: in the job's format too.
            let (st, text) = send(
                &s,
                "GET",
                &format!("/job/{id}/batch/751000000000000AAA"),
                request,
                "",
            );
            assert_eq!(st, 400, "{what}: {text}");
            assert!(
                if job_json {
                    is_json(&text)
                } else {
                    is_xml(&text)
                },
                "{what}: {text}"
            );
            batch = Some((batch_id, info));
        }
        let (batch_id, info) = batch.unwrap();
        let processed = if job_json {
            serde_json::from_str::<Value>(&info).unwrap()["numberRecordsProcessed"].to_string()
        } else {
            xml(&info, "numberRecordsProcessed")
        };
        assert_eq!(processed, "1", "{info}");
        // The results themselves: in the job's format, by the result id the list names.
        let (_, list) = send(
            &s,
            "GET",
            &format!("/job/{id}/batch/{batch_id}/result"),
            "application/json",
            "",
        );
        let rid = if job_json {
            serde_json::from_str::<Value>(&list).unwrap()[0]
                .as_str()
                .unwrap()
                .to_owned()
        } else {
            xml(&list, "result")
        };
        let r = s
            .http()
            .get(format!(
                "{}/job/{id}/batch/{batch_id}/result/{rid}",
                base(&s)
            ))
            .header("X-SFDC-Session", &s.ready.access_token)
            .header("Content-Type", "application/json")
            .send()
            .unwrap();
        let expected = match content_type {
            "CSV" => "text/csv",
            "XML" => "application/xml",
            _ => "application/json",
        };
        assert_eq!(r.headers()["content-type"], expected);
        let (st, closed) = send(
            &s,
            "POST",
            &format!("/job/{id}"),
            "application/json",
            r#"{"state":"Closed"}"#,
        );
        assert_eq!(st, 200, "{closed}");
        assert_eq!(
            serde_json::from_str::<Value>(&closed).unwrap()["state"],
            "Closed"
        );
    }
}
