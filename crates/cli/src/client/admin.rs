//! The bodies of forcebus's own APIs as the commands send and read them: the orgs
//! (`/forcebus/v1/orgs`: a new org, the list, an org's token) and the test controls
//! (`/forcebus/v1/control/…`). A request's keys are written in the order the commands
//! always wrote them; a key a flag did not ask for is left out.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /forcebus/v1/orgs`: its name and config sections, each only when given.
#[derive(Debug, Serialize)]
pub(crate) struct NewOrg<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<&'a str>,
    /// The sections of a config file (users, app, objects, …) as the file has them: the
    /// server reads them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) config: Option<Value>,
}

/// `POST /forcebus/v1/orgs/{id}/token`'s answer, as far as a command reads it.
#[derive(Debug, Deserialize)]
pub(crate) struct IssuedToken {
    pub(crate) access_token: Option<String>,
}

/// `GET /forcebus/v1/orgs`: the orgs, the default one first.
#[derive(Debug, Deserialize)]
pub(crate) struct OrgList {
    #[serde(default)]
    pub(crate) orgs: Vec<OrgEntry>,
}

/// One org of the list.
#[derive(Debug, Deserialize)]
pub(crate) struct OrgEntry {
    pub(crate) org_id: String,
    pub(crate) name: String,
    /// Whether it is open (a made org rests while idle).
    #[serde(default)]
    pub(crate) loaded: bool,
    /// Its records and retained events (`null` when no node reported it).
    pub(crate) records: Option<u64>,
    pub(crate) events: Option<u64>,
    /// Its event log and subscribers, when it is open.
    #[serde(default)]
    pub(crate) log: Option<LogFigures>,
    #[serde(default)]
    pub(crate) subscribers: Option<SubscriberFigures>,
}

/// An open org's event log.
#[derive(Debug, Deserialize)]
pub(crate) struct LogFigures {
    pub(crate) bytes: u64,
    pub(crate) last_replay_id: u64,
}

/// An open org's subscribers.
#[derive(Debug, Deserialize)]
pub(crate) struct SubscriberFigures {
    pub(crate) cometd: u64,
    pub(crate) pubsub: u64,
    /// The events the furthest-behind one has still to receive.
    pub(crate) lag_events: u64,
}

/// A test control's request body (`POST /forcebus/v1/control/{clock,gap,streaming,pubsub,rules}`).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum ControlBody<'a> {
    Clock(ClockControl),
    Gap(GapControl<'a>),
    Streaming(StreamingControl),
    Pubsub(PubsubControl<'a>),
    Rules(RulesControl),
}

/// `/control/rules`: the org's validation rules off (a data load) or on.
#[derive(Debug, Serialize)]
pub(crate) struct RulesControl {
    pub(crate) validation_rules: bool,
}

/// `/control/clock`: move the org's clock forward, hold it or let it run.
#[derive(Debug, Serialize)]
pub(crate) struct ClockControl {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) advance_secs: Option<u64>,
    /// `true` holds the clock still, `false` lets it run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) freeze: Option<bool>,
}

/// `/control/gap`: a gap change event of `object` (its type and records), or an
/// overflow one.
#[derive(Debug, Serialize)]
pub(crate) struct GapControl<'a> {
    pub(crate) object: &'a str,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) overflow: bool,
    #[serde(rename = "changeType", skip_serializing_if = "Option::is_none")]
    pub(crate) change_type: Option<&'a str>,
    #[serde(rename = "recordIds", skip_serializing_if = "Option::is_none")]
    pub(crate) record_ids: Option<&'a [String]>,
}

/// `/control/streaming`: forget CometD sessions, delay delivery.
#[derive(Debug, Serialize)]
pub(crate) struct StreamingControl {
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) drop_sessions: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) delivery_delay_ms: Option<u64>,
}

/// `/control/pubsub`: fail calls, hold keepalives back, end or reset streams.
#[derive(Debug, Serialize)]
pub(crate) struct PubsubControl<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rpc: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) times: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) suppress_keepalives: Option<bool>,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) end_streams: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) reset_streams: bool,
}

fn is_false(b: &bool) -> bool {
    !b
}
