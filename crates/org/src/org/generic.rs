//! Generic streaming on the org: the channel records, and pushes appended to the log.

use crate::error::{Code, OrgError};
use crate::generic::{CLASS, MAX_PAYLOAD, OBJECT, Push};
use crate::id::RecordId;
use crate::record::Record;

impl crate::Org {
    /// The live channel record behind `id`.
    pub fn streaming_channel(&self, id: &str) -> Option<Record> {
        RecordId::parse(id)
            .and_then(|i| self.get(i))
            .filter(|r| r.object == OBJECT && !r.is_deleted)
    }

    /// Pushes payloads to a channel; each is in the log when this returns.
    pub fn push(&self, channel: &Record, pushes: &[Push]) -> Result<Vec<u64>, OrgError> {
        let name = channel.get_str("Name").unwrap_or_default().to_owned();
        for p in pushes {
            if p.payload.chars().count() > MAX_PAYLOAD {
                return Err(OrgError::new(
                    Code::StringTooLong,
                    format!("payload: data value too large (max length={MAX_PAYLOAD})"),
                ));
            }
            if let Some(bad) = p.user_ids.iter().find(|u| {
                RecordId::parse(u).is_none_or(|id| self.get(id).is_none_or(|r| r.object != "User"))
            }) {
                return Err(OrgError::new(
                    Code::InvalidId,
                    format!("Invalid user id: {bad}"),
                ));
            }
        }
        let now = self.clock().now();
        let created = now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        let events = pushes
            .iter()
            .map(|p| {
                let users: Vec<String> = p
                    .user_ids
                    .iter()
                    .filter_map(|u| RecordId::parse(u).map(|i| i.to18()))
                    .collect();
                forcebus_eventlog::NewEvent {
                    kind: name.clone(),
                    class: CLASS,
                    payload: forcebus_events::generic::document(&created, &p.payload, &users),
                }
            })
            .collect();
        let batch = forcebus_store::Batch::new();
        let appended = self
            .log()
            .commit(events, now.timestamp_millis(), batch)
            .and_then(forcebus_eventlog::Commit::wait)
            .map_err(|e| OrgError::storage(&e))?;
        Ok(appended.iter().map(|e| e.replay_id).collect())
    }
}
