//! Bulk API 2.0 over REST (`data-apis.md` §1): `/jobs/ingest` and `/jobs/query`, their job
//! info, the CSV upload (streamed to disk, never held), the result CSVs (streamed out) and
//! the query result pages with `Sforce-Locator` and `Sforce-NumberOfRecords`. The jobs
//! themselves are `forcebus-bulk`'s; this module is their wire form.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use forcebus_bulk::DAILY_QUERY_JOBS;
use forcebus_bulk::results::{Which, download};
use forcebus_bulk::{BulkError, Job, JobType, Kind, NewJob, State as JobState};

use crate::ctx::Call;
use crate::error::{ApiError, json_response};

fn datetime(t: chrono::DateTime<chrono::Utc>) -> String {
    forcebus_org::clock::format_datetime(t)
}

/// A job as Bulk API 2.0 shows it.
pub(crate) fn info(job: &Job) -> Value {
    let ingest = job.job_type == JobType::V2Ingest;
    let p = &job.progress;
    let info = JobInfo {
        id: &job.id,
        operation: job.operation.name(),
        object: &job.object,
        created_by_id: &job.created_by,
        created_date: datetime(job.created),
        system_modstamp: datetime(job.modified),
        state: job.state.name(),
        concurrency_mode: "Parallel",
        content_type: "CSV",
        api_version: job.api_version.parse().unwrap_or(59.0),
        job_type: if job.job_type == JobType::V2Query {
            "V2Query"
        } else {
            "V2Ingest"
        },
        line_ending: &job.line_ending,
        column_delimiter: &job.delimiter,
        content_url: (ingest && job.state == JobState::Open).then(|| {
            format!(
                "services/data/v{}/jobs/ingest/{}/batches",
                job.api_version, job.id
            )
        }),
        external_id_field_name: job.external_id_field.as_deref(),
        assignment_rule_id: job.assignment_rule_id.as_deref(),
        number_records_processed: p.processed,
        number_records_failed: ingest.then_some(p.failed),
        retries: 0,
        total_processing_time: p.processing_ms,
        api_active_processing_time: ingest.then_some(p.processing_ms),
        apex_processing_time: ingest.then_some(0),
        is_pk_chunking_supported: (!ingest).then_some(false),
        error_message: job.error.as_deref(),
    };
    serde_json::to_value(info).unwrap_or(Value::Null)
}

/// A Bulk API 2.0 job's info, in Salesforce's key order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JobInfo<'a> {
    id: &'a str,
    operation: &'a str,
    object: &'a str,
    created_by_id: &'a str,
    created_date: String,
    system_modstamp: String,
    state: &'a str,
    concurrency_mode: &'a str,
    content_type: &'a str,
    api_version: f64,
    job_type: &'a str,
    line_ending: &'a str,
    column_delimiter: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id_field_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignment_rule_id: Option<&'a str>,
    number_records_processed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    number_records_failed: Option<u64>,
    retries: u32,
    total_processing_time: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_active_processing_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    apex_processing_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_pk_chunking_supported: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'a str>,
}

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn new_job(m: &Map<String, Value>) -> NewJob {
    NewJob {
        object: text(m, "object").unwrap_or_default(),
        operation: text(m, "operation").unwrap_or_default(),
        external_id_field: text(m, "externalIdFieldName"),
        query: text(m, "query"),
        delimiter: text(m, "columnDelimiter"),
        line_ending: text(m, "lineEnding"),
        assignment_rule_id: text(m, "assignmentRuleId"),
        content_type: text(m, "contentType"),
        concurrency: None,
    }
}

/// Runs blocking bulk work off the async workers.
async fn run<T: Send + 'static>(
    app: &crate::State,
    f: impl FnOnce(&forcebus_bulk::Bulk) -> Result<T, BulkError> + Send + 'static,
) -> Result<T, ApiError> {
    let bulk = app.bulk.clone();
    crate::blocking(move || f(&bulk))
        .await?
        .map_err(ApiError::from)
}

fn job_type(kind: &str) -> JobType {
    if kind == "query" {
        JobType::V2Query
    } else {
        JobType::V2Ingest
    }
}

