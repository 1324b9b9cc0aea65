//! `/meta/disconnect`: the session ends; its clientId is unknown from now on.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Message, base};
use crate::Bayeux;
use crate::session::Session;

/// Ends the session.
pub(super) fn disconnect(bx: &Bayeux, session: &Arc<Session>, msg: &Message) -> Value {
    bx.sessions.remove(&session.id);
    let mut r = base(msg, "/meta/disconnect");
    r.insert("clientId".into(), json!(session.id));
    r.insert("successful".into(), json!(true));
    Value::Object(r)
}
