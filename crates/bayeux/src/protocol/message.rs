//! An incoming Bayeux message, typed: the fields the server reads, taken out of the JSON
//! object once. Fields a reply echoes (`id`, `clientId`, `subscription`) keep the JSON
//! value the client sent, whatever its type; the others are read leniently, as Salesforce
//! does: a field of the wrong type counts as absent, and unknown fields are ignored.

use std::fmt;

use serde_json::{Map, Value};

/// Why a request body holds no messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not JSON (the parser's explanation).
    InvalidJson(String),
    /// An element of the array that is not an object.
    NotAnObject,
    /// Neither a message nor an array of them.
    NotMessages,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidJson(e) => write!(f, "Invalid JSON: {e}"),
            Self::NotAnObject => f.write_str("Every Bayeux message must be an object"),
            Self::NotMessages => {
                f.write_str("The body must be a Bayeux message or an array of them")
            }
        }
    }
}

/// One message of a request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    /// `channel`; empty when absent or not text.
    pub channel: String,
    /// `id`, echoed in the reply as sent.
    pub id: Option<Value>,
    /// `clientId` as sent (failures echo it).
    pub client_id: Option<Value>,
    /// `subscription` as sent (failures echo it).
    pub subscription: Option<Value>,
    /// `ext.replay`: a subscribe's replay map, as sent (boxed: only a subscribe has one,
    /// and a parked connect keeps its message).
    pub replay: Option<Box<Value>>,
    /// `advice.timeout` of a connect, when it is a number (0 asks for an immediate reply).
    pub advice_timeout: Option<i64>,
    /// `supportedConnectionTypes` of a handshake, when it is an array.
    pub connection_types: Option<Vec<Value>>,
}

/// The fields of one message object the server reads, as sent (the last of a duplicated
/// field), before they are read leniently into a [`Message`].
#[derive(Default)]
pub(super) struct Fields {
    pub(super) channel: Option<Value>,
    pub(super) id: Option<Value>,
    pub(super) client_id: Option<Value>,
    pub(super) subscription: Option<Value>,
    pub(super) ext: Option<Value>,
    pub(super) advice: Option<Value>,
    pub(super) connection_types: Option<Value>,
}

impl Fields {
    /// The fields taken out of a message object already parsed into a JSON map.
    fn of_object(mut m: Map<String, Value>) -> Self {
        Self {
            channel: m.remove("channel"),
            id: m.remove("id"),
            client_id: m.remove("clientId"),
            subscription: m.remove("subscription"),
            ext: m.remove("ext"),
            advice: m.remove("advice"),
            connection_types: m.remove("supportedConnectionTypes"),
        }
    }

    /// The message they make: a field of the wrong type counts as absent.
    pub(super) fn into_message(self) -> Message {
        let replay = match self.ext {
            Some(Value::Object(mut ext)) => ext.remove("replay").map(Box::new),
            _ => None,
        };
        let advice_timeout = self
            .advice
            .as_ref()
            .and_then(|a| a.get("timeout"))
            .and_then(Value::as_i64);
        let connection_types = match self.connection_types {
            Some(Value::Array(types)) => Some(types),
            _ => None,
        };
        let channel = match self.channel {
            Some(Value::String(c)) => c,
            _ => String::new(),
        };
        Message {
            channel,
            id: self.id,
            client_id: self.client_id,
            subscription: self.subscription,
            replay,
            advice_timeout,
            connection_types,
        }
    }
}

impl Message {
    /// The message a JSON object (already parsed) makes.
    pub fn from_object(m: Map<String, Value>) -> Self {
        Fields::of_object(m).into_message()
    }

    /// The messages of a POST body (a JSON array of objects, or one bare object) through a
    /// JSON value: the body parsed whole, then each object's fields taken out of it. It
    /// says why a body holds no messages; [`super::parse`] reads most bodies faster.
    pub fn parse_body(body: &[u8]) -> Result<Vec<Self>, ParseError> {
        let value = serde_json::from_slice::<Value>(body)
            .map_err(|e| ParseError::InvalidJson(e.to_string()))?;
        match value {
            Value::Array(items) => {
                // Sized exactly: a parked connect keeps its messages, and a collect through
                // `Result` would reserve room for four.
                let mut messages = Vec::with_capacity(items.len());
                for m in items {
                    match m {
                        Value::Object(o) => messages.push(Self::from_object(o)),
                        _ => return Err(ParseError::NotAnObject),
                    }
                }
                Ok(messages)
            }
            Value::Object(o) => Ok(vec![Self::from_object(o)]),
            _ => Err(ParseError::NotMessages),
        }
    }

    /// `clientId` as text; empty when absent or not text.
    pub fn client_id(&self) -> &str {
        self.client_id
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `subscription` as text; empty when absent or not text.
    pub fn subscription_name(&self) -> &str {
        self.subscription
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}
