//! Bulk API 1.0 (`data-apis.md` §2): `/services/async/{version}/job[/{id}[/batch[/{id}[/request
//! |/result[/{id}]]]]]`, the session in `X-SFDC-Session` (or a bearer token). The job
//! resources answer in the request's format (JSON or XML, the job's own when it names
//! neither); the batch resources in the job's (JSON jobs JSON, CSV and XML jobs XML,
//! whatever the request says); errors in
//! Bulk 1.0's own envelope (`exceptionCode`, `exceptionMessage`; an invalid session is a
//! 400 `InvalidSessionId`, which jsforce looks for to log in again).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use forcebus_bulk::classic::{batch_results, batch_state};
use forcebus_bulk::job::Format;
use forcebus_bulk::{Job, JobType, NewJob, State as JobState};

mod results;
mod wire;

use wire::{
    AsyncError, NS, answers_json, batch_fields, batch_json, document, job_fields, json_object,
    render, wants_json, xml_element, xml_response,
};

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
        if !app.auth.directory().api_enabled(session.user_id) {
            return Err(AsyncError::new(
                "InvalidUser",
                "API is disabled for this User",
                json,
            ));
        }
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

fn job_response(
    app: &crate::AppState,
    headers: &HeaderMap,
    job: &Job,
    status: StatusCode,
) -> Response {
    let json = answers_json(headers, job);
    let counts = app.bulk.counts(&job.id);
    let mut resp = render("jobInfo", job_fields(job, &counts, json), json);
    *resp.status_mut() = status;
    resp
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
    Ok(job_response(&app, &headers, &job, StatusCode::CREATED))
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
    Ok(job_response(&app, &headers, &job, StatusCode::OK))
}

/// `POST /services/async/{v}/job/{id}` with `state` `Closed` or `Aborted`.
pub(crate) async fn update_job(
    _call: AsyncCall,
    State(app): State<crate::State>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AsyncError> {
    let job = job_of(&app, &id, wants_json(&headers))?;
    let json = answers_json(&headers, &job);
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
    Ok(job_response(&app, &headers, &job, StatusCode::OK))
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
    let json = batch_json(&job);
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
    let json = batch_json(&job);
    let batches = app.bulk.batches(&job.id);
    if json {
        let list = BatchInfoList {
            batch_info: batches
                .iter()
                .map(|b| json_object(batch_fields(b, true)))
                .collect(),
        };
        return Ok(crate::error::json_response(StatusCode::OK, &list));
    }
    let mut w = document();
    w.open_with("batchInfoList", &[("xmlns", NS)]);
    for b in &batches {
        xml_element(&mut w, "batchInfo", &[], batch_fields(b, false));
    }
    Ok(xml_response(StatusCode::OK, w.finish()))
}

/// A job's batches in JSON.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchInfoList {
    batch_info: Vec<Value>,
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
    let json = batch_json(&job);
    let b = app
        .bulk
        .batch(&id, &batch_id)
        .map_err(|e| AsyncError::bulk(e, json))?;
    // Its files, copied back first when another node wrote them (off the async workers).
    let files = if matches!(get("what").as_deref(), Some("request" | "result")) {
        let (bulk, batch) = (app.bulk.clone(), b.clone());
        crate::blocking(move || bulk.local_files(&batch))
            .await
            .map_err(|_| AsyncError::new("Unknown", "The batch's files could not be read", json))?
            .map_err(|e| AsyncError::bulk(e, json))?
    } else {
        app.bulk.files(&b.id)
    };
    match (get("what").as_deref(), get("result")) {
        (None, _) => Ok(render("batchInfo", batch_fields(&b, json), json)),
        (Some("request"), _) => Ok(typed_file(&job, files.request())),
        (Some("result"), None) => results(&app, &job, &b, job.format() == Format::Json).await,
        (Some("result"), Some(rid)) => {
            if !b.operation.is_query() || rid != forcebus_bulk::query::result_id(&b.id) {
                return Err(AsyncError::new(
                    "InvalidBatch",
                    format!("Invalid result id: {rid}"),
                    json,
                ));
            }
            Ok(typed_file(&job, files.results()))
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
async fn results(
    app: &crate::AppState,
    job: &Job,
    b: &Job,
    json: bool,
) -> Result<Response, AsyncError> {
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
            return Ok(crate::error::json_response(StatusCode::OK, &[rid]));
        }
        let mut w = document();
        w.open_with("result-list", &[("xmlns", NS)])
            .text("result", &rid);
        return Ok(xml_response(StatusCode::OK, w.finish()));
    }
    let (bulk, job_id, batch_id) = (app.bulk.clone(), job.id.clone(), b.id.clone());
    let rows = crate::blocking(move || batch_results(&bulk, &job_id, &batch_id))
        .await
        .map_err(|_| AsyncError::new("Unknown", "The batch's results could not be read", json))?
        .map_err(|e| AsyncError::bulk(e, json))?;
    Ok(results::render(job.format(), &rows))
}
