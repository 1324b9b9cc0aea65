//! A Bulk 1.0 batch's per-record results in the job's format (`data-apis.md` §2.5): CSV
//! (`Id`, `Success`, `Created`, `Error`), a JSON array of `{success, created, id, errors}`,
//! or an XML `results` list; each in the batch's input order.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use forcebus_bulk::classic::ResultRow;
use forcebus_bulk::job::Format;
use forcebus_xml::write::{Escaping, Writer, XSI_NS};

use super::wire::NS;

/// One record's result in JSON.
#[derive(Debug, Serialize)]
struct RecordResult<'a> {
    success: bool,
    created: bool,
    /// `null` for a record not saved.
    id: Option<&'a str>,
    errors: Vec<RecordError>,
}

/// Why a record was not saved, in JSON.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordError {
    status_code: String,
    message: String,
    fields: Vec<String>,
}

/// An `Error` cell (`CODE:message:fields --`) as its parts.
fn error_parts(error: &str) -> (String, String, Vec<String>) {
    let body = error.strip_suffix(" --").unwrap_or(error);
    let (code, rest) = body.split_once(':').unwrap_or((body, ""));
    let (message, fields) = rest.rsplit_once(':').unwrap_or((rest, ""));
    let fields = fields
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    (code.to_owned(), message.to_owned(), fields)
}

/// The results, rendered.
pub(crate) fn render(format: Format, rows: &[ResultRow]) -> Response {
    let (ct, body) = match format {
        Format::Csv => {
            let mut w = forcebus_csv::Writer::new(Vec::new(), forcebus_csv::Dialect::default());
            let _ = w.record(&["Id", "Success", "Created", "Error"]);
            for r in rows {
                let _ = w.record(&[
                    r.id.as_str(),
                    if r.success { "true" } else { "false" },
                    if r.created { "true" } else { "false" },
                    r.error.as_str(),
                ]);
            }
            ("text/csv", w.into_inner().unwrap_or_default())
        }
        Format::Json => {
            let list: Vec<RecordResult<'_>> = rows.iter().map(json_result).collect();
            (
                "application/json",
                serde_json::to_vec(&list).unwrap_or_default(),
            )
        }
        Format::Xml => ("application/xml", xml(rows).into_bytes()),
    };
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    resp
}

/// A record's result in JSON.
fn json_result(r: &ResultRow) -> RecordResult<'_> {
    let errors = if r.error.is_empty() {
        Vec::new()
    } else {
        let (status_code, message, fields) = error_parts(&r.error);
        vec![RecordError {
            status_code,
            message,
            fields,
        }]
    };
    RecordResult {
        success: r.success,
        created: r.created,
        id: (!r.id.is_empty()).then_some(r.id.as_str()),
        errors,
    }
}

/// The results as an XML `results` document: its text escapes `&`, `<` and `>` only, as
/// Bulk 1.0's batch results always have.
fn xml(rows: &[ResultRow]) -> String {
    let mut w = Writer::escaping(Escaping::Markup);
    w.declaration().open_with("results", &[("xmlns", NS)]);
    for r in rows {
        w.open("result");
        if r.id.is_empty() {
            w.empty("id", &[("xsi:nil", "true"), ("xmlns:xsi", XSI_NS)]);
        } else {
            w.text("id", &r.id);
        }
        w.value("success", r.success).value("created", r.created);
        if !r.error.is_empty() {
            let (code, message, fields) = error_parts(&r.error);
            w.open("errors");
            for f in &fields {
                w.text("fields", f);
            }
            w.text("message", &message)
                .text("statusCode", &code)
                .close();
        }
        w.close();
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_cells_split_into_code_message_and_fields() {
        assert_eq!(
            error_parts("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"),
            (
                "REQUIRED_FIELD_MISSING".into(),
                "Required fields are missing: [Name]".into(),
                vec!["Name".to_owned()]
            )
        );
        assert_eq!(
            error_parts("INVALID_CROSS_REFERENCE_KEY:invalid cross reference id: --"),
            (
                "INVALID_CROSS_REFERENCE_KEY".into(),
                "invalid cross reference id".into(),
                vec![]
            )
        );
    }
}
