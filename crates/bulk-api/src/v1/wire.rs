//! Bulk API 1.0's wire shapes: its errors, and a job's or batch's info, in XML (the
//! `asyncapi/dataload` namespace) or JSON.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use forcebus_bulk::classic::{Counts, batch_state, job_state};
use forcebus_bulk::{BulkError, Job, Kind};

/// The Bulk 1.0 namespace.
pub(super) const NS: &str = "http://www.force.com/2009/06/asyncapi/dataload";

/// A Bulk 1.0 error, in XML or JSON.
#[derive(Debug)]
pub(crate) struct AsyncError {
    code: String,
    message: String,
    json: bool,
}

impl AsyncError {
    pub(super) fn new(code: &str, message: impl Into<String>, json: bool) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            json,
        }
    }

    pub(super) fn bulk(e: BulkError, json: bool) -> Self {
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

pub(super) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(super) fn xml_response(status: StatusCode, body: String) -> Response {
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

/// Whether to answer a job resource (`/job/{id}`) about `job` in JSON: as the request
/// speaks (`Content-Type` JSON or XML), whatever the job's own `contentType` (a JSON
/// client may run a CSV job, and Salesforce answers its jobInfo in JSON); the job's format
/// when the request names neither (a body-less read). The batch resources answer in the
/// job's format instead: [`batch_json`].
pub(super) fn answers_json(headers: &HeaderMap, job: &Job) -> bool {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if media.contains("json") {
        true
    } else if media.contains("xml") {
        false
    } else {
        job.format() == forcebus_bulk::job::Format::Json
    }
}

/// Whether to answer a batch resource (`/job/{id}/batch[/…]`: batchInfo, batchInfoList,
/// a query batch's result list, and their errors) in JSON: only for a JSON job, whatever
/// the request's `Content-Type` says. Salesforce's "Add a Batch to a Job" and "Get Batch
/// Results" answer a CSV or XML job in XML; a Singer tap makes a CSV job with a JSON
/// request and reads its batches with an XML parser.
pub(super) fn batch_json(job: &Job) -> bool {
    job.format() == forcebus_bulk::job::Format::Json
}

/// Whether a request speaks JSON (by its content type).
pub(super) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"))
}

pub(super) fn xml_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A job's fields in Bulk 1.0's order, as (name, value, is a number); its dates as the
/// JSON or the XML form writes them.
pub(super) fn job_fields(job: &Job, c: &Counts, json: bool) -> Vec<(&'static str, String, bool)> {
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
pub(super) fn render(
    root: &str,
    fields: Vec<(&'static str, String, bool)>,
    json: bool,
) -> Response {
    if json {
        return crate::error::json_response(StatusCode::OK, &json_object(fields));
    }
    xml_response(StatusCode::OK, xml_element(root, fields, true))
}

/// `fields` as a JSON object: numbers as numbers.
pub(super) fn json_object(fields: Vec<(&'static str, String, bool)>) -> Value {
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

pub(super) fn xml_element(
    root: &str,
    fields: Vec<(&'static str, String, bool)>,
    ns: bool,
) -> String {
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

pub(super) fn dates(job: &Job, json: bool) -> (String, String) {
    if json {
        (
            forcebus_org::clock::format_datetime(job.created),
            forcebus_org::clock::format_datetime(job.modified),
        )
    } else {
        (xml_date(job.created), xml_date(job.modified))
    }
}

pub(super) fn batch_fields(b: &Job, json: bool) -> Vec<(&'static str, String, bool)> {
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
