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

impl Message {
    /// The fields of one JSON object.
    pub fn from_object(mut m: Map<String, Value>) -> Self {
        let replay = match m.remove("ext") {
            Some(Value::Object(mut ext)) => ext.remove("replay").map(Box::new),
            _ => None,
        };
        let advice_timeout = m
            .get("advice")
            .and_then(|a| a.get("timeout"))
            .and_then(Value::as_i64);
        let connection_types = match m.remove("supportedConnectionTypes") {
            Some(Value::Array(types)) => Some(types),
            _ => None,
        };
        Self {
            channel: m
                .get("channel")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            id: m.remove("id"),
            client_id: m.remove("clientId"),
            subscription: m.remove("subscription"),
            replay,
            advice_timeout,
            connection_types,
        }
    }

    /// The messages of a POST body: a JSON array of objects, or one bare object.
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
