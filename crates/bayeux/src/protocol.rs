//! Meta channels, advice, Salesforce's error strings, and event messages
//! (`streaming-cometd.md` §1–§2). Replies are JSON text: event messages are encoded once
//! per event and shared, so replies are assembled from pieces rather than built as values.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use forcebus_eventlog::{Event, Start};

use crate::Bayeux;
use crate::session::{Session, Subscription, lock};

/// Whether `/cometd/{version}` names a version that supports durable streaming (37.0+).
pub fn version_ok(v: &str) -> bool {
    v.split_once('.').is_some_and(|(major, minor)| {
        minor.chars().all(|c| c.is_ascii_digit())
            && major.parse::<u32>().is_ok_and(|m| (37..100).contains(&m))
    })
}

/// The messages of a POST body: a JSON array, or one bare message object.
pub fn parse(body: &[u8]) -> Result<Vec<Map<String, Value>>, String> {
    match serde_json::from_slice::<Value>(body).map_err(|e| format!("Invalid JSON: {e}"))? {
        Value::Array(items) => items
            .into_iter()
            .map(|m| match m {
                Value::Object(o) => Ok(o),
                _ => Err("Every Bayeux message must be an object".to_owned()),
            })
            .collect(),
        Value::Object(o) => Ok(vec![o]),
        _ => Err("The body must be a Bayeux message or an array of them".to_owned()),
    }
}

fn base(msg: &Map<String, Value>, channel: &str) -> Map<String, Value> {
    let mut r = Map::new();
    r.insert("channel".into(), json!(channel));
    if let Some(id) = msg.get("id") {
        r.insert("id".into(), id.clone());
    }
    r
}

fn failure(msg: &Map<String, Value>, channel: &str, error: &str, advice: Option<Value>) -> Value {
    let mut r = base(msg, channel);
    if let Some(c) = msg.get("clientId") {
        r.insert("clientId".into(), c.clone());
    }
    if let Some(s) = msg.get("subscription") {
        r.insert("subscription".into(), s.clone());
    }
    r.insert("error".into(), json!(error));
    if let Some(a) = advice {
        r.insert("advice".into(), a);
    }
    r.insert("successful".into(), json!(false));
    Value::Object(r)
}

fn unknown_client(msg: &Map<String, Value>, channel: &str) -> Value {
    failure(
        msg,
        channel,
        "403::Unknown client",
        Some(json!({"interval": 0, "reconnect": "handshake"})),
    )
}

/// Handshakes one request may carry; further ones in the same batch are refused.
const MAX_HANDSHAKES_PER_REQUEST: usize = 1;

/// Processes one POST: replies (and, on connects, events first) as a JSON array text.
pub async fn process(
    bx: &Arc<Bayeux>,
    messages: Vec<Map<String, Value>>,
    token: Option<&str>,
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
        let channel = msg
            .get("channel")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match channel.as_str() {
            "/meta/handshake" => {
                // A client handshakes once per session; a batch of handshakes would let
                // one small request use up the user's whole session allowance.
                handshakes += 1;
                let reply = if handshakes > MAX_HANDSHAKES_PER_REQUEST {
                    failure(
                        msg,
                        "/meta/handshake",
                        "400::Only one handshake per request",
                        Some(json!({"reconnect": "none"})),
                    )
                } else {
                    handshake(bx, msg, token, api)
                };
                out.push(reply.to_string());
            }
            "/meta/connect" | "/meta/subscribe" | "/meta/unsubscribe" | "/meta/disconnect" => {
                let id = msg.get("clientId").and_then(Value::as_str).unwrap_or("");
                let Some(session) = bx.sessions.get(id, bx.config.session_timeout) else {
                    out.push(unknown_client(msg, &channel).to_string());
                    continue;
                };
                let Some(caller) = token.and_then(|t| bx.auth.verify(t)) else {
                    out.push(
                        failure(
                            msg,
                            &channel,
                            "401::Authentication invalid",
                            Some(json!({"reconnect": "none", "interval": 0})),
                        )
                        .to_string(),
                    );
                    continue;
                };
                // A clientId belongs to the user who handshook: to anyone else it is
                // unknown, so another user's token can neither read nor end the session.
                if caller.user_id != session.user {
                    out.push(unknown_client(msg, &channel).to_string());
                    continue;
                }
                match channel.as_str() {
                    "/meta/connect" => {
                        let token = token.unwrap_or_default();
                        let (events, reply) = connect(bx, &session, msg, batched, token).await;
                        out.extend(events);
                        out.push(reply.to_string());
                    }
                    "/meta/subscribe" => out.push(subscribe(bx, &session, msg).to_string()),
                    "/meta/unsubscribe" => out.push(unsubscribe(&session, msg).to_string()),
                    _ => {
                        bx.sessions.remove(&session.id);
                        let mut r = base(msg, "/meta/disconnect");
                        r.insert("clientId".into(), json!(session.id));
                        r.insert("successful".into(), json!(true));
                        out.push(Value::Object(r).to_string());
                    }
                }
            }
            "" => out.push(failure(msg, "", "400::Channel name not specified", None).to_string()),
            other => out.push(
                failure(
                    msg,
                    other,
                    "403::Publish is not allowed on the Streaming API; publish over REST",
                    None,
                )
                .to_string(),
            ),
        }
    }
    if out.is_empty() {
        out.push(
            failure(
                &Map::new(),
                "/meta/connect",
                "400::Empty message batch",
                None,
            )
            .to_string(),
        );
    }
    format!("[{}]", out.join(","))
}

