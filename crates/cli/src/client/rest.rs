//! The REST API's bodies as the commands read them: Salesforce's error answer, a query's
//! pages, a search's records, a save result and an object's describe. Records stay JSON
//! values: their fields are the org's, not the client's.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One entry of Salesforce's error answer, `[{"message", "errorCode"}]` (Bulk API 2.0's
/// too).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiError {
    pub(crate) message: Option<String>,
    pub(crate) error_code: Option<String>,
}

impl ApiError {
    /// The first entry of an error answer, when `text` is one.
    pub(crate) fn first(text: &str) -> Option<Self> {
        serde_json::from_str::<Vec<Self>>(text)
            .ok()?
            .into_iter()
            .next()
    }

    /// `CODE: message`, when the entry has both.
    pub(crate) fn coded(&self) -> Option<String> {
        let (code, message) = (self.error_code.as_deref()?, self.message.as_deref()?);
        Some(format!("{code}: {message}"))
    }
}

/// An answer's text as JSON on one line (text that is not JSON as a JSON string), to
/// quote it in an error.
pub(crate) fn one_line(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .unwrap_or_else(|_| Value::String(text.to_owned()))
        .to_string()
}

/// A page of a query's answer, and (`done`, no next page) all of them as one.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QueryPage {
    /// The records of every page.
    #[serde(default)]
    pub(crate) total_size: u64,
    #[serde(default)]
    pub(crate) done: bool,
    /// Where the next page is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next_records_url: Option<String>,
    #[serde(default)]
    pub(crate) records: Vec<Value>,
}

/// A search's answer: `{"searchRecords": [...]}`, or a bare list of records.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum SearchAnswer {
    Listed(Vec<Value>),
    Found {
        #[serde(rename = "searchRecords", default)]
        records: Vec<Value>,
    },
}

impl SearchAnswer {
    /// The records found.
    pub(crate) fn records(self) -> Vec<Value> {
        match self {
            Self::Listed(records) | Self::Found { records } => records,
        }
    }
}

/// A write's save result.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SaveResult {
    pub(crate) id: Option<String>,
    #[serde(default)]
    pub(crate) errors: Vec<SaveError>,
}

/// One entry of a save result's `errors` (for a platform event, its `OPERATION_ENQUEUED`
/// entry with the `EventUuid` as the message).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SaveError {
    pub(crate) status_code: Option<String>,
    pub(crate) message: Option<String>,
}

/// An object's describe, as far as its field list.
#[derive(Debug, Deserialize)]
pub(crate) struct Describe {
    #[serde(default)]
    pub(crate) fields: Vec<DescribeField>,
}

/// One field of a describe: its name and type.
#[derive(Debug, Deserialize)]
pub(crate) struct DescribeField {
    pub(crate) name: Option<String>,
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
}
