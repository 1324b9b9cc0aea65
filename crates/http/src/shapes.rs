//! The bodies clients parse, as types: a save result (`{"id", "success", "errors"}`, the
//! answer to every write of the REST API, one per record in a collection or composite
//! request) and the error entries inside it.

use serde::Serialize;
use serde_json::Value;

use forcebus_org::{Code, OrgError, RecordId};

/// One entry of a save result's `errors`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SaveError {
    /// Salesforce's code (`REQUIRED_FIELD_MISSING`).
    pub status_code: &'static str,
    /// What went wrong.
    pub message: String,
    /// The fields concerned.
    pub fields: Vec<String>,
}

impl SaveError {
    /// The entry for `e` (an unexpected failure's text with its error id, as Salesforce
    /// words it).
    pub fn of(e: &OrgError) -> Self {
        let message = if e.code == Code::UnknownException {
            crate::error::unexpected(&e.message)
        } else {
            e.message.clone()
        };
        Self {
            status_code: e.code.as_str(),
            message,
            fields: e.fields.clone(),
        }
    }

    /// The `OPERATION_ENQUEUED` entry of a published platform event, its `EventUuid` as
    /// the message.
    pub fn enqueued(uuid: &str) -> Self {
        Self {
            status_code: Code::OperationEnqueued.as_str(),
            message: uuid.to_owned(),
            fields: Vec::new(),
        }
    }
}

/// A save result.
#[derive(Debug, Clone, Serialize)]
pub struct SaveResult {
    /// The record's 18-character id (absent from most failures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Whether the write happened.
    pub success: bool,
    /// Why not (or, for a platform event, its `OPERATION_ENQUEUED` entry).
    pub errors: Vec<SaveError>,
    /// For an upsert: whether it created the record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<bool>,
    /// The Tooling API's `warnings` and `infos` (always empty here).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub tooling: Option<ToolingExtras>,
}

/// The Tooling API's additions to a save result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ToolingExtras {
    warnings: [(); 0],
    infos: [(); 0],
}

impl SaveResult {
    /// A record written.
    pub fn ok(id: RecordId) -> Self {
        Self::ok18(id.to18())
    }

    /// A record written, its id given as the client shows it.
    pub fn ok18(id: String) -> Self {
        Self {
            id: Some(id),
            success: true,
            errors: Vec::new(),
            created: None,
            tooling: None,
        }
    }

    /// A record upserted: created, or updated.
    pub fn upserted(id: RecordId, created: bool) -> Self {
        Self {
            created: Some(created),
            ..Self::ok(id)
        }
    }

    /// A write that failed with `e`; `id` the record's, when the client named one.
    pub fn failed(e: &OrgError, id: Option<String>) -> Self {
        Self {
            id,
            success: false,
            // One entry per error of the write (each validation rule the record breaks).
            errors: std::iter::once(e)
                .chain(&e.also)
                .map(SaveError::of)
                .collect(),
            created: None,
            tooling: None,
        }
    }

    /// A Tooling API object created.
    pub fn tooling(id: String) -> Self {
        Self {
            tooling: Some(ToolingExtras::default()),
            ..Self::ok18(id)
        }
    }

    /// As JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn save_results_read_as_salesforce_writes_them() {
        let id = RecordId::parse("001Fb0000000001").unwrap();
        assert_eq!(
            SaveResult::ok(id).to_value(),
            json!({"id": id.to18(), "success": true, "errors": []})
        );
        assert_eq!(
            SaveResult::upserted(id, false).to_value(),
            json!({"id": id.to18(), "success": true, "errors": [], "created": false})
        );
        assert_eq!(
            SaveResult::tooling(id.to18()).to_value(),
            json!({"id": id.to18(), "success": true, "errors": [], "warnings": [], "infos": []})
        );
        let e = OrgError::field(
            Code::RequiredFieldMissing,
            "Required fields are missing: [Name]",
            "Name",
        );
        assert_eq!(
            SaveResult::failed(&e, None).to_value(),
            json!({"success": false, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Name]", "fields": ["Name"]}]})
        );
    }
}
