//! Bulk API 1.0 (`data-apis.md` §2): `/services/async/{version}/job[/{id}[/batch[/{id}[/request
//! |/result[/{id}]]]]]`, the session in `X-SFDC-Session` (or a bearer token), XML or JSON
//! by the job's `contentType` (JSON jobs answer JSON, CSV and XML jobs XML), and errors in
//! Bulk 1.0's own envelope (`exceptionCode`, `exceptionMessage`; an invalid session is a
//! 400 `InvalidSessionId`, which jsforce looks for to log in again).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use forcebus_bulk::classic::{Counts, batch_results, batch_state, job_state};
use forcebus_bulk::job::Format;
use forcebus_bulk::{BulkError, Job, JobType, Kind, NewJob, State as JobState};

const NS: &str = "http://www.force.com/2009/06/asyncapi/dataload";

/// A Bulk 1.0 error, in XML or JSON.
#[derive(Debug)]
pub(crate) struct AsyncError {
    code: String,
    message: String,
    json: bool,
}

impl AsyncError {
    fn new(code: &str, message: impl Into<String>, json: bool) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            json,
        }
    }

    fn bulk(e: BulkError, json: bool) -> Self {
        if e.kind == Kind::Unknown {
            return Self::new("Unknown", crate::error::unexpected(&e.message), json);
        }
        let code = match e.kind {
            Kind::NotFound => "InvalidJob",
            other => other.name(),
        };
        Self::new(code, e.message, json)
    }
}

impl IntoResponse for AsyncError {
    fn into_response(self) -> Response {
        let message = forcebus_org::bounded_message(self.message);
        if self.json {
            let body = json!({"exceptionCode": self.code, "exceptionMessage": message});
            return crate::error::json_response(StatusCode::BAD_REQUEST, &body);
        }
        xml_response(
            StatusCode::BAD_REQUEST,
            format!(
                "<error xmlns=\"{NS}\"><exceptionCode>{}</exceptionCode><exceptionMessage>{}</exceptionMessage></error>",
                escape(&self.code),
                escape(&message)
            ),
        )
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn xml_response(status: StatusCode, body: String) -> Response {
    let mut resp = (
        status,
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{body}"),
    )
        .into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    resp
}

/// Whether a request speaks JSON (by its content type).
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"))
}

/// An authenticated Bulk 1.0 call.
#[derive(Debug, Clone)]
pub(crate) struct AsyncCall {
    /// The caller (with the path's API version, `59.0`).
    pub caller: forcebus_org::Caller,
}

impl FromRequestParts<crate::State> for AsyncCall {
    type Rejection = AsyncError;

