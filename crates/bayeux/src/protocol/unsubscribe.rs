//! `/meta/unsubscribe`: the subscription dropped (answered as successful whether it
//! existed or not, as Salesforce does).

use std::sync::Arc;

use super::Message;
use super::reply::Reply;
use crate::session::{Session, lock};

pub(super) fn unsubscribe(session: &Arc<Session>, msg: &Message) -> String {
    let name = msg.subscription_name();
    let mut subs = lock(&session.subs);
    subs.retain(|s| s.name != name);
    session.subscriptions_changed();
    drop(subs);
    Reply::success(msg, "/meta/unsubscribe", &session.id)
        .subscription(name)
        .text()
}
