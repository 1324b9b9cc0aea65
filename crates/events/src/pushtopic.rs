//! PushTopic notifications (`org-rest-cdc.md` §3.5): the document the log stores on
//! `/topic/{Name}`, and how the Streaming API shows it (PushTopics have no Pub/Sub form).

use serde_json::{Map, Value, json};

/// The log kind of a topic's notifications.
pub fn kind(topic: &str) -> String {
    format!("/topic/{topic}")
}

/// A notification as the log stores it (the replay id is added when it is shown):
/// `operation` is `created`, `updated`, `deleted` or `undeleted`; `sobject` the fields the
/// topic's `SELECT` shapes.
pub fn notification(operation: &str, created_date: &str, sobject: Map<String, Value>) -> Vec<u8> {
    json!({"event": {"createdDate": created_date, "type": operation}, "sobject": sobject})
        .to_string()
        .into_bytes()
}

/// The `data` of a notification on the Streaming API.
pub fn cometd_data(entry: &[u8], replay_id: u64) -> Option<Value> {
    let stored: Value = serde_json::from_slice(entry).ok()?;
    let event = stored.get("event")?;
    Some(json!({
        "event": {"createdDate": event.get("createdDate")?, "replayId": replay_id, "type": event.get("type")?},
        "sobject": stored.get("sobject")?,
    }))
}

/// Whether a stored notification's `sobject` field `field` shows `want` (a subscription
/// filter, `/topic/{Name}?Field=value`): text as is, `null` for null or absent, other
/// values as JSON.
pub fn sobject_field_is(entry: &[u8], field: &str, want: &str) -> bool {
    let Ok(doc) = serde_json::from_slice::<Value>(entry) else {
        return false;
    };
    match doc["sobject"].get(field) {
        Some(Value::String(s)) => s == want,
        Some(Value::Null) | None => want == "null",
        Some(other) => serde_json::to_string(other).is_ok_and(|s| s == *want),
    }
}
