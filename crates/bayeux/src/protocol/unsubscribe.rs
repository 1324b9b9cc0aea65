//! `/meta/unsubscribe`: the subscription dropped (answered as successful whether it
//! existed or not, as Salesforce does).

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Message, base};
use crate::session::{Session, lock};

pub(super) fn unsubscribe(session: &Arc<Session>, msg: &Message) -> Value {
    let name = msg.subscription_name().to_owned();
    lock(&session.subs).retain(|s| s.name != name);
    let mut r = base(msg, "/meta/unsubscribe");
    r.insert("clientId".into(), json!(session.id));
    r.insert("subscription".into(), json!(name));
    r.insert("successful".into(), json!(true));
    Value::Object(r)
}
