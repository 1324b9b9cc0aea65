//! Generic streaming (`streaming-cometd.md` §2.7): a `StreamingChannel` record named
//! `/u/{Name}` is a channel; `push` appends strings to it, for every subscriber or for
//! listed users, kept 24 hours like PushTopic notifications.

use crate::error::{Code, OrgError};
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
            Code::InvalidField,
            "Streaming channel names start with /u/ followed by letters, digits, underscores and slashes",
            "Name",
        ));
    }
    Ok(())
}

/// Who is subscribed to a generic channel right now: the Streaming API knows, the push
/// resource asks (`GET …/StreamingChannel/{id}/push` lists the online users).
pub trait Presence: Send + Sync + std::fmt::Debug {
    /// Users with a live subscription to `channel`, each once, sorted.
    fn online_users(&self, channel: &str) -> Vec<RecordId>;
}
