//! `/meta/handshake`: a session for the token's user (within the per-user allowance),
//! long polling only, with the `replay` extension on.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Message, base, failure};
use crate::Bayeux;
use crate::error::BayeuxError;

pub(super) fn handshake(
    bx: &Arc<Bayeux>,
    msg: &Message,
    (token, peer): (Option<&str>, Option<std::net::SocketAddr>),
    api: u32,
) -> Value {
    let denied = |reason: BayeuxError| {
        let mut r = base(msg, "/meta/handshake");
        r.insert(
            "ext".into(),
            json!({"sfdc": {"failureReason": reason.to_string()}, "replay": true}),
        );
        r.insert("advice".into(), json!({"reconnect": "none"}));
        r.insert(
            "error".into(),
            json!(BayeuxError::HandshakeDenied.to_string()),
        );
        r.insert("successful".into(), json!(false));
        Value::Object(r)
    };
    let Some(token) = token else {
        return denied(BayeuxError::RequiresAuthentication);
    };
    let Some(user) = bx.auth.verify(token) else {
        return denied(BayeuxError::AuthenticationInvalid);
    };
    let long_polling = msg
        .connection_types
        .as_ref()
        .is_none_or(|types| types.iter().any(|t| t == "long-polling"));
    if !long_polling {
        return failure(
            msg,
            "/meta/handshake",
            &BayeuxError::InvalidConnectionType(None),
            Some(json!({"reconnect": "none"})),
        );
    }
    let Some(session) = bx.sessions.create(
        user.user_id,
        || bx.auth.hold(token),
        bx.config.max_clients,
        bx.config.session_timeout,
        (api, bx.org.controls().session_epoch()),
        (
            peer.map(|p| p.to_string()),
            bx.org.clock().now().timestamp_millis(),
        ),
    ) else {
        return denied(BayeuxError::ConcurrentUserLimit);
    };
    let mut r = base(msg, "/meta/handshake");
    r.insert(
        "ext".into(),
        json!({"replay": true, "payload.format": true}),
    );
    r.insert("minimumVersion".into(), json!("1.0"));
    r.insert("clientId".into(), json!(session.id));
    r.insert("supportedConnectionTypes".into(), json!(["long-polling"]));
    r.insert("version".into(), json!("1.0"));
    r.insert("successful".into(), json!(true));
    Value::Object(r)
}
