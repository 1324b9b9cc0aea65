//! Bulk API 2.0's bodies as `load` and `export` send and read them: a new ingest or query
//! job, the state change that closes an upload, and a job's info.

use serde::{Deserialize, Serialize};

/// `POST /jobs/ingest`: a CSV ingest job of `object`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IngestJob<'a> {
    pub(crate) object: &'a str,
    /// `insert`, or `upsert` on `external_id_field_name`.
    pub(crate) operation: &'static str,
    pub(crate) content_type: &'static str,
    pub(crate) line_ending: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) external_id_field_name: Option<&'a str>,
}

impl<'a> IngestJob<'a> {
    /// An insert of CSV with LF line endings, or an upsert on `external_id`.
    pub(crate) fn csv(object: &'a str, external_id: Option<&'a str>) -> Self {
        Self {
            object,
            operation: if external_id.is_some() {
                "upsert"
            } else {
                "insert"
            },
            content_type: "CSV",
            line_ending: "LF",
            external_id_field_name: external_id,
        }
    }
}

/// `POST /jobs/query`.
#[derive(Debug, Serialize)]
pub(crate) struct QueryJob<'a> {
    /// `query`, or `queryAll` (deleted records too).
    pub(crate) operation: &'static str,
    pub(crate) query: &'a str,
}

/// `PATCH /jobs/ingest/{id}`: the job's next state (`UploadComplete`).
#[derive(Debug, Serialize)]
pub(crate) struct JobState {
    pub(crate) state: &'static str,
}

/// A job's info, as creating it and looking at it answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobInfo {
    pub(crate) id: Option<String>,
    pub(crate) operation: Option<String>,
    /// `Open`, `UploadComplete`, `InProgress`, `JobComplete`, `Failed`, `Aborted`.
    pub(crate) state: Option<String>,
    #[serde(default)]
    pub(crate) number_records_processed: u64,
    #[serde(default)]
    pub(crate) number_records_failed: u64,
    pub(crate) error_message: Option<String>,
}

impl JobInfo {
    /// Its state, empty when it has none.
    pub(crate) fn state(&self) -> &str {
        self.state.as_deref().unwrap_or("")
    }

    /// Whether it has ended.
    pub(crate) fn ended(&self) -> bool {
        matches!(self.state(), "JobComplete" | "Failed" | "Aborted")
    }

    /// Why it did not complete: its state and error message as JSON (`null` when
    /// absent), as the commands have always shown them.
    pub(crate) fn failure(&self) -> String {
        let json = |v: &Option<String>| serde_json::to_string(v).unwrap_or_default();
        format!(
            "the job ended {}: {}",
            json(&self.state),
            json(&self.error_message)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upsert_job_names_its_external_id_last() {
        let insert = serde_json::to_string(&IngestJob::csv("Account", None)).unwrap();
        assert_eq!(
            insert,
            r#"{"object":"Account","operation":"insert","contentType":"CSV","lineEnding":"LF"}"#
        );
        let upsert = serde_json::to_string(&IngestJob::csv("Account", Some("Ext__c"))).unwrap();
        assert_eq!(
            upsert,
            r#"{"object":"Account","operation":"upsert","contentType":"CSV","lineEnding":"LF","externalIdFieldName":"Ext__c"}"#
        );
    }

    #[test]
    fn a_failed_job_is_shown_with_its_state_and_message_as_json() {
        let info: JobInfo = serde_json::from_str(r#"{"id":"750","state":"Failed"}"#).unwrap();
        assert_eq!(info.failure(), r#"the job ended "Failed": null"#);
        assert!(info.ended());
    }
}
