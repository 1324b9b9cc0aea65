//! The sObject resources' bodies other than a record's: an object's replication lists
//! (`GetDeletedResult`, `GetUpdatedResult`), a user's password, and a generic streaming
//! channel's subscribers and push results.

use serde::Serialize;
use serde_json::{Map, Value};

/// `/sobjects/{X}/deleted`: the records deleted within the window.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetDeletedResult {
    pub(crate) deleted_records: Vec<DeletedRecord>,
    /// The earliest deletion the Recycle Bin still shows (the window's start when none).
    pub(crate) earliest_date_available: String,
    pub(crate) latest_date_covered: String,
}

/// One record of [`GetDeletedResult`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeletedRecord {
    pub(crate) id: String,
    pub(crate) deleted_date: String,
}

/// `/sobjects/{X}/updated`: the ids of the records changed within the window.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetUpdatedResult {
    pub(crate) ids: Vec<String>,
    pub(crate) latest_date_covered: String,
}

/// `GET /sobjects/User/{id}/password`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PasswordStatus {
    pub(crate) is_expired: bool,
}

/// `DELETE /sobjects/User/{id}/password`: the password made in place of the old one.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct NewPassword {
    pub(crate) new_password: String,
}

/// `GET /sobjects/StreamingChannel/{id}/push`: the channel and its subscribed users.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PushChannel<'a> {
    pub(crate) online_user_ids: Vec<String>,
    pub(crate) channel_name: &'a str,
}

/// One event's result of `POST /sobjects/StreamingChannel/{id}/push`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PushResult {
    /// How many listed users were online; for an event to every subscriber, -1 when
    /// someone was (Salesforce does not count them) and 0 when nobody was.
    pub(crate) fanout_count: i64,
    /// Each listed user's id and whether they were online, in the order given.
    pub(crate) user_online_status: Map<String, Value>,
}
