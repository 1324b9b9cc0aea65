//! Errors as the REST API renders them: a JSON array of `{"message", "errorCode"[, "fields"]}`.
//! Every code comes from the one table, [`forcebus_org::Code`].

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use forcebus_org::{Code, OrgError};

/// The `errorCode` of an error body: a code of the one table, [`Code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(&'static str);

impl From<Code> for ErrorCode {
    fn from(code: Code) -> Self {
        Self(code.as_str())
    }
}

/// One entry of a REST error body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEntry {
    /// What went wrong.
    pub message: String,
    /// The code, from the one table.
    pub error_code: &'static str,
    /// The fields concerned, when there are any (a validation rule's error always says
    /// which: `[]` for none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
}

/// The `fields` of an error entry: absent when none are concerned, except for a
/// validation rule's error, which Salesforce always gives them with.
fn entry_fields(code: Code, fields: Vec<String>) -> Option<Vec<String>> {
    (!fields.is_empty() || code == Code::FieldCustomValidationException).then_some(fields)
}

impl ErrorEntry {
    /// The body of one error: a one-entry array.
    fn body(self) -> Value {
        serde_json::to_value([self]).unwrap_or(Value::Null)
    }
}

/// One entry of a Bulk API 2.0 error body: the code first.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct BulkErrorEntry {
    error_code: String,
    message: String,
}

/// A failed REST call.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    /// An error with one entry.
    pub fn new(status: StatusCode, code: impl Into<ErrorCode>, message: impl Into<String>) -> Self {
        let entry = ErrorEntry {
            message: forcebus_org::bounded_message(message.into()),
            error_code: code.into().0,
            fields: None,
        };
        Self {
            status,
            body: entry.body(),
        }
    }

    /// The body sent: a JSON array of `{message, errorCode}` for most errors.
    pub fn body(&self) -> &Value {
        &self.body
    }

    /// An error whose body is given whole (300 lists, OAuth objects).
    pub fn raw(status: StatusCode, body: Value) -> Self {
        Self { status, body }
    }

    /// The status and the body, for a composite subrequest's result.
    pub fn into_parts(self) -> (StatusCode, Value) {
        (self.status, self.body)
    }

    /// `401 INVALID_SESSION_ID`.
    pub fn invalid_session() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            Code::InvalidSessionId,
            "Session expired or invalid",
        )
    }

    /// `API_CURRENTLY_DISABLED` (403): the user's profile and permission sets do not
    /// grant API Enabled.
    pub fn api_disabled() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            Code::ApiCurrentlyDisabled,
            "API is disabled for this User",
        )
    }

    /// `INSUFFICIENT_ACCESS` (403): a user permission the API needs is missing.
    pub fn insufficient(message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, Code::InsufficientPrivileges, message)
    }

    /// `METHOD_NOT_ALLOWED` (405) for `method`, naming the methods `allowed`.
    pub fn method_not_allowed(method: &impl std::fmt::Display, allowed: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            Code::MethodNotAllowed,
            format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
        )
    }

    /// `410 GONE`: a version Salesforce has retired.
    pub fn retired_version() -> Self {
        Self::new(
            StatusCode::GONE,
            Code::Gone,
            "This API version is no longer supported. Use API version 31.0 or later.",
        )
    }

    /// `404 NOT_FOUND`.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "The requested resource does not exist",
        )
    }

    /// `400 JSON_PARSER_ERROR`.
    pub fn json_parser(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Code::JsonParserError, message)
    }

    /// `500 UNKNOWN_EXCEPTION` with a fresh ErrorId; the id and the cause are logged
    /// together, so the id a client reports finds the log line.
    /// A store that is full is Salesforce's full org instead: `STORAGE_LIMIT_EXCEEDED`;
    /// one whose database cannot be reached `503 SERVER_UNAVAILABLE`.
    pub fn internal<E: std::fmt::Display + 'static>(what: &E) -> Self {
        if let Some(e) = (what as &dyn std::any::Any).downcast_ref::<forcebus_org::StoreError>()
            && (e.is_full() || e.is_unavailable())
        {
            return OrgError::storage(e).into();
        }
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::UnknownException,
            unexpected(what),
        )
    }
}

/// Logs `cause` under a new ErrorId and returns Salesforce's message naming that id:
/// "An unexpected error occurred. Please include this ErrorId if you contact support:
/// 1093245563-27181 (-1625430541)".
pub fn unexpected(cause: &dyn std::fmt::Display) -> String {
    use rand::Rng as _;
    let mut rng = rand::thread_rng();
    let id = format!(
        "{}-{} ({})",
        rng.gen_range(1_000_000_000u64..2_000_000_000),
        rng.gen_range(10_000u32..100_000),
        rng.gen_range(-2_000_000_000i64..-1_000_000_000),
    );
    tracing::error!(error_id = %id, error = %cause, "Request failed inside the server.");
    format!(
        "An unexpected error occurred. Please include this ErrorId if you contact support: {id}"
    )
}

/// The HTTP status a single-resource call answers with for an org error.
pub fn status_of(code: Code) -> StatusCode {
    match code {
        Code::NotFound | Code::EntityIsDeleted => StatusCode::NOT_FOUND,
        Code::DuplicateExternalId => StatusCode::MULTIPLE_CHOICES,
        Code::UnknownException => StatusCode::INTERNAL_SERVER_ERROR,
        Code::ServerUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl From<OrgError> for ApiError {
    fn from(e: OrgError) -> Self {
        if e.code == Code::UnknownException {
            return Self::internal(&e.message);
        }
        let status = status_of(e.code);
        // One entry per error of the write (each validation rule a record breaks).
        let entries: Vec<ErrorEntry> = std::iter::once(e)
            .flat_map(|mut e| {
                let also = std::mem::take(&mut e.also);
                std::iter::once(e).chain(also)
            })
            .map(|e| ErrorEntry {
                message: e.message,
                error_code: e.code.as_str(),
                fields: entry_fields(e.code, e.fields),
            })
            .collect();
        Self {
            status,
            body: serde_json::to_value(entries).unwrap_or(Value::Null),
        }
    }
}

/// A Bulk API job's error, as Bulk API 2.0 answers it.
impl From<forcebus_bulk::BulkError> for ApiError {
    fn from(e: forcebus_bulk::BulkError) -> Self {
        let status = match e.kind {
            forcebus_bulk::Kind::NotFound => StatusCode::NOT_FOUND,
            forcebus_bulk::Kind::Unknown => return ApiError::internal(&e.message),
            _ => StatusCode::BAD_REQUEST,
        };
        let entry = BulkErrorEntry {
            error_code: e.kind.code(),
            message: forcebus_org::bounded_message(e.message),
        };
        ApiError::raw(
            status,
            serde_json::to_value([entry]).expect("an error entry's keys are text"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &self.body)
    }
}

/// A JSON response with the content type jsforce requires to parse it.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).expect("a response body's keys are text");
    let mut resp = (status, bytes).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_full_store_is_storage_limit_exceeded_and_other_failures_unknown() {
        let full = forcebus_org::StoreError::Io {
            path: "the data directory".into(),
            source: std::io::Error::from_raw_os_error(28),
        };
        let e = ApiError::internal(&full);
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            e.body,
            json!([{"message": "storage limit exceeded", "errorCode": "STORAGE_LIMIT_EXCEEDED"}])
        );
        let other = ApiError::internal(&forcebus_org::StoreError::Corrupt("x".into()));
        assert_eq!(other.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(other.body[0]["errorCode"], "UNKNOWN_EXCEPTION");
    }
}
