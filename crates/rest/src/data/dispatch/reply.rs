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
    /// A blob's content type and bytes, answered as they are (its `body` is null: a
    /// composite request cannot read a blob).
    pub(crate) raw: Option<Box<(String, Blob)>>,
}

/// A blob's bytes: in hand (a record stored by an earlier version holds them), or in the
/// org's store, read and sent a piece at a time.
#[derive(Debug, Clone)]
pub(crate) enum Blob {
    /// The bytes.
    Held(Vec<u8>),
    /// Where they are, and how many.
    Stored {
        org: std::sync::Arc<forcebus_org::Org>,
        key: String,
        size: u64,
    },
}

/// How much of a stored blob is read and sent at a time.
const PIECE: usize = 256 * 1024;

impl Blob {
    /// The response body: a stored blob streamed from the store, one piece per blocking
    /// read, so the whole file is never in memory.
    fn body(self) -> (Option<u64>, axum::body::Body) {
        match self {
            Self::Held(bytes) => (None, axum::body::Body::from(bytes)),
            Self::Stored { org, key, size } => {
                let pieces = futures_util::stream::unfold(0u64, move |offset| {
                    let (org, key) = (org.clone(), key.clone());
                    async move {
                        if offset >= size {
                            return None;
                        }
                        let read =
                            tokio::task::spawn_blocking(move || org.read_blob(&key, offset, PIECE))
                                .await;
                        let piece = match read {
                            Ok(Ok(p)) if !p.is_empty() => p,
                            Ok(Ok(_)) => return None,
                            Ok(Err(e)) => {
                                return Some((Err(std::io::Error::other(e.to_string())), size));
                            }
                            Err(e) => return Some((Err(std::io::Error::other(e)), size)),
                        };
                        let next = offset + piece.len() as u64;
                        Some((Ok(axum::body::Bytes::from(piece)), next))
                    }
                });
                (Some(size), axum::body::Body::from_stream(pieces))
            }
        }
    }
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
    pub(crate) fn blob(content_type: String, bytes: Blob) -> Self {
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
        if let Some((content_type, blob)) = self.raw.map(|raw| *raw) {
            let (size, body) = blob.body();
            let mut response = (
                self.status,
                [(axum::http::header::CONTENT_TYPE, content_type)],
                body,
            )
                .into_response();
            if let Some(size) = size {
                response
                    .headers_mut()
                    .insert(axum::http::header::CONTENT_LENGTH, size.into());
            }
            return response;
        }
        if self.status == StatusCode::NO_CONTENT || self.body.is_null() {
            return self.status.into_response();
        }
        json_response(self.status, &self.body)
    }
}
