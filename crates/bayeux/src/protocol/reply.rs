//! The replies to meta messages as types, written straight to JSON text (no value built
//! first: a parked connect's reply is made for every long poll). Keys come in the order
//! Salesforce's clients have always seen from forcebus; an absent `id`, `clientId` or
//! `subscription` is left out, never `null`.

use serde::{Serialize, Serializer, ser::SerializeMap};
use serde_json::Value;

use super::Message;
use crate::error::BayeuxError;

/// What a reply tells the client to do next.
#[derive(Debug, Clone, Copy)]
pub(super) enum Advice {
    /// Handshake again at once: the session is unknown.
    Handshake,
    /// Stop: a refused handshake.
    Stop,
    /// Stop at once: the token is invalid, or the session ended.
    StopNow,
    /// Connect again at once, held for `timeout` milliseconds at most.
    Retry {
        /// The connect hold, in milliseconds.
        timeout: u64,
    },
}

impl Serialize for Advice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            Self::Handshake => {
                m.serialize_entry("interval", &0)?;
                m.serialize_entry("reconnect", "handshake")?;
            }
            Self::Stop => m.serialize_entry("reconnect", "none")?,
            Self::StopNow => {
                m.serialize_entry("reconnect", "none")?;
                m.serialize_entry("interval", &0)?;
            }
            Self::Retry { timeout } => {
                m.serialize_entry("interval", &0)?;
                m.serialize_entry("timeout", timeout)?;
                m.serialize_entry("reconnect", "retry")?;
            }
        }
        m.end()
    }
}

/// A field echoed from the message: the JSON value the client sent, or text of ours.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(untagged)]
pub(super) enum Echo<'a> {
    /// As sent, whatever its type.
    Sent(&'a Value),
    /// Text the server settled on (a session id, a subscription name).
    Text(&'a str),
}

/// The reply to a connect, subscribe, unsubscribe or disconnect, and every failure but a
/// refused handshake's and an unknown client's.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Reply<'a> {
    channel: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<Echo<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscription: Option<Echo<'a>>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "text")]
    error: Option<&'a BayeuxError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    advice: Option<Advice>,
    successful: bool,
}

impl<'a> Reply<'a> {
    /// A successful reply on `channel` to `msg` for the session `client_id`.
    pub(super) fn success(msg: &'a Message, channel: &'a str, client_id: &'a str) -> Self {
        Self {
            channel,
            id: msg.id.as_ref(),
            client_id: Some(Echo::Text(client_id)),
            subscription: None,
            error: None,
            advice: None,
            successful: true,
        }
    }

    /// A failed reply: the message's `clientId` and `subscription` echoed, the error.
    pub(super) fn failure(msg: &'a Message, channel: &'a str, error: &'a BayeuxError) -> Self {
        Self {
            channel,
            id: msg.id.as_ref(),
            client_id: msg.client_id.as_ref().map(Echo::Sent),
            subscription: msg.subscription.as_ref().map(Echo::Sent),
            error: Some(error),
            advice: None,
            successful: false,
        }
    }

    /// The subscription this reply names.
    pub(super) fn subscription(mut self, name: &'a str) -> Self {
        self.subscription = Some(Echo::Text(name));
        self
    }

    /// Advice for the client.
    pub(super) fn advice(mut self, advice: Advice) -> Self {
        self.advice = Some(advice);
        self
    }

    /// The reply as JSON text.
    pub(super) fn text(&self) -> String {
        to_text(self)
    }
}

/// `403::Unknown client` with handshake advice, as Salesforce answers it
/// (`streaming-cometd.md` §2.3): the `clientId` sent is not echoed (it names no session).
/// When one was sent, `successful` comes right after the `id`: the place the `clientId`
/// had when this reply was a failure's with that key taken out, kept so the text stays
/// the same.
#[derive(Debug, Serialize)]
pub(super) struct UnknownClient<'a> {
    channel: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a Value>,
    #[serde(rename = "successful", skip_serializing_if = "Option::is_none")]
    early_successful: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscription: Option<&'a Value>,
    #[serde(serialize_with = "display")]
    error: &'a BayeuxError,
    advice: Advice,
    #[serde(skip_serializing_if = "Option::is_none")]
    successful: Option<bool>,
}

