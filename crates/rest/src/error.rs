//! Errors as the REST API renders them: a JSON array of `{"message", "errorCode"[, "fields"]}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use forcebus_org::{OrgError, StatusCode as Code};

/// A failed REST call.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    /// An error with one entry.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!([{"message": message.into(), "errorCode": code}]),
        }
    }

    /// An error whose body is given whole (300 lists, OAuth objects).
    pub fn raw(status: StatusCode, body: Value) -> Self {
        Self { status, body }
    }

    /// `401 INVALID_SESSION_ID`.
    pub fn invalid_session() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        )
    }

    /// `404 NOT_FOUND`.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    }

    /// `400 JSON_PARSER_ERROR`.
    pub fn json_parser(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR", message)
    }

    /// `500 UNKNOWN_EXCEPTION`, logged.
    pub fn internal(what: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %what, "Request failed inside the server.");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support.",
        )
    }
}

/// The HTTP status a single-resource call answers with for an org error.
pub fn status_of(code: Code) -> StatusCode {
    match code {
        Code::NotFound | Code::EntityIsDeleted => StatusCode::NOT_FOUND,
        Code::DuplicateExternalId => StatusCode::MULTIPLE_CHOICES,
        Code::UnknownException => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl From<OrgError> for ApiError {
    fn from(e: OrgError) -> Self {
        let mut entry = json!({"message": e.message, "errorCode": e.code.as_str()});
        if !e.fields.is_empty() {
            entry["fields"] = json!(e.fields);
        }
        Self {
            status: status_of(e.code),
            body: json!([entry]),
        }
    }
}

/// A collection entry's error: `statusCode`, not `errorCode`.
pub fn collection_error(e: &OrgError) -> Value {
    json!({"statusCode": e.code.as_str(), "message": e.message, "fields": e.fields})
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &self.body)
    }
}

/// A JSON response with the content type jsforce requires to parse it.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).expect("JSON values serialise");
    let mut resp = (status, bytes).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    resp
}
