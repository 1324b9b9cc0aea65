//! A Bulk 1.0 batch's per-record results in the job's format (`data-apis.md` §2.5): CSV
//! (`Id`, `Success`, `Created`, `Error`), a JSON array of `{success, created, id, errors}`,
//! or an XML `results` list; each in the batch's input order.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use forcebus_bulk::classic::ResultRow;
use forcebus_bulk::job::Format;
use quick_xml::escape::partial_escape as escape;

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
            let list: Vec<Value> = rows
                .iter()
                .map(|r| {
                    let errors: Vec<Value> = if r.error.is_empty() {
                        Vec::new()
                    } else {
                        let (code, message, fields) = error_parts(&r.error);
                        vec![json!({"statusCode": code, "message": message, "fields": fields})]
                    };
                    let id = if r.id.is_empty() {
                        Value::Null
                    } else {
                        json!(r.id)
                    };
                    json!({"success": r.success, "created": r.created, "id": id, "errors": errors})
                })
                .collect();
            (
                "application/json",
                serde_json::to_vec(&list).unwrap_or_default(),
            )
        }
        Format::Xml => {
            let mut out = String::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><results xmlns=\"http://www.force.com/2009/06/asyncapi/dataload\">",
            );
            for r in rows {
                out.push_str("<result>");
                if r.id.is_empty() {
                    out.push_str("<id xsi:nil=\"true\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"/>");
                } else {
                    out.push_str(&format!("<id>{}</id>", escape(&r.id)));
                }
                out.push_str(&format!(
                    "<success>{}</success><created>{}</created>",
                    r.success, r.created
                ));
                if !r.error.is_empty() {
                    let (code, message, fields) = error_parts(&r.error);
                    out.push_str("<errors>");
                    for f in fields {
                        out.push_str(&format!("<fields>{}</fields>", escape(&f)));
                    }
                    out.push_str(&format!(
                        "<message>{}</message><statusCode>{}</statusCode></errors>",
                        escape(&message),
                        escape(&code)
                    ));
                }
                out.push_str("</result>");
            }
            out.push_str("</results>");
            ("application/xml", out.into_bytes())
        }
    };
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    resp
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