fn handshake(bx: &Arc<Bayeux>, msg: &Map<String, Value>, token: Option<&str>, api: u32) -> Value {
    let denied = |reason: &str| {
        let mut r = base(msg, "/meta/handshake");
        r.insert(
            "ext".into(),
            json!({"sfdc": {"failureReason": reason}, "replay": true}),
        );
        r.insert("advice".into(), json!({"reconnect": "none"}));
        r.insert("error".into(), json!("403::Handshake denied"));
        r.insert("successful".into(), json!(false));
        Value::Object(r)
    };
    let Some(token) = token else {
        return denied("401::Request requires authentication");
    };
    let Some(user) = bx.auth.verify(token) else {
        return denied("401::Authentication invalid");
    };
    let long_polling = msg
        .get("supportedConnectionTypes")
        .and_then(Value::as_array)
        .is_none_or(|types| types.iter().any(|t| t == "long-polling"));
    if !long_polling {
        return failure(
            msg,
            "/meta/handshake",
            "400::Invalid connection type",
            Some(json!({"reconnect": "none"})),
        );
    }
    let Some(session) = bx.sessions.create(
        user.user_id,
        token,
        bx.config.max_clients,
        bx.config.session_timeout,
        api,
    ) else {
        return denied("403::Organization concurrent user limit exceeded");
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

/// The `data` of an event message on `channel`: a platform event, a PushTopic notification,
/// or a change event (a custom `/data/…__chn` channel adds its enrichment).
fn data(bx: &Bayeux, e: &Event, channel: &str, api: u32) -> Option<Value> {
    use forcebus_events::{change, generic, platform, pushtopic};
    if channel.starts_with("/event/") {
        let mut d = platform::cometd_data(&e.payload, e.replay_id, bx.org.schemas())?;
        if api < 52
            && let Some(ev) = d.get_mut("event").and_then(Value::as_object_mut)
        {
            ev.remove("EventUuid");
        }
        return Some(d);
    }
    if channel.starts_with("/topic/") {
        return pushtopic::cometd_data(&e.payload, e.replay_id);
    }
    if channel.starts_with("/u/") {
        return generic::cometd_data(&e.payload, e.replay_id);
    }
    let doc = change::ChangeEvent::from_log(&e.payload).ok()?;
    let object = bx.org.schema().object(&doc.header.entity_name)?;
    let doc = match channel
        .strip_prefix("/data/")
        .filter(|c| c.ends_with("__chn"))
    {
        Some(custom) => doc.for_channel(custom),
        None => doc,
    };
    Some(change::cometd_data(&doc, object, e.replay_id))
}

/// An event message as JSON text. Standard channels share one encoding of `data` per
/// event, copied into every subscriber's reply as it is.
pub(crate) fn message(bx: &Bayeux, e: &Event, channel: &str, api: u32) -> Option<String> {
    let channel_json = serde_json::to_string(channel).expect("strings serialise");
    if channel.starts_with("/data/") && channel.ends_with("__chn") {
        return Some(format!(
            "{{\"channel\":{channel_json},\"data\":{}}}",
            data(bx, e, channel, api)?
        ));
    }
    // Platform events before API 52.0 leave out `EventUuid`: a second shared encoding.
    let format = if api < 52 && channel.starts_with("/event/") {
        "cometd-pre52"
    } else {
        "cometd"
    };
    let bytes = e.encoded(format, |e| {
        data(bx, e, channel, api)
            .map(|d| d.to_string())
            .unwrap_or_default()
            .into_bytes()
            .into()
    });
    let data = std::str::from_utf8(&bytes).ok().filter(|d| !d.is_empty())?;
    Some(format!("{{\"channel\":{channel_json},\"data\":{data}}}"))
}

/// A subscription's position fell out of the log (retention or the size cap removed
/// events it had not read yet): the session cannot go on without losing events silently.
#[derive(Debug)]
struct Overtaken;

/// Takes what the session's cursors have, within the per-reply limits.
fn take(bx: &Bayeux, session: &Session) -> Result<Vec<String>, Overtaken> {
    let mut out = Vec::new();
    let mut bytes = 0usize;
    let mut subs = lock(&session.subs);
    for sub in subs.iter_mut() {
        while out.len() < bx.config.max_events_per_reply && bytes < bx.config.max_reply_bytes {
            let room = (bx.config.max_events_per_reply - out.len()).min(100);
            let events = match sub.cursor.poll(room) {
                Ok(e) => e,
                Err(forcebus_eventlog::LogError::Expired { .. }) => return Err(Overtaken),
                Err(e) => {
                    tracing::warn!(client_id = %session.id, channel = %sub.name, error = %e, "Subscription cursor failed.");
                    break;
                }
            };
            if events.is_empty() {
                break;
            }
            for e in events {
                if let Some(m) = message(bx, &e, &sub.name, session.api) {
                    bytes += m.len();
                    out.push(m);
                }
            }
        }
    }
    Ok(out)
}

async fn connect(
    bx: &Arc<Bayeux>,
    session: &Arc<Session>,
    msg: &Map<String, Value>,
    batched: bool,
    token: &str,
) -> (Vec<String>, Value) {
    let zero_timeout = msg
        .get("advice")
        .and_then(|a| a.get("timeout"))
        .and_then(Value::as_i64)
        == Some(0);
    let (first, generation) = {
        let mut c = lock(&session.connects);
        c.generation += 1;
        let first = !c.answered_once;
        (first, c.generation)
    };
    // A newer connect releases an older parked one.
    session.kick.notify_waiters();
    let immediate = first || zero_timeout || batched;
    let deadline = Instant::now() + bx.config.connect_hold;
    let mut watch = bx.org.log().watch();
    let mut revocations = bx.auth.revocations();
    let events = loop {
        let kicked = session.kick.notified();
        tokio::pin!(kicked);
        kicked.as_mut().enable();
        let closing = bx.closing_wake.notified();
        tokio::pin!(closing);
        closing.as_mut().enable();
        watch.borrow_and_update();
        let Ok(events) = take(bx, session) else {
            return overtaken(bx, session, msg);
        };
        let stale = lock(&session.connects).generation != generation;
        if !events.is_empty()
            || immediate
            || stale
            || session.gone.load(Ordering::SeqCst)
            || bx.closing.load(Ordering::SeqCst)
        {
            break events;
        }
        let parked = Parked::start(session);
        let woke = tokio::select! {
            _ = watch.changed() => true,
            _ = &mut kicked => true,
            _ = &mut closing => true,
            // The token was checked before this connect; a parked connect whose token
            // is revoked (or found expired) while it waits gets the same 401 as the next
            // connect would (issue 13, finding 6).
            Ok(()) = revocations.changed() => {
                if bx.auth.verify(token).is_none() {
                    let advice = json!({"reconnect": "none", "interval": 0});
                    let reply = failure(
                        msg,
                        "/meta/connect",
                        "401::Authentication invalid",
                        Some(advice),
                    );
                    return (Vec::new(), reply);
                }
                true
            }
            _ = tokio::time::sleep_until(deadline) => false,
        };
        drop(parked);
        if !woke {
            let Ok(events) = take(bx, session) else {
                return overtaken(bx, session, msg);
            };
            break events;
        }
    };
    let mut c = lock(&session.connects);
    c.answered_once = true;
    c.last_seen = Instant::now();
    drop(c);
    let mut r = base(msg, "/meta/connect");
    r.insert("clientId".into(), json!(session.id));
    if session.gone.load(Ordering::SeqCst) {
        r.insert("advice".into(), json!({"reconnect": "none", "interval": 0}));
    } else if first || bx.closing.load(Ordering::SeqCst) {
        r.insert("advice".into(), json!({"interval": 0, "timeout": bx.config.connect_hold.as_millis() as u64, "reconnect": "retry"}));
    }
    r.insert("successful".into(), json!(true));
    (events, Value::Object(r))
}

/// The answer to a connect whose session was overtaken by the log (issue 13, finding 8:
/// it used to get `successful: true` and no events, for ever). The session is dropped and
/// the connect fails with `403::Unknown client` and handshake advice, as when Salesforce
/// loses a session; the client handshakes and resubscribes from its stored replay ids,
/// and the subscribe answers with Salesforce's invalid-replay-id error, which clients
/// handle (falling back to -2 or -1).
fn overtaken(bx: &Bayeux, session: &Session, msg: &Map<String, Value>) -> (Vec<String>, Value) {
    tracing::info!(client_id = %session.id, "Session overtaken by the event log; dropped.");
    bx.sessions.remove(&session.id);
    session.gone.store(true, Ordering::SeqCst);
    (Vec::new(), unknown_client(msg, "/meta/connect"))
}

/// A connect parked on its session. Dropping it ends the parking however the connect
/// ends: answered, or abandoned because the client hung up and the request future was
/// dropped mid-wait. Either way the session's expiry clock starts again from now, so a
/// client that vanishes during a long poll loses its session `session_timeout` later
/// (issue 13, finding 3: the flag used to stay set for ever and the sweeper kept it).
struct Parked<'a>(&'a Session);

impl<'a> Parked<'a> {
    fn start(session: &'a Session) -> Self {
        lock(&session.connects).parked = true;
        Self(session)
    }
}

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        let mut c = lock(&self.0.connects);
        c.parked = false;
        c.last_seen = Instant::now();
    }
}

