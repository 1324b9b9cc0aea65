//! SOQL's and SOSL's answers: a page of query results (`QueryResult`, and the Tooling
//! API's `ToolingQueryResult` of its schema objects), a query plan (`?explain=`), and a
//! search's records with the labels of their fields (`SearchResult`).

use serde::Serialize;
use serde_json::Value;

/// A page of query results, as `/query`, `/queryAll` and their locators answer (and a
/// child relationship's records longer than a page).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QueryResult {
    pub(crate) total_size: usize,
    pub(crate) done: bool,
    /// Where the next page is, until the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_records_url: Option<String>,
    pub(crate) records: Vec<Value>,
}

/// The Tooling API's answer to a query of its schema objects: every row in one page.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolingQueryResult<'a> {
    pub(crate) size: usize,
    pub(crate) total_size: usize,
    pub(crate) done: bool,
    pub(crate) query_locator: (),
    pub(crate) entity_type_name: &'a str,
    pub(crate) records: Vec<Value>,
}

/// `?explain=`: the plan the Query Plan tool shows.
#[derive(Debug, Serialize)]
pub(crate) struct ExplainResult<'a> {
    pub(crate) plans: [QueryPlan<'a>; 1],
}

/// How a query runs: where it starts, and what it costs against a table scan.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QueryPlan<'a> {
    pub(crate) cardinality: usize,
    pub(crate) fields: [(); 0],
    /// `Index` or `TableScan`.
    pub(crate) leading_operation_type: &'static str,
    pub(crate) notes: [(); 0],
    pub(crate) relative_cost: f64,
    pub(crate) sobject_cardinality: usize,
    pub(crate) sobject_type: &'a str,
}

/// `GET /search` and `/parameterizedSearch` from API 36.0: the records found, and the
/// labels of their fields when the search asks `WITH METADATA = 'LABELS'`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SearchResult {
    pub(crate) search_records: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) metadata: Option<SearchResultsMetadata>,
}

/// What a search says of the objects it found.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SearchResultsMetadata {
    pub(crate) entity_metadata: Vec<EntitySearchMetadata>,
}

/// An object found: the labels of the fields returned.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EntitySearchMetadata {
    pub(crate) entity_name: String,
    pub(crate) field_metadata: Vec<FieldLevelSearchMetadata>,
}

/// A field returned, with its label.
#[derive(Debug, Serialize)]
pub(crate) struct FieldLevelSearchMetadata {
    pub(crate) name: String,
    pub(crate) label: String,
}
