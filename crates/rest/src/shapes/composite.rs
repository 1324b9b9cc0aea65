//! The composite family's answers: `/composite` (`CompositeResponse`, one
//! `CompositeSubrequestResult` a subrequest), `/composite/graph` (a `CompositeResponse` a
//! graph), `/composite/batch` (`BatchResults`), `/composite/tree` (`SObjectTreeResponse`),
//! and the list of the family's resources.

use serde::Serialize;
use serde_json::Value;

use forcebus_http::shapes::SaveError;

/// `GET /composite`: where the composite resources are.
#[derive(Debug, Serialize)]
pub(crate) struct CompositeResources {
    pub(crate) tree: String,
    pub(crate) batch: String,
    pub(crate) sobjects: String,
    pub(crate) graph: String,
}

/// `POST /composite`, and a graph's answer: each subrequest's result in request order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompositeResponse<'a> {
    pub(crate) composite_response: Vec<CompositeSubrequestResult<'a>>,
}

/// One subrequest's answer: its body, status and headers, by its reference id.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompositeSubrequestResult<'a> {
    pub(crate) body: &'a Value,
    pub(crate) http_headers: HttpHeaders<'a>,
    pub(crate) http_status_code: u16,
    pub(crate) reference_id: &'a str,
}

/// A subrequest's headers: the `Location` of a record it created, if it did.
#[derive(Debug, Serialize)]
pub(crate) struct HttpHeaders<'a> {
    #[serde(rename = "Location", skip_serializing_if = "Option::is_none")]
    pub(crate) location: Option<&'a str>,
}

/// `POST /composite/graph`: each graph's answer.
#[derive(Debug, Serialize)]
pub(crate) struct CompositeGraphResponse<'a> {
    pub(crate) graphs: Vec<GraphResponse<'a>>,
}

/// One graph's answer: its subrequests' results, and whether it was kept.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GraphResponse<'a> {
    pub(crate) graph_id: &'a str,
    pub(crate) graph_response: CompositeResponse<'a>,
    pub(crate) is_successful: bool,
}

/// `POST /composite/batch`: each subrequest's status and body, and whether any failed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BatchResults {
    pub(crate) has_errors: bool,
    pub(crate) results: Vec<BatchResult>,
}

/// One batch subrequest's answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BatchResult {
    pub(crate) status_code: u16,
    /// Its body as it would have answered alone (null when it had none).
    pub(crate) result: Value,
}

/// The error of a batch subrequest not run, after an earlier one failed (`haltOnError`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BatchHalted {
    pub(crate) error_code: &'static str,
    pub(crate) message: &'static str,
}

/// `POST /composite/tree/{X}`: each record's new id, or the records that failed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SObjectTreeResponse<'a> {
    pub(crate) has_errors: bool,
    pub(crate) results: Vec<TreeResult<'a>>,
}

/// A record of a tree, by its reference id: its id, or why it failed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TreeResult<'a> {
    pub(crate) reference_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) errors: Option<[SaveError; 1]>,
}