/// Java's `Map.toString()` of the replay map a client sent, for the error text.
fn map_text(map: &Map<String, Value>) -> String {
    let inner: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn subscribe(bx: &Arc<Bayeux>, session: &Arc<Session>, msg: &Map<String, Value>) -> Value {
    let name = msg
        .get("subscription")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let fail = |e: &str| failure(msg, "/meta/subscribe", e, None);
    if name.is_empty() {
        return fail("400::Channel name not specified");
    }
    if !name.starts_with('/') {
        return fail("400::Channel subscriptions must start with a leading '/'");
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
        return fail(&format!(
            "400::The channel you requested to subscribe to does not exist {{{name}}}"
        ));
    };
    let key = name.split('?').next().unwrap_or(&name);
    let replay = match msg.get("ext").and_then(|e| e.get("replay")) {
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
                return fail(&format!(
                    "400::The replayId for channel {{{key}}} wasn't found using the provided replay ID map {{{}}}. Ensure that the channel name you provided in the replay map is valid and matches the channel name used for subscribing.",
                    map_text(map)
                ));
            }
        },
        Some(_) => -1,
    };
    let invalid = || {
        fail(&format!(
            "400::The replayId {{{replay}}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events."
        ))
    };
    let start = match replay {
        -1 => Start::Latest,
        -2 => Start::Earliest,
        n if n >= 0 => Start::After(n as u64),
        // Issue 13, finding 10: other negative values used to mean -1 silently.
        _ => return invalid(),
    };
    let Ok(cursor) = bx.org.log().subscribe(channel, start) else {
        return invalid();
    };
    {
        let mut subs = lock(&session.subs);
        subs.retain(|s| s.name != name);
        subs.push(Subscription {
            name: name.clone(),
            cursor,
        });
    }
    // A parked connect may now have something to deliver (a -2 replay).
    session.kick.notify_waiters();
    let mut r = base(msg, "/meta/subscribe");
    r.insert("clientId".into(), json!(session.id));
    r.insert("subscription".into(), json!(name));
    r.insert("successful".into(), json!(true));
    Value::Object(r)
}

