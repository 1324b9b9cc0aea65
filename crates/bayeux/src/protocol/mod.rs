//! The meta channels (`streaming-cometd.md` §1–§2): a request's messages dispatched, one
//! file per channel (`handshake`, `connect`, `subscribe`, `unsubscribe`, `disconnect`),
//! with advice and Salesforce's errors ([`BayeuxError`]); `message` and `read`: a request's
//! messages parsed; `reply`: the replies as types; `batch`: the answer they are written
//! into. Replies are JSON text: event messages are encoded once per event and shared
//! ([`crate::deliver`]), so an answer is assembled from pieces, written one after another
//! into its text, rather than built as one value.

use std::sync::Arc;

use crate::Bayeux;
use crate::error::BayeuxError;
use batch::Batch;
use reply::{Advice, Reply, UnknownClient};

mod batch;
mod connect;
mod disconnect;
mod handshake;
mod message;
mod read;
mod reply;
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

/// The messages of a POST body: a JSON array, or one bare message object. Read straight
/// from the text ([`read`]); a body that cannot be read so is read again into a JSON
/// value, which says why it holds no messages.
pub fn parse(body: &[u8]) -> Result<Vec<Message>, ParseError> {
    match read::messages(body) {
        Some(messages) => Ok(messages),
        None => Message::parse_body(body),
    }
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
    let mut out = Batch::new();
    let mut handshakes = 0;
    for msg in &messages {
        let channel = msg.channel.as_str();
        match channel {
            "/meta/handshake" => {
                // A client handshakes once per session; a batch of handshakes would let
                // one small request use up the user's whole session allowance.
                handshakes += 1;
                let reply = if handshakes > MAX_HANDSHAKES_PER_REQUEST {
                    Reply::failure(msg, channel, &BayeuxError::OneHandshakePerRequest)
                        .advice(Advice::Stop)
                        .text()
                } else {
                    handshake::handshake(bx, msg, (token, peer), api)
                };
                out.push(&reply);
            }
            "/meta/connect" | "/meta/subscribe" | "/meta/unsubscribe" | "/meta/disconnect" => {
                session_message(bx, msg, channel, token, batched, &mut out).await;
            }
            "" => out.push(&Reply::failure(msg, "", &BayeuxError::ChannelNotSpecified).text()),
            other => out.push(&Reply::failure(msg, other, &BayeuxError::PublishNotAllowed).text()),
        }
    }
    if out.messages() == 0 {
        let empty = Message::default();
        out.push(&Reply::failure(&empty, "/meta/connect", &BayeuxError::EmptyBatch).text());
    }
    out.finish()
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
    out: &mut Batch,
) {
    let id = msg.client_id();
    let epoch = bx.org.controls().session_epoch();
    let Some(session) = bx.sessions.get(id, bx.config.session_timeout, epoch) else {
        out.push(&UnknownClient::to(msg, channel).text());
        return;
    };
    let Some(caller) = token.and_then(|t| bx.auth.verify(t)) else {
        let reply = Reply::failure(msg, channel, &BayeuxError::AuthenticationInvalid)
            .advice(Advice::StopNow);
        out.push(&reply.text());
        return;
    };
    if caller.user_id != session.user {
        out.push(&UnknownClient::to(msg, channel).text());
        return;
    }
    match channel {
        "/meta/connect" => {
            let token = token.unwrap_or_default();
            connect::connect(bx, &session, msg, batched, token, out).await;
        }
        "/meta/subscribe" => out.push(&subscribe::subscribe(bx, &session, msg)),
        "/meta/unsubscribe" => out.push(&unsubscribe::unsubscribe(&session, msg)),
        _ => out.push(&disconnect::disconnect(bx, &session, msg)),
    }
}
