//! Generic streaming (`streaming-cometd.md` §2.7): a `StreamingChannel` record named
//! `/u/{Name}` is a channel; `push` appends strings to it, for every subscriber or for
//! listed users, kept 24 hours like PushTopic notifications.

use serde_json::{Value, json};

use crate::error::{OrgError, StatusCode};
use crate::id::RecordId;
use crate::record::Record;

/// The object name.
pub const OBJECT: &str = "StreamingChannel";

/// Retention class (24 hours, with PushTopics).
pub const CLASS: u8 = crate::pushtopic::CLASS;

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
                    payload:
                        json!({"createdDate": created, "payload": p.payload, "userIds": users})
                            .to_string()
                            .into_bytes(),
                }
            })
            .collect();
        let mut ticket = 0;
        let appended = self
            .log
            .append_unpublished(events, now.timestamp_millis(), |writes| {
                let mut batch = forcebus_store::Batch::new();
                batch.writes.extend(writes);
                ticket = self.store.commit_unsynced(&batch)?;
                Ok::<_, forcebus_store::StoreError>(())
            })
            .and_then(|a| self.durable(ticket, &a).map(|()| a))
            .map_err(|e| OrgError::new(StatusCode::UnknownException, e.to_string()))?;
        Ok(appended.iter().map(|e| e.replay_id).collect())
    }

    /// The log channel behind `/u/{Name}` as `user` sees it (pushes for everyone, and
    /// those listing the user).
    pub fn generic_channel(
        &self,
        name: &str,
        user: RecordId,
    ) -> Option<forcebus_eventlog::Channel> {
        name.strip_prefix("/u/")?;
        let exists = !self
            .scan(OBJECT, |r| {
                (!r.is_deleted && r.get_str("Name") == Some(name)).then_some(())
            })
            .is_empty();
        if !exists {
            return None;
        }
        let me = user.to18();
        let mut channel = forcebus_eventlog::Channel::of(&[name], CLASS);
        channel.filter = Some(std::sync::Arc::new(move |e: &forcebus_eventlog::Event| {
            let users = e.encoded("users", |e| {
                serde_json::from_slice::<Value>(&e.payload)
                    .ok()
                    .and_then(|d| {
                        d["userIds"].as_array().map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join("\n")
                        })
                    })
                    .unwrap_or_default()
                    .into_bytes()
                    .into()
            });
            users.is_empty() || users.split(|b| *b == b'\n').any(|u| u == me.as_bytes())
        }));
        Some(channel)
    }
}

/// A generic event's Streaming API `data`.
pub fn cometd_data(e: &forcebus_eventlog::Event) -> Option<Value> {
    let doc: Value = serde_json::from_slice(&e.payload).ok()?;
    Some(json!({
        "event": {"createdDate": doc.get("createdDate")?, "replayId": e.replay_id},
        "payload": doc.get("payload")?,
    }))
}

/// Who is subscribed to a channel right now: the Streaming API registers it, the push
/// resource asks it.
#[derive(Clone)]
pub struct Presence(pub std::sync::Arc<OnlineUsers>);

/// Users subscribed to a channel.
pub type OnlineUsers = dyn Fn(&str) -> Vec<RecordId> + Send + Sync;

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Presence")
    }
}

impl crate::Org {
    /// Registers who answers [`crate::Org::online_users`].
    pub fn set_presence(&self, p: Presence) {
        *self.presence.write().unwrap_or_else(|e| e.into_inner()) = Some(p);
    }

    /// Users with a live subscription to `channel` (none when nothing is registered).
    pub fn online_users(&self, channel: &str) -> Vec<RecordId> {
        let p = self
            .presence
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut users = p.map(|p| (p.0)(channel)).unwrap_or_default();
        users.sort();
        users.dedup();
        users
    }
}