fn unsubscribe(session: &Arc<Session>, msg: &Map<String, Value>) -> Value {
    let name = msg
        .get("subscription")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    lock(&session.subs).retain(|s| s.name != name);
    let mut r = base(msg, "/meta/unsubscribe");
    r.insert("clientId".into(), json!(session.id));
    r.insert("subscription".into(), json!(name));
    r.insert("successful".into(), json!(true));
    Value::Object(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bodies_are_arrays_or_one_object() {
        assert_eq!(
            parse(br#"[{"channel":"/meta/connect"},{"channel":"/meta/subscribe"}]"#)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(parse(br#"{"channel":"/meta/handshake"}"#).unwrap().len(), 1);
        assert!(parse(b"[1]").is_err());
        assert!(parse(b"\"x\"").is_err());
        assert!(parse(b"").is_err());
    }

    #[test]
    fn versions() {
        for ok in ["37.0", "43.0", "59.0", "62.0"] {
            assert!(version_ok(ok), "{ok}");
        }
        for bad in ["36.0", "replay", "", "59", "x.0", "100.0"] {
            assert!(!version_ok(bad), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn replay_map_text_never_panics(keys in proptest::collection::vec("[/a-zA-Z_?=']{0,20}", 0..4), v in any::<i64>()) {
            let map: Map<String, Value> = keys.into_iter().map(|k| (k, json!(v))).collect();
            let text = map_text(&map);
            let braced = text.starts_with('{') && text.ends_with('}');
            prop_assert!(braced, "not braced: {}", text);
        }
    }
}
