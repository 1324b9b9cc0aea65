//! `/meta/subscribe`: a channel name resolved through the org (`/data`, `/event`,
//! `/topic`, `/u`), and a cursor opened where the `replay` extension says: -1 new events
//! only, -2 everything retained, or after a replay id.

use std::sync::Arc;

use serde_json::{Map, Value};

use forcebus_eventlog::Start;

use super::Message;
use super::reply::Reply;
use crate::Bayeux;
use crate::error::BayeuxError;
use crate::session::{Session, Subscription, lock};

pub(super) fn subscribe(bx: &Arc<Bayeux>, session: &Arc<Session>, msg: &Message) -> String {
    let name = msg.subscription_name().to_owned();
    let fail = |e: BayeuxError| Reply::failure(msg, "/meta/subscribe", &e).text();
    if name.is_empty() {
        return fail(BayeuxError::ChannelNotSpecified);
    }
    if !name.starts_with('/') {
        return fail(BayeuxError::NoLeadingSlash);
    }
    let resolved = if name.starts_with("/data/") {
        bx.org.change_channel(&name)
    } else if name.starts_with("/event/") {
        bx.org.event_channel(&name)
    } else if name.starts_with("/topic/") {
        bx.org.topic_channel(&name)
    } else if name.starts_with("/u/") {
        bx.org.generic_channel(&name, session.user)
    } else {
        None
    };
    let Some(channel) = resolved else {
        return fail(BayeuxError::NoSuchChannel(name));
    };
    let key = name.split('?').next().unwrap_or(&name);
    let replay = match msg.replay.as_deref() {
        None => -1,
        // Salesforce keys the map by the channel without its filter; aiosfstream keys it by
        // the whole subscription string. Either is accepted.
        Some(Value::Object(map)) => match map
            .get(key)
            .or_else(|| map.get(&name))
            .and_then(Value::as_i64)
        {
            Some(v) => v,
            None => {
                return fail(BayeuxError::ReplayIdNotInMap(key.to_owned(), map_text(map)));
            }
        },
        Some(_) => -1,
    };
    let invalid = || fail(BayeuxError::InvalidReplayId(replay.to_string()));
    let start = match replay {
        -1 => Start::Latest,
        -2 => Start::Earliest,
        n if n >= 0 => Start::After(n as u64),
        // Other negative values are refused, never taken silently as -1.
        _ => return invalid(),
    };
    let Ok(cursor) = bx.org.log().subscribe(channel, start) else {
        return invalid();
    };
    {
        let mut subs = lock(&session.subs);
        subs.retain(|s| s.name != name);
        // Most sessions hold one or two subscriptions: room grows from one, not four.
        let held = subs.len();
        if held == subs.capacity() {
            subs.reserve_exact(held.max(1));
        }
        subs.push(Subscription {
            name: name.clone(),
            cursor,
        });
        session.subscriptions_changed();
    }
    // A parked connect may now have something to deliver (a -2 replay).
    session.kick.notify_waiters();
    Reply::success(msg, "/meta/subscribe", &session.id)
        .subscription(&name)
        .text()
}

/// Java's `Map.toString()` of the replay map a client sent, for the error text.
pub(super) fn map_text(map: &Map<String, Value>) -> String {
    let inner: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", inner.join(", "))
}
