//! The composite family (`data-apis.md` §4): several operations in one call.
//!
//! - [`request`]: `POST /composite`, up to 25 subrequests with `@{ref.path}` references
//!   ([`refs`]), all in one transaction (`allOrNone`) or each in its own;
//! - [`batch`]: `POST /composite/batch`, up to 25 independent subrequests, each through
//!   the router as if sent alone;
//! - [`tree`]: `POST /composite/tree/{X}`, nested record trees inserted in one transaction;
//! - [`graph`]: `POST /composite/graph`, graphs of composite subrequests, each graph one
//!   transaction.
//!
//! A subrequest of `request` or `graph` runs the very function its own route runs, found
//! in [`crate::data::shared::RESOURCES`], inside the transaction under way.
//!
//! `GET /composite` lists them.

pub(crate) mod batch;
pub(crate) mod graph;
pub(crate) mod refs;
pub(crate) mod request;
pub(crate) mod tree;

use axum::http::StatusCode;
use axum::response::Response;
use forcebus_org::Code;

use crate::ctx::Call;
use crate::data::dispatch::Reply;
use crate::error::ApiError;
use crate::shapes::composite::{CompositeResources, CompositeSubrequestResult, HttpHeaders};
use crate::shapes::respond;

/// `GET /composite`: the composite resources.
pub(crate) async fn resources(call: Call) -> Response {
    let base = call.base();
    let body = CompositeResources {
        tree: format!("{base}/composite/tree"),
        batch: format!("{base}/composite/batch"),
        sobjects: format!("{base}/composite/sobjects"),
        graph: format!("{base}/composite/graph"),
    };
    respond(StatusCode::OK, &body)
}

/// `400 PROCESSING_HALTED` with `message`: a subrequest not run, or rolled back, because
/// another one failed.
pub(crate) fn halted(message: impl Into<String>) -> Reply {
    ApiError::new(StatusCode::BAD_REQUEST, Code::ProcessingHalted, message).into()
}

/// The message of subrequests rolled back with the one that failed.
pub(crate) const ROLLED_BACK: &str =
    "The transaction was rolled back since another operation in the same transaction failed.";

/// A malformed composite request: the whole call fails with 400 before anything runs.
pub(crate) fn malformed(message: impl Into<String>) -> ApiError {
    ApiError::json_parser(message)
}

/// A subrequest's entry in a `compositeResponse`.
pub(crate) fn response_entry<'a>(
    reply: &'a Reply,
    reference_id: &'a str,
) -> CompositeSubrequestResult<'a> {
    CompositeSubrequestResult {
        body: &reply.body,
        http_headers: HttpHeaders {
            location: reply.location.as_deref(),
        },
        http_status_code: reply.status.as_u16(),
        reference_id,
    }
}