    async fn from_request_parts(parts: &mut Parts, app: &crate::State) -> Result<Self, AsyncError> {
        let json = wants_json(&parts.headers);
        let segment = parts
            .uri
            .path()
            .strip_prefix("/services/async/")
            .and_then(|p| p.split('/').next())
            .unwrap_or("");
        let version = crate::ctx::parse_version(&format!("v{segment}"), app.config.latest_version)
            .ok_or_else(|| {
                AsyncError::new(
                    "InvalidVersion",
                    format!("Invalid API version: {segment}"),
                    json,
                )
            })?;
        let session = crate::ctx::bulk_session(&parts.headers)
            .and_then(|t| app.auth.verify(t))
            .ok_or_else(|| AsyncError::new("InvalidSessionId", "Invalid session id", json))?;
        Ok(Self {
            caller: forcebus_org::Caller {
                user_id: session.user_id,
                api: forcebus_org::Api::Bulk,
                version,
                client: crate::ctx::call_options_client(&parts.headers),
            },
        })
    }
}

fn xml_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A job's fields in Bulk 1.0's order, as (name, value, is a number); its dates as the
/// JSON or the XML form writes them.
fn job_fields(job: &Job, c: &Counts, json: bool) -> Vec<(&'static str, String, bool)> {
    let (created, modified) = dates(job, json);
    let mut v = vec![
        ("id", job.id.clone(), false),
        ("operation", job.operation.name().to_owned(), false),
        ("object", job.object.clone(), false),
        ("createdById", job.created_by.clone(), false),
        ("createdDate", created, false),
        ("systemModstamp", modified, false),
        ("state", job_state(job.state).to_owned(), false),
    ];
    if let Some(f) = &job.external_id_field {
        v.push(("externalIdFieldName", f.clone(), false));
    }
    v.push((
        "concurrencyMode",
        job.concurrency.clone().unwrap_or_else(|| "Parallel".into()),
        false,
    ));
    v.push((
        "contentType",
        job.content_type.clone().unwrap_or_default(),
        false,
    ));
    for (k, n) in [
        ("numberBatchesQueued", c.queued),
        ("numberBatchesInProgress", c.in_progress),
        ("numberBatchesCompleted", c.completed),
        ("numberBatchesFailed", c.failed + c.not_processed),
        ("numberBatchesTotal", c.total()),
        ("numberRecordsProcessed", c.processed),
        ("numberRetries", 0),
    ] {
        v.push((k, n.to_string(), true));
    }
    v.push(("apiVersion", job.api_version.clone(), true));
    for (k, n) in [
        ("numberRecordsFailed", c.records_failed),
        ("totalProcessingTime", c.processing_ms),
        ("apiActiveProcessingTime", c.processing_ms),
        ("apexProcessingTime", 0),
    ] {
        v.push((k, n.to_string(), true));
    }
    v
}

/// Renders `fields` as the XML element `root` or a JSON object.
fn render(root: &str, fields: Vec<(&'static str, String, bool)>, json: bool) -> Response {
    if json {
        return crate::error::json_response(StatusCode::OK, &json_object(fields));
    }
    xml_response(StatusCode::OK, xml_element(root, fields, true))
}

/// `fields` as a JSON object: numbers as numbers.
fn json_object(fields: Vec<(&'static str, String, bool)>) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v, number) in fields {
        let v = match (number, v.parse::<f64>()) {
            (true, Ok(n)) if k == "apiVersion" => json!(n),
            (true, Ok(_)) => json!(v.parse::<u64>().unwrap_or(0)),
            _ => json!(v),
        };
        m.insert(k.into(), v);
    }
    Value::Object(m)
}

fn xml_element(root: &str, fields: Vec<(&'static str, String, bool)>, ns: bool) -> String {
    let mut out = if ns {
        format!("<{root} xmlns=\"{NS}\">")
    } else {
        format!("<{root}>")
    };
    for (k, v, _) in fields {
        out.push_str(&format!("<{k}>{}</{k}>", escape(&v)));
    }
    out.push_str(&format!("</{root}>"));
    out
}

fn dates(job: &Job, json: bool) -> (String, String) {
    if json {
        (
            forcebus_org::clock::format_datetime(job.created),
            forcebus_org::clock::format_datetime(job.modified),
        )
    } else {
        (xml_date(job.created), xml_date(job.modified))
    }
}

fn job_response(app: &crate::AppState, job: &Job, status: StatusCode) -> Response {
    let json = job.format() == Format::Json;
    let counts = app.bulk.counts(&job.id);
    let mut resp = render("jobInfo", job_fields(job, &counts, json), json);
    *resp.status_mut() = status;
    resp
}

fn batch_fields(b: &Job, json: bool) -> Vec<(&'static str, String, bool)> {
    let (created, modified) = dates(b, json);
    let mut v = vec![
        ("id", b.id.clone(), false),
        ("jobId", b.parent.clone().unwrap_or_default(), false),
        ("state", batch_state(b.state).to_owned(), false),
    ];
    if let Some(e) = &b.error {
        v.push(("stateMessage", e.clone(), false));
    }
    v.push(("createdDate", created, false));
    v.push(("systemModstamp", modified, false));
    for (k, n) in [
        ("numberRecordsProcessed", b.progress.processed),
        ("numberRecordsFailed", b.progress.failed),
        ("totalProcessingTime", b.progress.processing_ms),
        ("apiActiveProcessingTime", b.progress.processing_ms),
        ("apexProcessingTime", 0),
    ] {
        v.push((k, n.to_string(), true));
    }
    v
}

/// Reads a JobInfo (XML or JSON): its simple fields by name.
fn job_info(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, AsyncError> {
    let json = wants_json(headers);
    let invalid = |m: String| AsyncError::new("InvalidJob", m, json);
    if json {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| invalid(format!("Failed to parse the job: {e}")))?;
        let m = v
            .as_object()
            .ok_or_else(|| invalid("The job must be a JSON object".into()))?;
        // A null is no value: simple-salesforce sends `"externalIdFieldName": null`.
        return Ok(m
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                let text = match (k.as_str(), v) {
                    ("concurrencyMode", Value::Number(n)) => {
                        if n.as_u64() == Some(1) {
                            "Serial".into()
                        } else {
                            "Parallel".into()
                        }
                    }
                    (_, Value::String(s)) => s.clone(),
                    (_, other) => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect());
    }
    // A jobInfo is its root's children, each a field and its text.
    let root = forcebus_xml::parse(body).map_err(|e| match e {
        forcebus_xml::XmlError::TooLarge => invalid("The job nests too deeply".into()),
        e => invalid(format!("Failed to parse XML: {e}")),
    })?;
    Ok(root
        .children
        .into_iter()
        .map(|c| (c.name, c.text.trim().to_owned()))
        .collect())
}

/// `POST /services/async/{v}/job`: a new job.
pub(crate) async fn create_job(
    call: AsyncCall,
    State(app): State<crate::State>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AsyncError> {
    let json = wants_json(&headers);
    let f = job_info(&headers, &body)?;
    let get = |k: &str| f.get(k).cloned().filter(|v| !v.is_empty());
    let new = NewJob {
        object: get("object").unwrap_or_default(),
        operation: get("operation").unwrap_or_default(),
        external_id_field: get("externalIdFieldName"),
        content_type: get("contentType"),
        concurrency: get("concurrencyMode"),
        assignment_rule_id: get("assignmentRuleId"),
        ..NewJob::default()
    };
    let bulk = app.bulk.clone();
    let caller = call.caller.clone();
    let job = crate::blocking(move || bulk.create(new, JobType::Classic, &caller))
        .await
        .map_err(|_| AsyncError::new("Unknown", "The job could not be made", json))?
        .map_err(|e| AsyncError::bulk(e, json))?;
    Ok(job_response(&app, &job, StatusCode::CREATED))
}

fn job_of(app: &crate::AppState, id: &str, json: bool) -> Result<Job, AsyncError> {
    app.bulk
        .classic_job(id)
        .map_err(|e| AsyncError::bulk(e, json))
}

/// `GET /services/async/{v}/job/{id}`.
pub(crate) async fn get_job(
    _call: AsyncCall,
    State(app): State<crate::State>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, AsyncError> {
    let job = job_of(&app, &id, wants_json(&headers))?;
    Ok(job_response(&app, &job, StatusCode::OK))
}

/// `POST /services/async/{v}/job/{id}` with `state` `Closed` or `Aborted`.
pub(crate) async fn update_job(
    _call: AsyncCall,
    State(app): State<crate::State>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AsyncError> {
    let json = wants_json(&headers);
    let job = job_of(&app, &id, json)?;
    let json = json || job.format() == Format::Json;
    let f = job_info(&headers, &body)?;
    let want = match f.get("state").map(String::as_str) {
        Some("Closed") => JobState::UploadComplete,
        Some("Aborted") => JobState::Aborted,
        other => {
            return Err(AsyncError::new(
                "InvalidJobState",
                format!("Invalid state: {}", other.unwrap_or("(none)")),
                json,
            ));
        }
    };
    let bulk = app.bulk.clone();
    let job = crate::blocking(move || bulk.set_classic_state(&id, want))
        .await
        .map_err(|_| AsyncError::new("Unknown", "The job could not be changed", json))?
        .map_err(|e| AsyncError::bulk(e, json))?;
    Ok(job_response(&app, &job, StatusCode::OK))
}

/// `POST /services/async/{v}/job/{id}/batch`: a batch in the job's format (or a query).
pub(crate) async fn add_batch(
    _call: AsyncCall,
    State(app): State<crate::State>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AsyncError> {
    let job = job_of(&app, &id, wants_json(&headers))?;
    let json = job.format() == Format::Json;
    let bulk = app.bulk.clone();
    let batch = crate::blocking(move || bulk.add_batch(&id, &body))
        .await
        .map_err(|_| AsyncError::new("Unknown", "The batch could not be added", json))?
        .map_err(|e| AsyncError::bulk(e, json))?;
    let mut resp = render("batchInfo", batch_fields(&batch, json), json);
    *resp.status_mut() = StatusCode::CREATED;
    Ok(resp)
}

/// `GET /services/async/{v}/job/{id}/batch`: every batch of the job.
pub(crate) async fn list_batches(
    _call: AsyncCall,
    State(app): State<crate::State>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, AsyncError> {
    let job = job_of(&app, &id, wants_json(&headers))?;
    let json = job.format() == Format::Json;
    let batches = app.bulk.batches(&job.id);
    if json {
        let list: Vec<Value> = batches
            .iter()
            .map(|b| json_object(batch_fields(b, true)))
            .collect();
        return Ok(crate::error::json_response(
            StatusCode::OK,
            &json!({"batchInfo": list}),
        ));
    }
    let inner: String = batches
        .iter()
        .map(|b| xml_element("batchInfo", batch_fields(b, false), false))
        .collect();
    Ok(xml_response(
        StatusCode::OK,
        format!("<batchInfoList xmlns=\"{NS}\">{inner}</batchInfoList>"),
    ))
}

/// `GET /services/async/{v}/job/{id}/batch/{batchId}[/request|/result[/{resultId}]]`.
pub(crate) async fn batch(
    _call: AsyncCall,
    State(app): State<crate::State>,
    Path(path): Path<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, AsyncError> {
    let get = |k: &str| path.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (id, batch_id) = (
        get("id").unwrap_or_default(),
        get("batch").unwrap_or_default(),
    );
    let job = job_of(&app, &id, wants_json(&headers))?;
    let json = job.format() == Format::Json;
    let b = app
        .bulk
        .batch(&id, &batch_id)
        .map_err(|e| AsyncError::bulk(e, json))?;
    match (get("what").as_deref(), get("result")) {
        (None, _) => Ok(render("batchInfo", batch_fields(&b, json), json)),
        (Some("request"), _) => Ok(typed_file(&job, app.bulk.files(&b.id).request())),
        (Some("result"), None) => results(&app, &job, &b, json),
        (Some("result"), Some(rid)) => {
            if !b.operation.is_query() || rid != forcebus_bulk::query::result_id(&b.id) {
                return Err(AsyncError::new(
                    "InvalidBatch",
                    format!("Invalid result id: {rid}"),
                    json,
                ));
            }
            Ok(typed_file(&job, app.bulk.files(&b.id).results()))
        }
        _ => Err(AsyncError::new(
            "InvalidUrl",
            "Unknown batch resource",
            json,
        )),
    }
}

/// A file of the job's (a batch's request or query results) in its format, streamed
/// from disk; empty when there is no such file.
fn typed_file(job: &Job, path: std::path::PathBuf) -> Response {
    let len = std::fs::metadata(&path).map_or(0, |m| m.len());
    let body = crate::stream::file_body(Vec::new(), Some(path), 0, len);
    let mut resp = (StatusCode::OK, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type(job));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    resp
}

fn content_type(job: &Job) -> HeaderValue {
    HeaderValue::from_static(match job.format() {
        Format::Csv => "text/csv",
        Format::Json => "application/json",
        Format::Xml => "application/xml",
    })
}

/// A batch's results: per-record results (ingest) or its result ids (query).
fn results(app: &crate::AppState, job: &Job, b: &Job, json: bool) -> Result<Response, AsyncError> {
    if b.operation.is_query() {
        if b.state != JobState::JobComplete {
            return Err(AsyncError::new(
                "InvalidBatch",
                format!("Batch not completed: its state is {}", batch_state(b.state)),
                json,
            ));
        }
        let rid = forcebus_bulk::query::result_id(&b.id);
        if json {
            return Ok(crate::error::json_response(StatusCode::OK, &json!([rid])));
        }
        return Ok(xml_response(
            StatusCode::OK,
            format!("<result-list xmlns=\"{NS}\"><result>{rid}</result></result-list>"),
        ));
    }
    let rows = batch_results(&app.bulk, &job.id, &b.id).map_err(|e| AsyncError::bulk(e, json))?;
    Ok(crate::v1_results::render(job.format(), &rows))
}