impl<'a> UnknownClient<'a> {
    /// The reply on `channel` to `msg`.
    pub(super) fn to(msg: &'a Message, channel: &'a str) -> Self {
        let sent_client = msg.client_id.is_some();
        Self {
            channel,
            id: msg.id.as_ref(),
            early_successful: sent_client.then_some(false),
            subscription: msg.subscription.as_ref(),
            error: &BayeuxError::UnknownClient,
            advice: Advice::Handshake,
            successful: (!sent_client).then_some(false),
        }
    }

    /// The reply as JSON text.
    pub(super) fn text(&self) -> String {
        to_text(self)
    }
}

/// The `ext` of a successful handshake: the replay extension and the payload format.
#[derive(Debug, Serialize)]
struct Extensions {
    replay: bool,
    #[serde(rename = "payload.format")]
    payload_format: bool,
}

/// A successful handshake: the new session's id, long polling only.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Handshake<'a> {
    channel: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a Value>,
    ext: Extensions,
    minimum_version: &'static str,
    client_id: &'a str,
    supported_connection_types: [&'static str; 1],
    version: &'static str,
    successful: bool,
}

impl<'a> Handshake<'a> {
    /// The reply to `msg` that opened the session `client_id`.
    pub(super) fn new(msg: &'a Message, client_id: &'a str) -> Self {
        Self {
            channel: "/meta/handshake",
            id: msg.id.as_ref(),
            ext: Extensions {
                replay: true,
                payload_format: true,
            },
            minimum_version: "1.0",
            client_id,
            supported_connection_types: ["long-polling"],
            version: "1.0",
            successful: true,
        }
    }

    /// The reply as JSON text.
    pub(super) fn text(&self) -> String {
        to_text(self)
    }
}

/// Salesforce's own extension of a refused handshake: why it was refused.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Refusal<'a> {
    #[serde(serialize_with = "display")]
    failure_reason: &'a BayeuxError,
}

/// The `ext` of a refused handshake.
#[derive(Debug, Serialize)]
struct RefusalExtensions<'a> {
    sfdc: Refusal<'a>,
    replay: bool,
}

/// A refused handshake: `403::Handshake denied`, the reason in `ext.sfdc`.
#[derive(Debug, Serialize)]
pub(super) struct Denied<'a> {
    channel: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a Value>,
    ext: RefusalExtensions<'a>,
    advice: Advice,
    #[serde(serialize_with = "display")]
    error: &'static BayeuxError,
    successful: bool,
}

impl<'a> Denied<'a> {
    /// The refusal of `msg` for `reason`.
    pub(super) fn new(msg: &'a Message, reason: &'a BayeuxError) -> Self {
        Self {
            channel: "/meta/handshake",
            id: msg.id.as_ref(),
            ext: RefusalExtensions {
                sfdc: Refusal {
                    failure_reason: reason,
                },
                replay: true,
            },
            advice: Advice::Stop,
            error: &BayeuxError::HandshakeDenied,
            successful: false,
        }
    }

    /// The reply as JSON text.
    pub(super) fn text(&self) -> String {
        to_text(self)
    }
}

/// A reply's text: its keys are text, so writing it cannot fail.
fn to_text(reply: &impl Serialize) -> String {
    serde_json::to_string(reply).expect("a reply's keys are text")
}

/// An error as its wire text.
fn display<S: Serializer>(error: &&BayeuxError, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(error)
}

/// An optional error as its wire text (left out when absent).
fn text<S: Serializer>(error: &Option<&BayeuxError>, s: S) -> Result<S::Ok, S::Error> {
    match error {
        Some(e) => s.collect_str(e),
        None => s.serialize_none(),
    }
}
