//! `/meta/handshake`: a session for the token's user (within the per-user allowance),
//! long polling only, with the `replay` extension on.

use std::sync::Arc;

use super::Message;
use super::reply::{Advice, Denied, Handshake, Reply};
use crate::Bayeux;
use crate::error::BayeuxError;

pub(super) fn handshake(
    bx: &Arc<Bayeux>,
    msg: &Message,
    (token, peer): (Option<&str>, Option<std::net::SocketAddr>),
    api: u32,
) -> String {
    let denied = |reason: BayeuxError| Denied::new(msg, &reason).text();
    let Some(token) = token else {
        return denied(BayeuxError::RequiresAuthentication);
    };
    let Some(user) = bx.auth.verify(token) else {
        return denied(BayeuxError::AuthenticationInvalid);
    };
    // A user without API Enabled may not use the Streaming API.
    if !bx.auth.directory().api_enabled(user.user_id) {
        return denied(BayeuxError::AuthenticationInvalid);
    }
    let long_polling = msg
        .connection_types
        .as_ref()
        .is_none_or(|types| types.iter().any(|t| t == "long-polling"));
    if !long_polling {
        let refused = BayeuxError::InvalidConnectionType(None);
        return Reply::failure(msg, "/meta/handshake", &refused)
            .advice(Advice::Stop)
            .text();
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
    Handshake::new(msg, &session.id).text()
}
