//! Generic streaming (`streaming-cometd.md` §2.7): a `StreamingChannel` record named
//! `/u/{Name}` is a channel; `push` appends strings to it, for every subscriber or for
//! listed users, kept 24 hours like PushTopic notifications.

use crate::error::{OrgError, StatusCode};
use crate::id::RecordId;
use crate::record::Record;

/// The object name.
pub const OBJECT: &str = "StreamingChannel";

/// Retention class (24 hours, with PushTopics).
pub const CLASS: u8 = forcebus_events::CLASS_NOTIFICATIONS;

/// Longest payload, in characters.
pub const MAX_PAYLOAD: usize = 3000;

/// One push: a payload for everyone (`user_ids` empty) or for the listed users.
#[derive(Debug, Clone)]
pub struct Push {
    /// The string delivered.
    pub payload: String,
    /// Recipients (18-character ids); empty means every subscriber.
    pub user_ids: Vec<String>,
}

/// Checks a channel record about to be saved.
pub(crate) fn check(r: &Record) -> Result<(), OrgError> {
    let name = r.get_str("Name").unwrap_or_default();
    let rest = name.strip_prefix("/u/").unwrap_or_default();
    if rest.is_empty()
        || !rest.split('/').all(|seg| {
            !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    {
        return Err(OrgError::field(
            StatusCode::InvalidField,
            "Streaming channel names start with /u/ followed by letters, digits, underscores and slashes",
            "Name",
        ));
    }
    Ok(())
}

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
                    StatusCode::StringTooLong,
                    format!("payload: data value too large (max length={MAX_PAYLOAD})"),
                ));
            }
            if let Some(bad) = p.user_ids.iter().find(|u| {
                RecordId::parse(u).is_none_or(|id| self.get(id).is_none_or(|r| r.object != "User"))
            }) {
                return Err(OrgError::new(
                    StatusCode::InvalidId,
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
            .map_err(|e| OrgError::new(StatusCode::UnknownException, e.to_string()))?;
        Ok(appended.iter().map(|e| e.replay_id).collect())
    }
}

/// Who is subscribed to a generic channel right now: the Streaming API knows, the push
/// resource asks (`GET …/StreamingChannel/{id}/push` lists the online users).
pub trait Presence: Send + Sync + std::fmt::Debug {
    /// Users with a live subscription to `channel`, each once, sorted.
    fn online_users(&self, channel: &str) -> Vec<RecordId>;
}
