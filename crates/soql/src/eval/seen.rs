//! What a user has seen: the `LastViewedDate` and `LastReferencedDate` of records, which
//! Salesforce keeps per user (set by `FOR VIEW` and `FOR REFERENCE`), not on the record.

use std::collections::HashMap;

use serde_json::Value as Json;

use forcebus_meta::RecordId;

/// When one user last viewed and referenced a record, as the REST API writes datetimes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenAt {
    /// `LastViewedDate`.
    pub viewed: Option<String>,
    /// `LastReferencedDate`.
    pub referenced: Option<String>,
}

impl SeenAt {
    /// The later of the two: when the record was last used.
    pub fn last(&self) -> Option<&str> {
        self.viewed.as_deref().max(self.referenced.as_deref())
    }
}

/// One user's [`SeenAt`] by record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen(pub HashMap<RecordId, SeenAt>);

impl Seen {
    /// The value of `field` on record `id` when it is one of the user's stamps: `None`
    /// for any other field, so the record's own value stands.
    pub fn stamp(&self, id: RecordId, field: &str) -> Option<Json> {
        let pick: fn(&SeenAt) -> &Option<String> = match field {
            "LastViewedDate" => |s| &s.viewed,
            "LastReferencedDate" => |s| &s.referenced,
            _ => return None,
        };
        let at = self.0.get(&id).and_then(|s| pick(s).clone());
        Some(at.map_or(Json::Null, Json::String))
    }
}
