//! `forcebus load` and `forcebus export`: records in and out of a running server's default
//! org through Bulk API 2.0, as a data loader does (one ingest job per file, one query
//! job per export, results paged with `Sforce-Locator`). On a terminal a progress line
//! (rows, rows/s, ETA) keeps itself current; otherwise one line when the job is done.
//!
//! ```sh
//! forcebus load Account accounts.csv
//! forcebus load Contact contacts.json --upsert External_Id__c
//! forcebus export Account accounts.csv            # every field Bulk can query
//! forcebus export "SELECT Id, Name FROM Contact WHERE LastName LIKE 'A%'" > a.csv
//! ```

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::Value;

use crate::client::bulk::{IngestJob, JobInfo, JobState, QueryJob};
use crate::client::ready::Credential;
use crate::client::rest::{ApiError, Describe};
use crate::client::{Answer, Resolved, exchange};

/// What `forcebus load` reads and how it writes.
#[derive(Debug, Args)]
pub(crate) struct LoadArgs {
    /// The object, e.g. Account.
    object: String,
    /// A CSV file (a header row of field names) or a JSON array of records.
    file: std::path::PathBuf,
    /// Upsert on this external id field instead of inserting.
    #[arg(long, value_name = "FIELD")]
    upsert: Option<String>,
    /// An org made with `forcebus org create` instead of the default one.
    #[arg(long, value_name = "ORG_ID")]
    org: Option<String>,
}

/// What `forcebus export` reads and where it writes.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// An object (every field Bulk API 2.0 can query) or a SOQL query.
    what: String,
    /// The CSV file to write [default: standard output].
    file: Option<std::path::PathBuf>,
    /// Include deleted records (queryAll).
    #[arg(long)]
    all_rows: bool,
    /// An org made with `forcebus org create` instead of the default one.
    #[arg(long, value_name = "ORG_ID")]
    org: Option<String>,
}

/// Largest file `load` reads (Bulk API 2.0 takes 150 MB per upload).
const MAX_UPLOAD: u64 = 150 << 20;
/// Rows of query results asked for per page.
const PAGE_ROWS: usize = 50_000;
/// How often a job is looked at.
const POLL: Duration = Duration::from_millis(200);
/// Longest a job is waited for.
const WAIT: Duration = Duration::from_secs(3_600);

/// The server, its API version and the token.
struct Bulk {
    server: Resolved,
    /// A progress line that rewrites itself (a terminal on standard error).
    live: bool,
}

impl Bulk {
    fn new(data_dir: &Path, org: Option<&str>) -> anyhow::Result<Self> {
        let token = org
            .map(|o| crate::client::org_token(data_dir, o))
            .transpose()?;
        let server = Resolved::find(None, token.as_deref(), Credential::AccessToken, data_dir)?;
        Ok(Self {
            server,
            live: std::io::stderr().is_terminal(),
        })
    }

    /// A call under `/services/data/v{version}`, failing on an error answer.
    fn call(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> anyhow::Result<Answer> {
        let path = format!("/services/data/v{}{path}", self.server.api_version());
        let answer = exchange(
            &self.server.addr,
            method,
            &path,
            &self.server.key,
            content_type,
            body,
        )?;
        if !(200..300).contains(&answer.status) {
            match ApiError::first(&answer.body).and_then(|e| e.coded()) {
                Some(coded) => bail!("{coded}"),
                None => bail!("the server answered {}: {}", answer.status, answer.body),
            }
        }
        Ok(answer)
    }

    /// A call with a JSON body; its JSON answer as `T`.
    fn json<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: &impl Serialize,
    ) -> anyhow::Result<T> {
        let body = serde_json::to_vec(body)?;
        let answer = self.call(method, path, "application/json", &body)?;
        serde_json::from_str(&answer.body).context("the server's answer is not JSON")
    }

