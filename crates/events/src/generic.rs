//! Generic events (`streaming-cometd.md` §2.7): a push to a `/u/{Name}` channel, as the
//! log stores it and as the Streaming API shows it (generic events have no Pub/Sub form).

use serde_json::{Value, json};

/// A push as the log stores it: the payload string and, when it is for listed users only,
/// their 18-character ids.
pub fn document(created_date: &str, payload: &str, user_ids: &[String]) -> Vec<u8> {
    json!({"createdDate": created_date, "payload": payload, "userIds": user_ids})
        .to_string()
        .into_bytes()
}

/// The users a stored push is for, one id per line; empty when it is for everyone.
pub fn recipients(entry: &[u8]) -> Vec<u8> {
    serde_json::from_slice::<Value>(entry)
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
}

/// A generic event's Streaming API `data`.
pub fn cometd_data(entry: &[u8], replay_id: u64) -> Option<Value> {
    let doc: Value = serde_json::from_slice(entry).ok()?;
    Some(json!({
        "event": {"createdDate": doc.get("createdDate")?, "replayId": replay_id},
        "payload": doc.get("payload")?,
    }))
}
