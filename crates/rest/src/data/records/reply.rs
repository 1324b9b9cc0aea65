//! A record resource's answer: a status and a JSON body (with the `Location` of a created
//! record), or a blob's bytes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::error::{ApiError, json_response};

/// A resource's answer.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    /// `Location` of a created record.
    pub(crate) location: Option<String>,
    pub(crate) body: Value,
    /// A blob's bytes and content type, answered as they are (its `body` is null: a
    /// composite request cannot read a blob).
    pub(crate) raw: Option<Box<(String, Vec<u8>)>>,
}

impl Reply {
    pub(crate) fn new(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            location: None,
            body,
            raw: None,
        }
    }

    /// A blob, 200.
    pub(crate) fn blob(content_type: String, bytes: Vec<u8>) -> Self {
        Self {
            raw: Some(Box::new((content_type, bytes))),
            ..Self::new(StatusCode::OK, Value::Null)
        }
    }

    pub(crate) fn of(result: Result<Value, ApiError>) -> Self {
        result.map_or_else(Self::from, |body| Self::new(StatusCode::OK, body))
    }

    /// Whether it succeeded (2xx).
    pub(crate) fn ok(&self) -> bool {
        self.status.is_success()
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Self {
        let (status, body) = e.into_parts();
        Self::new(status, body)
    }
}

/// A request of its own answers with the status and body (a composite request's entry
/// also names the `Location` of a created record).
impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        if let Some((content_type, bytes)) = self.raw.map(|raw| *raw) {
            return (
                self.status,
                [(axum::http::header::CONTENT_TYPE, content_type)],
                bytes,
            )
                .into_response();
        }
        if self.status == StatusCode::NO_CONTENT || self.body.is_null() {
            return self.status.into_response();
        }
        json_response(self.status, &self.body)
    }
}
