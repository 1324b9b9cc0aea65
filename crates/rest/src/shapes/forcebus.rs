//! forcebus's own endpoints' bodies, for the console and for debugging an integration:
//! the live subscribers (`Subscribers`), every event type's schema ids (`SchemaIds`), the
//! request journal, the event log as JSON (`EventLog`), the events a test control
//! published (`PublishedEvents`), and the platform event definitions.

use serde::Serialize;
use serde_json::Value;

use forcebus_org::platform::EventConfig;

/// `GET /forcebus/v1/subscribers`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Subscribers {
    pub(crate) last_replay_id: u64,
    pub(crate) subscribers: Vec<Subscriber>,
}

/// One subscription of a streaming client, and how far behind the log it is.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Subscriber {
    /// `cometd`, `pubsub` or `managed`.
    pub(crate) protocol: &'static str,
    pub(crate) id: String,
    pub(crate) user: String,
    pub(crate) address: Option<String>,
    pub(crate) channel: String,
    pub(crate) replay_id: u64,
    pub(crate) lag_events: u64,
    pub(crate) lag_seconds: f64,
    /// When it began.
    pub(crate) since: String,
}

/// `GET /forcebus/v1/schemas`.
#[derive(Debug, Serialize)]
pub(crate) struct SchemaIds {
    pub(crate) schemas: Vec<EventSchemaIds>,
}

/// An event type's schema ids, the current one last.
#[derive(Debug, Serialize)]
pub(crate) struct EventSchemaIds {
    pub(crate) name: String,
    /// `change` or `platform`.
    pub(crate) kind: &'static str,
    pub(crate) current: Option<String>,
    pub(crate) ids: Vec<String>,
}

/// `GET /forcebus/v1/requests`: the org's recent API calls, newest first.
#[derive(Debug, Serialize)]
pub(crate) struct Requests {
    pub(crate) requests: Vec<forcebus_http::journal::Entry>,
}

/// `GET /forcebus/v1/events`: events after a replay id.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventLog {
    pub(crate) last_replay_id: u64,
    pub(crate) events: Vec<LoggedEvent>,
}

/// An event as the log keeps it, with its Avro payload (base64) when it is a change
/// event.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoggedEvent {
    pub(crate) replay_id: u64,
    pub(crate) kind: String,
    pub(crate) time_ms: i64,
    pub(crate) event: Value,
    pub(crate) avro: Option<String>,
}

/// `POST /forcebus/v1/control/gap`: the events published.
#[derive(Debug, Serialize)]
pub(crate) struct PublishedEvents {
    pub(crate) events: Vec<PublishedEvent>,
}

/// A published event: its replay id and header.
#[derive(Debug, Serialize)]
pub(crate) struct PublishedEvent {
    #[serde(rename = "replayId")]
    pub(crate) replay_id: u64,
    #[serde(rename = "ChangeEventHeader")]
    pub(crate) change_event_header: Value,
}

/// `GET /forcebus/v1/platform-events`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PlatformEventDefinitions<'a> {
    pub(crate) platform_events: Vec<PlatformEventDefinition<'a>>,
}

/// A platform event definition: its names, its schema id and the config it was made
/// from.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PlatformEventDefinition<'a> {
    pub(crate) name: &'a str,
    pub(crate) key_prefix: &'a str,
    pub(crate) schema_id: &'a str,
    pub(crate) config: &'a EventConfig,
}
