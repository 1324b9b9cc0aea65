//! Bulk API 1.0's wire shapes: its errors, and a job's or batch's info, in XML (the
//! `asyncapi/dataload` namespace) or JSON.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use forcebus_bulk::classic::{Counts, batch_state, job_state};
use forcebus_bulk::{BulkError, Job, Kind};
use forcebus_xml::write::{Escaping, Writer};

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

/// A Bulk 1.0 error in JSON.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody<'a> {
    exception_code: &'a str,
    exception_message: &'a str,
}

impl IntoResponse for AsyncError {
    fn into_response(self) -> Response {
        let message = forcebus_org::bounded_message(self.message);
        if self.json {
            let body = ErrorBody {
                exception_code: &self.code,
                exception_message: &message,
            };
            return crate::error::json_response(StatusCode::BAD_REQUEST, &body);
        }
        let mut w = document();
        w.open_with("error", &[("xmlns", NS)])
            .text("exceptionCode", &self.code)
            .text("exceptionMessage", &message);
        xml_response(StatusCode::BAD_REQUEST, w.finish())
    }
}

/// A Bulk 1.0 XML document, its declaration written: text escapes `&`, `<`, `>` and `"`
/// (apostrophes as they are), as Bulk 1.0's job and batch info always has.
pub(super) fn document() -> Writer {
    let mut w = Writer::escaping(Escaping::KeepApostrophes);
    w.declaration();
    w
}

/// An XML document as the response.
pub(super) fn xml_response(status: StatusCode, xml: String) -> Response {
    let mut resp = (status, xml).into_response();
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
    let mut w = document();
    xml_element(&mut w, root, &[("xmlns", NS)], fields);
    xml_response(StatusCode::OK, w.finish())
}

/// `fields` as a JSON object: numbers as numbers (the API version a decimal).
pub(super) fn json_object(fields: Vec<(&'static str, String, bool)>) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v, number) in fields {
        let v = match (number, v.parse::<f64>()) {
            (true, Ok(n)) if k == "apiVersion" => Value::from(n),
            (true, Ok(_)) => Value::from(v.parse::<u64>().unwrap_or(0)),
            _ => Value::String(v),
        };
        m.insert(k.into(), v);
    }
    Value::Object(m)
}

/// `fields` as the element `root` (with `attributes`), one child each.
pub(super) fn xml_element(
    w: &mut Writer,
    root: &str,
    attributes: &[(&str, &str)],
    fields: Vec<(&'static str, String, bool)>,
) {
    w.open_with(root, attributes);
    for (k, v, _) in fields {
        w.text(k, &v);
    }
    w.close();
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
