//! The bodies this crate's clients read, as types: each named as Salesforce names it, its
//! fields declared in the order Salesforce writes them (a key Salesforce leaves out is
//! skipped when absent; one it writes as null is a `()` or a `None`). The handlers build
//! them; a save result is every HTTP family's, [`forcebus_http::shapes`].
//!
//! - [`record`]: a record as REST shows it; the `deleted` and `updated` lists;
//! - [`describe`]: describeGlobal, basic information, describe; [`field`]: a field's
//!   describe and a picklist value.

pub(crate) mod composite;
pub(crate) mod describe;
pub(crate) mod field;
pub(crate) mod layout;
pub(crate) mod list_view;
pub(crate) mod record;
pub(crate) mod resources;

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

/// `body` as a JSON value (for a composite subrequest's result, or a body built further).
pub(crate) fn to_value(body: &impl Serialize) -> Value {
    serde_json::to_value(body).unwrap_or(Value::Null)
}

/// A JSON answer: `status` and `body`.
pub(crate) fn respond(status: StatusCode, body: &impl Serialize) -> Response {
    crate::error::json_response(status, &to_value(body))
}