    /// Waits for a job to finish, keeping a progress line; its final info.
    fn wait(&self, kind: &str, id: &str, total: Option<u64>) -> anyhow::Result<JobInfo> {
        let start = Instant::now();
        loop {
            // A GET with the body `null`, as this command has always sent it.
            let info: JobInfo = self.json("GET", &format!("/jobs/{kind}/{id}"), &())?;
            if self.live {
                let done = info.number_records_processed;
                eprint!("\r{}", progress(done, total, start.elapsed()));
            }
            if info.ended() {
                if self.live {
                    eprintln!();
                }
                return Ok(info);
            }
            if start.elapsed() > WAIT {
                bail!(
                    "job {id} is still {} after {}s",
                    info.state(),
                    WAIT.as_secs()
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

/// `rows, rows/s, ETA` of a job `elapsed` in.
fn progress(done: u64, total: Option<u64>, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(0.001);
    let rate = done as f64 / secs;
    match total {
        Some(total) if rate > 0.0 && done < total => format!(
            "{done}/{total} rows, {rate:.0} rows/s, ETA {:.0}s   ",
            (total - done) as f64 / rate
        ),
        Some(total) => format!("{done}/{total} rows, {rate:.0} rows/s   "),
        None => format!("{done} rows, {rate:.0} rows/s   "),
    }
}

/// `forcebus load`: one ingest job of the file; its counts, and the first failures.
pub(crate) fn load(args: &LoadArgs, data_dir: &Path) -> anyhow::Result<()> {
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?
        .len();
    if size > MAX_UPLOAD {
        bail!(
            "{} is larger than Bulk API 2.0's {} MB upload",
            args.file.display(),
            MAX_UPLOAD >> 20
        );
    }
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let csv = if args
        .file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        json_to_csv(&text).with_context(|| format!("{}", args.file.display()))?
    } else {
        text
    };
    let rows = csv.lines().count().saturating_sub(1) as u64;
    let bulk = Bulk::new(data_dir, args.org.as_deref())?;
    let job = IngestJob::csv(&args.object, args.upsert.as_deref());
    let created: JobInfo = bulk.json("POST", "/jobs/ingest", &job)?;
    let id = created.id.context("no job id")?;
    let started = Instant::now();
    bulk.call(
        "PUT",
        &format!("/jobs/ingest/{id}/batches"),
        "text/csv",
        csv.replace("\r\n", "\n").as_bytes(),
    )?;
    let _: IgnoredAny = bulk.json(
        "PATCH",
        &format!("/jobs/ingest/{id}"),
        &JobState {
            state: "UploadComplete",
        },
    )?;
    let info = bulk.wait("ingest", &id, Some(rows))?;
    let (processed, failed) = (info.number_records_processed, info.number_records_failed);
    println!(
        "{} job {id} {}: {processed} rows, {failed} failed, {:.0} rows/s",
        info.operation.as_deref().unwrap_or(""),
        info.state(),
        processed as f64 / started.elapsed().as_secs_f64().max(0.001)
    );
    if failed > 0 {
        let failures = bulk.call(
            "GET",
            &format!("/jobs/ingest/{id}/failedResults"),
            "application/json",
            b"",
        )?;
        for line in failures.body.lines().take(6) {
            eprintln!("{line}");
        }
        bail!("{failed} of {rows} rows failed");
    }
    if info.state() != "JobComplete" {
        bail!("{}", info.failure());
    }
    Ok(())
}

/// `forcebus export`: one query job; its CSV, every page, one header row.
pub(crate) fn export(args: &ExportArgs, data_dir: &Path) -> anyhow::Result<()> {
    let bulk = Bulk::new(data_dir, args.org.as_deref())?;
    let soql = if args.what.trim().contains(char::is_whitespace) {
        args.what.clone()
    } else {
        every_field(&bulk, &args.what)?
    };
    let operation = if args.all_rows { "queryAll" } else { "query" };
    let job = QueryJob {
        operation,
        query: &soql,
    };
    let created: JobInfo = bulk.json("POST", "/jobs/query", &job)?;
    let id = created.id.context("no job id")?;
    let info = bulk.wait("query", &id, None)?;
    if info.state() != "JobComplete" {
        bail!("{}", info.failure());
    }
    let mut out: Box<dyn std::io::Write> = match &args.file {
        Some(f) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(f).with_context(|| format!("cannot write {}", f.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut locator: Option<String> = None;
    let mut rows = 0usize;
    loop {
        let mut path = format!("/jobs/query/{id}/results?maxRecords={PAGE_ROWS}");
        if let Some(l) = &locator {
            path.push_str(&format!("&locator={l}"));
        }
        let page = bulk.call("GET", &path, "application/json", b"")?;
        let body = if locator.is_some() {
            // Every page starts with the header row; it is written once.
            page.body.split_once('\n').map_or("", |(_, rest)| rest)
        } else {
            page.body.as_str()
        };
        rows += body.lines().count() - usize::from(locator.is_none());
        out.write_all(body.as_bytes())?;
        match page.header("sforce-locator") {
            Some(l) if l != "null" && !l.is_empty() => locator = Some(l.to_owned()),
            _ => break,
        }
    }
    out.flush()?;
    if let Some(f) = &args.file {
        println!("{rows} rows to {}", f.display());
    }
    Ok(())
}

/// `SELECT` of every field of `object` Bulk API 2.0 can query (no compound fields).
fn every_field(bulk: &Bulk, object: &str) -> anyhow::Result<String> {
    if !object
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        bail!("{object:?} is neither an object nor a SOQL query");
    }
    let answer = bulk.call(
        "GET",
        &format!("/sobjects/{object}/describe"),
        "application/json",
        b"",
    )?;
    let describe: Describe = serde_json::from_str(&answer.body)?;
    let fields: Vec<&str> = describe
        .fields
        .iter()
        .filter(|f| !matches!(f.kind.as_deref(), Some("address" | "location" | "base64")))
        .filter_map(|f| f.name.as_deref())
        .collect();
    Ok(format!("SELECT {} FROM {object}", fields.join(", ")))
}

/// A JSON array of flat records as CSV: a column per field any record has, in order of
/// first appearance; null as empty.
fn json_to_csv(text: &str) -> anyhow::Result<String> {
    let records: Vec<serde_json::Map<String, Value>> =
        serde_json::from_str(text).context("not a JSON array of records")?;
    let mut columns: Vec<&str> = Vec::new();
    for r in &records {
        for k in r.keys().filter(|k| *k != "attributes") {
            if !columns.contains(&k.as_str()) {
                columns.push(k);
            }
        }
    }
    let mut out = columns
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for (i, r) in records.iter().enumerate() {
        let mut cells = Vec::with_capacity(columns.len());
        for c in &columns {
            cells.push(match r.get(*c) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => quote(s),
                Some(Value::Object(_) | Value::Array(_)) => {
                    bail!("record {}: {c} is not a single value", i + 1)
                }
                Some(v) => v.to_string(),
            });
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    Ok(out)
}

/// A CSV cell, quoted when it has a comma, a quote or a line break.
fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_records_become_csv_with_every_field_as_a_column() {
        let csv = json_to_csv(
            r#"[{"Name": "A, Inc", "NumberOfEmployees": 5}, {"Name": "Say \"hi\"", "Phone": null, "Site": "x\ny"}]"#,
        )
        .unwrap();
        assert_eq!(
            csv,
            "Name,NumberOfEmployees,Phone,Site\n\"A, Inc\",5,,\n\"Say \"\"hi\"\"\",,,\"x\ny\"\n"
        );
        assert!(json_to_csv("{}").is_err());
        assert!(json_to_csv(r#"[{"Owner": {"Name": "x"}}]"#).is_err());
    }

    #[test]
    fn progress_shows_rate_and_what_is_left() {
        assert_eq!(
            progress(500, Some(1_000), Duration::from_secs(1)),
            "500/1000 rows, 500 rows/s, ETA 1s   "
        );
        assert_eq!(
            progress(10, None, Duration::from_secs(2)),
            "10 rows, 5 rows/s   "
        );
    }
}
