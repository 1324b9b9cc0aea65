//! Bulk jobs on PostgreSQL move with their org: a job's upload and results are kept in
//! the database beside its progress, so the next server to serve the org resumes a job
//! where its last committed chunk left it and serves the results of jobs another server
//! ran, the same bytes.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use forcebus_testkit::pg::Postgres;
use serde_json::{Value, json};

use super::on_with;
use crate::bulk1::{json_job, send_as};
use crate::bulk2::{csv, new_job, patch_state, upload, wait};
use crate::{get, soql};

/// Rows of the big job: enough chunks that the first server dies in the middle.
const ROWS: usize = 20_000;

#[test]
fn a_bulk_job_resumes_on_the_next_server_and_every_result_reads_the_same() {
    let pg = Postgres::start();
    let url = pg.database();
    let mut first = on_with(&url, 1);

    // Finished on the first server: an ingest job with a failed row, a query job, a Bulk
    // 1.0 batch.
    let small = new_job(
        &first,
        "ingest",
        json!({"object": "Account", "operation": "insert"}),
    );
    let small = small["id"].as_str().unwrap().to_owned();
    let data = "Name,NumberOfEmployees\nKept A,1\nKept B,many\n";
    assert_eq!(upload(&first, &small, data).0, 201);
    patch_state(&first, "ingest", &small, "UploadComplete");
    assert_eq!(wait(&first, "ingest", &small)["state"], "JobComplete");
    let query = new_job(
        &first,
        "query",
        json!({"operation": "query", "query": "SELECT Name FROM Account WHERE Name = 'Kept A'"}),
    );
    let query = query["id"].as_str().unwrap().to_owned();
    assert_eq!(wait(&first, "query", &query)["state"], "JobComplete");
    let token = first.ready.access_token.clone();
    let (classic, batches) = json_job(
        &first,
        &token,
        r#"{"operation":"insert","object":"Contact","contentType":"JSON"}"#,
        &[r#"[{"LastName":"Classic"}]"#],
    );
    let files = |s: &forcebus_testkit::Server| {
        (
            csv(s, &format!("/jobs/ingest/{small}/successfulResults")),
            csv(s, &format!("/jobs/ingest/{small}/failedResults")),
            csv(s, &format!("/jobs/ingest/{small}/unprocessedrecords")),
            csv(s, &format!("/jobs/query/{query}/results")),
            send_as(
                s,
                &token,
                "GET",
                &format!("/job/{classic}/batch/{}/request", batches[0]),
                "application/json",
                "",
            ),
            send_as(
                s,
                &token,
                "GET",
                &format!("/job/{classic}/batch/{}/result", batches[0]),
                "application/json",
                "",
            ),
        )
    };
    let before = files(&first);
    assert_eq!(before.0.lines().count(), 2, "{}", before.0);
    assert_eq!(before.1.lines().count(), 2, "{}", before.1);
    assert!(before.3.contains("Kept A"), "{}", before.3);
    assert_eq!(before.4.1, r#"[{"LastName":"Classic"}]"#);

    // Under way when the first server dies.
    let big = new_job(
        &first,
        "ingest",
        json!({"object": "Account", "operation": "insert"}),
    );
    let big = big["id"].as_str().unwrap().to_owned();
    let mut rows = String::from("Name\n");
    for i in 0..ROWS {
        rows.push_str(&format!("Big {i}\n"));
    }
    assert_eq!(upload(&first, &big, &rows).0, 201);
    patch_state(&first, "ingest", &big, "UploadComplete");
    let deadline = Instant::now() + Duration::from_secs(60);
    let at_kill = loop {
        let (_, job) = get(&first, &format!("/jobs/ingest/{big}"));
        let n = job["numberRecordsProcessed"].as_u64().unwrap_or(0);
        if n >= 1_000 {
            break n;
        }
        assert!(Instant::now() < deadline, "the job did not start: {job}");
        std::thread::sleep(Duration::from_millis(5));
    };
    first.kill();
    assert!(
        at_kill < ROWS as u64,
        "the job ended before the kill ({at_kill} rows)"
    );

    let mut next = on_with(&url, 1);
    next.ready.access_token.clone_from(&token);
    // What the first server finished reads the same, byte for byte.
    assert_eq!(files(&next), before);
    let done = wait(&next, "ingest", &big);
    assert_eq!(done["state"], "JobComplete", "{done}");
    assert_eq!(done["numberRecordsProcessed"], ROWS, "{done}");
    assert_eq!(done["numberRecordsFailed"], 0, "{done}");
    let ok = csv(&next, &format!("/jobs/ingest/{big}/successfulResults"));
    let mut lines = ok.lines();
    assert_eq!(lines.next(), Some("\"sf__Id\",\"sf__Created\",Name"));
    let names: BTreeSet<String> = lines
        .map(|l| l.rsplit(',').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        ok.lines().count(),
        ROWS + 1,
        "every row once, after one header"
    );
    assert_eq!(names.len(), ROWS, "no row twice");
    let (st, count) = soql(&next, "SELECT COUNT() FROM Account WHERE Name LIKE 'Big %'");
    assert_eq!(st, 200, "{count}");
    assert_eq!(
        count["totalSize"],
        Value::from(ROWS),
        "each row inserted once"
    );

    // The first server back on its own data dir, which still holds the big job's results
    // as they were when it died: it serves what the next one wrote, not its stale copy.
    next.kill();
    // As if it had written a chunk's results it never committed before it died.
    let stale = find(first.dir(), &format!("{big}/success.csv")).expect("the first server's copy");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&stale)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"\"uncommitted\",true,Stale\n"))
        .unwrap();
    first.restart();
    first.ready.access_token.clone_from(&token);
    assert_eq!(
        csv(&first, &format!("/jobs/ingest/{big}/successfulResults")),
        ok
    );
    assert_eq!(files(&first), before);
}

/// The file under `dir` whose path ends with `tail`.
fn find(dir: &std::path::Path, tail: &str) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        if path.to_string_lossy().ends_with(tail) {
            return Some(path);
        }
        if let Some(found) = path.is_dir().then(|| find(&path, tail)).flatten() {
            return Some(found);
        }
    }
    None
}