/// `POST /jobs/ingest` and `POST /jobs/query`.
pub(crate) async fn create(
    call: Call,
    State(app): State<crate::State>,
    Path((_, kind)): Path<(String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let m = crate::body::object(&headers, &bytes)?;
    let new = new_job(&m);
    let job_type = job_type(&kind);
    if job_type == JobType::V2Query && app.bulk.query_jobs_today() >= DAILY_QUERY_JOBS {
        return Err(ApiError::from(BulkError::new(
            Kind::ExceededQuota,
            format!("Daily limit of {DAILY_QUERY_JOBS} Bulk API 2.0 query jobs exceeded"),
        )));
    }
    let caller = forcebus_org::Caller {
        api: forcebus_org::Api::Bulk,
        ..call.caller()
    };
    let job = run(&app, move |b| b.create(new, job_type, &caller)).await?;
    Ok(json_response(StatusCode::OK, &info(&job)))
}

fn check_type(job: &Job, kind: &str) -> Result<(), ApiError> {
    if job.job_type == job_type(kind) {
        Ok(())
    } else {
        Err(ApiError::from(BulkError::not_found()))
    }
}

/// `GET /jobs/{ingest|query}/{id}`.
pub(crate) async fn get_job(
    _call: Call,
    State(app): State<crate::State>,
    Path((_, kind, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let job = app.bulk.get(&id)?;
    check_type(&job, &kind)?;
    Ok(json_response(StatusCode::OK, &info(&job)))
}

/// `PATCH /jobs/{ingest|query}/{id}` with `{"state": "UploadComplete" | "Aborted"}`.
pub(crate) async fn patch_job(
    _call: Call,
    State(app): State<crate::State>,
    Path((_, kind, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let job = app.bulk.get(&id)?;
    check_type(&job, &kind)?;
    let m = crate::body::object(&headers, &bytes)?;
    let want = match text(&m, "state").as_deref() {
        Some("UploadComplete") if kind == "ingest" => JobState::UploadComplete,
        Some("Aborted") => JobState::Aborted,
        other => {
            return Err(ApiError::from(BulkError::new(
                Kind::InvalidJobState,
                format!("Invalid state: {}", other.unwrap_or("(none)")),
            )));
        }
    };
    let job = run(&app, move |b| b.set_state(&id, want)).await?;
    Ok(json_response(StatusCode::OK, &info(&job)))
}

/// `DELETE /jobs/{ingest|query}/{id}`.
pub(crate) async fn delete_job(
    _call: Call,
    State(app): State<crate::State>,
    Path((_, kind, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let job = app.bulk.get(&id)?;
    check_type(&job, &kind)?;
    run(&app, move |b| b.delete(&id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /jobs/{ingest|query}`: every job of the kind, in one page.
pub(crate) async fn list(
    _call: Call,
    State(app): State<crate::State>,
    Path((_, kind)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let kind = job_type(&kind);
    let jobs = run(&app, move |b| Ok(b.list(&[kind]))).await?;
    let page = JobPage {
        done: true,
        records: jobs.iter().map(info).collect(),
        next_records_url: None,
    };
    Ok(json_response(StatusCode::OK, &page))
}

/// A page of jobs: every one, so no next page (`nextRecordsUrl` is `null`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct JobPage {
    done: bool,
    records: Vec<Value>,
    next_records_url: Option<String>,
}

/// `PUT /jobs/ingest/{id}/batches`: the job's one CSV upload, streamed to disk; 201.
pub(crate) async fn upload(
    _call: Call,
    State(app): State<crate::State>,
    Path((_, kind, id)): Path<(String, String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    if kind != "ingest" {
        return Err(ApiError::not_found());
    }
    use futures_util::StreamExt as _;
    let mut upload = app.bulk.clone().begin_upload_owned(&id)?;
    let mut stream = req.into_body().into_data_stream();
    let cut_off = || {
        ApiError::from(BulkError::new(
            Kind::ClientInputError,
            "The upload was cut off before its end",
        ))
    };
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(|_| cut_off())?;
        if let Err(e) = tokio::task::block_in_place(|| upload.write(&piece)) {
            drop(upload);
            drain(&mut stream, app.bulk.max_upload_bytes()).await;
            return Err(e.into());
        }
    }
    tokio::task::block_in_place(|| upload.finish())?;
    Ok(StatusCode::CREATED.into_response())
}

/// Reads and drops up to `most` more bytes of a refused upload, so that a client that
/// sends its whole body before reading the answer (most do) reads the error rather than
/// a closed connection; past that the connection closes.
async fn drain(
    stream: &mut (impl futures_util::Stream<Item = Result<Bytes, axum::Error>> + Unpin),
    most: u64,
) {
    use futures_util::StreamExt as _;
    let mut read = 0u64;
    while read <= most {
        match stream.next().await {
            Some(Ok(piece)) => read += piece.len() as u64,
            _ => return,
        }
    }
}

/// `GET /jobs/ingest/{id}/{successfulResults|failedResults|unprocessedrecords}` and
/// `GET /jobs/query/{id}/results`.
pub(crate) async fn results(
    call: Call,
    State(app): State<crate::State>,
    Path((v, kind, id, which)): Path<(String, String, String, String)>,
    q: Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    if kind == "query" && which == "results" {
        return query_results(call, State(app), Path((v, id)), q).await;
    }
    let which = match (kind.as_str(), which.to_ascii_lowercase().as_str()) {
        ("ingest", "successfulresults") => Which::Successful,
        ("ingest", "failedresults") => Which::Failed,
        ("ingest", "unprocessedrecords") => Which::Unprocessed,
        _ => return Err(ApiError::not_found()),
    };
    let d = run(&app, move |b| download(b, &id, which)).await?;
    Ok(csv_response(
        crate::stream::file_body(d.prefix, d.path, d.from, d.len),
        HeaderMap::new(),
    ))
}

fn csv_response(body: Body, mut headers: HeaderMap) -> Response {
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    (StatusCode::OK, headers, body).into_response()
}

/// `GET /jobs/query/{id}/results[?locator=&maxRecords=]`.
async fn query_results(
    _call: Call,
    State(app): State<crate::State>,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let max = match q.get("maxRecords") {
        None => None,
        Some(s) => Some(s.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ApiError::from(BulkError::new(
                Kind::ClientInputError,
                format!("maxRecords must be a positive number: {s}"),
            ))
        })?),
    };
    let locator = q
        .get("locator")
        .cloned()
        .filter(|l| !l.is_empty() && l != "null");
    let page = run(&app, move |b| {
        forcebus_bulk::query::page(b, &id, locator.as_deref(), max)
    })
    .await?;
    let mut headers = HeaderMap::new();
    let next = page.next.unwrap_or_else(|| "null".into());
    if let Ok(v) = HeaderValue::from_str(&next) {
        headers.insert("sforce-locator", v);
    }
    headers.insert("sforce-numberofrecords", HeaderValue::from(page.rows));
    Ok(csv_response(Body::from(page.csv), headers))
}
