//! `/meta/disconnect`: the session ends; its clientId is unknown from now on.

use std::sync::Arc;

use super::Message;
use super::reply::Reply;
use crate::Bayeux;
use crate::session::Session;

/// Ends the session.
pub(super) fn disconnect(bx: &Bayeux, session: &Arc<Session>, msg: &Message) -> String {
    bx.sessions.remove(&session.id);
    Reply::success(msg, "/meta/disconnect", &session.id).text()
}
