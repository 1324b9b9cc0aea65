//! The bodies this crate's clients read, as types: each named as Salesforce names it, its
//! fields declared in the order Salesforce writes them (a key Salesforce leaves out is
//! skipped when absent; one it writes as null is a `()` or a `None`). The handlers build
//! them; a save result is every HTTP family's, [`forcebus_http::shapes`].
//!
//! - [`record`]: a record as REST shows it; [`sobject`]: the other sObject resources'
//!   bodies (the `deleted` and `updated` lists, a user's password, a streaming channel's
//!   push);
//! - [`describe`]: describeGlobal, basic information, describe; [`field`]: a field's
//!   describe and a picklist value; [`layout`]: page and compact layouts;
//!   [`list_view`]: list views, their describe and results;
//! - [`query`]: a page of query results, a query plan, a search's results;
//!   [`composite`]: the composite family's answers;
//! - [`resources`]: the versions, the limits, the theme;
//! - [`tooling`]: the Tooling API's schema definitions and event settings;
//! - [`forcebus`]: forcebus's own endpoints (subscribers, schema ids, the request
//!   journal, the event log, platform event definitions).

pub(crate) mod composite;
pub(crate) mod describe;
pub(crate) mod field;
pub(crate) mod forcebus;
pub(crate) mod layout;
pub(crate) mod list_view;
pub(crate) mod query;
pub(crate) mod record;
pub(crate) mod resources;
pub(crate) mod sobject;
pub(crate) mod tooling;

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
