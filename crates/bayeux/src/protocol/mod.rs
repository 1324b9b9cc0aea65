//! The meta channels (`streaming-cometd.md` §1–§2): a request's messages dispatched, one
//! file per channel (`handshake`, `connect`, `subscribe`, `unsubscribe`, `disconnect`),
//! with advice and Salesforce's errors ([`BayeuxError`]). Replies are JSON text: event
//! messages are encoded once per event and shared ([`crate::deliver`]), so a reply is
//! assembled from pieces rather than built as one value.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::Bayeux;
use crate::error::BayeuxError;

mod connect;
mod disconnect;
mod handshake;
mod message;
mod subscribe;
#[cfg(test)]
mod tests;

pub use message::{Message, ParseError};
mod unsubscribe;

/// Whether `/cometd/{version}` names a version that supports durable streaming (37.0+).
pub fn version_ok(v: &str) -> bool {
    v.split_once('.').is_some_and(|(major, minor)| {
        minor.chars().all(|c| c.is_ascii_digit())
            && major.parse::<u32>().is_ok_and(|m| (37..100).contains(&m))
    })
}

/// The messages of a POST body: a JSON array, or one bare message object.
pub fn parse(body: &[u8]) -> Result<Vec<Message>, ParseError> {
    Message::parse_body(body)
}

/// A reply's start: its channel and the message's `id`.
fn base(msg: &Message, channel: &str) -> Map<String, Value> {
    let mut r = Map::new();
    r.insert("channel".into(), json!(channel));
    if let Some(id) = &msg.id {
        r.insert("id".into(), id.clone());
    }
    r
}

/// A failed reply: the message's `clientId` and `subscription` echoed, the error, advice.
fn failure(msg: &Message, channel: &str, error: &BayeuxError, advice: Option<Value>) -> Value {
    let mut r = base(msg, channel);
    if let Some(c) = &msg.client_id {
        r.insert("clientId".into(), c.clone());
    }
    if let Some(s) = &msg.subscription {
        r.insert("subscription".into(), s.clone());
    }
    r.insert("error".into(), json!(error.to_string()));
    if let Some(a) = advice {
        r.insert("advice".into(), a);
    }
    r.insert("successful".into(), json!(false));
    Value::Object(r)
}

/// `403::Unknown client` with handshake advice, and without the `clientId` (which names no
/// session), as Salesforce answers it (`streaming-cometd.md` §2.3).
fn unknown_client(msg: &Message, channel: &str) -> Value {
    let mut reply = failure(
        msg,
        channel,
        &BayeuxError::UnknownClient,
        Some(json!({"interval": 0, "reconnect": "handshake"})),
    );
    if let Value::Object(r) = &mut reply {
        r.remove("clientId");
    }
    reply
}

/// Handshakes one request may carry; further ones in the same batch are refused.
const MAX_HANDSHAKES_PER_REQUEST: usize = 1;

/// Processes one POST: replies (and, on connects, events first) as a JSON array text.
pub async fn process(
    bx: &Arc<Bayeux>,
    messages: Vec<Message>,
    (token, peer): (Option<&str>, Option<std::net::SocketAddr>),
    version: &str,
) -> String {
    let api: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let batched = messages.len() > 1;
    // Replies are values; event messages arrive already encoded and are copied in as text.
    let mut out: Vec<String> = Vec::new();
    let mut handshakes = 0;
    for msg in &messages {
        let channel = msg.channel.as_str();
        match channel {
            "/meta/handshake" => {
                // A client handshakes once per session; a batch of handshakes would let
                // one small request use up the user's whole session allowance.
                handshakes += 1;
                let reply = if handshakes > MAX_HANDSHAKES_PER_REQUEST {
                    failure(
                        msg,
                        "/meta/handshake",
                        &BayeuxError::OneHandshakePerRequest,
                        Some(json!({"reconnect": "none"})),
                    )
                } else {
                    handshake::handshake(bx, msg, (token, peer), api)
                };
                out.push(reply.to_string());
            }
            "/meta/connect" | "/meta/subscribe" | "/meta/unsubscribe" | "/meta/disconnect" => {
                session_message(bx, msg, channel, token, batched, &mut out).await;
            }
            "" => out.push(failure(msg, "", &BayeuxError::ChannelNotSpecified, None).to_string()),
            other => {
                out.push(failure(msg, other, &BayeuxError::PublishNotAllowed, None).to_string())
            }
        }
    }
    if out.is_empty() {
        out.push(
            failure(
                &Message::default(),
                "/meta/connect",
                &BayeuxError::EmptyBatch,
                None,
            )
            .to_string(),
        );
    }
    format!("[{}]", out.join(","))
}

/// A message on a session's meta channel: the clientId must be a live session of the
/// token's user (to anyone else it is unknown, so another user's token can neither read
/// nor end the session); then the channel's own handling.
async fn session_message(
    bx: &Arc<Bayeux>,
    msg: &Message,
    channel: &str,
    token: Option<&str>,
    batched: bool,
    out: &mut Vec<String>,
) {
    let id = msg.client_id();
    let epoch = bx.org.controls().session_epoch();
    let Some(session) = bx.sessions.get(id, bx.config.session_timeout, epoch) else {
        out.push(unknown_client(msg, channel).to_string());
        return;
    };
    let Some(caller) = token.and_then(|t| bx.auth.verify(t)) else {
        let advice = json!({"reconnect": "none", "interval": 0});
        let reply = failure(
            msg,
            channel,
            &BayeuxError::AuthenticationInvalid,
            Some(advice),
        );
        out.push(reply.to_string());
        return;
    };
    if caller.user_id != session.user {
        out.push(unknown_client(msg, channel).to_string());
        return;
    }
    match channel {
        "/meta/connect" => {
            let token = token.unwrap_or_default();
            let (events, reply) = connect::connect(bx, &session, msg, batched, token).await;
            out.extend(events);
            out.push(reply.to_string());
        }
        "/meta/subscribe" => out.push(subscribe::subscribe(bx, &session, msg).to_string()),
        "/meta/unsubscribe" => out.push(unsubscribe::unsubscribe(&session, msg).to_string()),
        _ => out.push(disconnect::disconnect(bx, &session, msg).to_string()),
    }
}
