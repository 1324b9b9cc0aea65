//! `/meta/connect`: the long poll. Answers at once with what the session's subscriptions
//! have, or parks until events arrive, the hold time passes, the token is revoked, the
//! test controls drop the org's sessions or the server shuts down; a session the event
//! log overtook is dropped.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::time::Instant;

use super::Message;
use super::batch::Batch;
use super::reply::{Advice, Reply, UnknownClient};
use crate::Bayeux;
use crate::deliver::{Data, data_for};
use crate::error::BayeuxError;
use crate::session::{Session, lock};

/// A subscription's position fell out of the log (retention or the size cap removed
/// events it had not read yet): the session cannot go on without losing events silently.
#[derive(Debug)]
struct Overtaken;

/// Writes what the session's cursors have into `batch`, within the per-reply limits;
/// returns how many event messages it wrote. Overtaken, it leaves `batch` as it was.
fn take(bx: &Bayeux, session: &Session, batch: &mut Batch) -> Result<usize, Overtaken> {
    let mark = batch.mark();
    let mut n = 0;
    let mut bytes = 0usize;
    let mut subs = lock(&session.subs);
    for sub in subs.iter_mut() {
        let mut channel_json = None;
        while n < bx.config.max_events_per_reply && bytes < bx.config.max_reply_bytes {
            let room = (bx.config.max_events_per_reply - n).min(100);
            let events = match sub.cursor.poll(room) {
                Ok(e) => e,
                Err(forcebus_eventlog::LogError::Expired { .. }) => {
                    batch.back_to(mark);
                    return Err(Overtaken);
                }
                Err(e) => {
                    tracing::warn!(client_id = %session.id, channel = %sub.name, error = %e, "Subscription cursor failed.");
                    break;
                }
            };
            if events.is_empty() {
                break;
            }
            deliver_span(session, &sub.name, &events);
            // A subscriber who is not an administrator: change events without the fields
            // they may not see, PushTopic notifications of the records they may read.
            let viewer = (sub.name.starts_with("/data/") || sub.name.starts_with("/topic/"))
                .then(|| bx.org.access(session.user))
                .filter(|a| !a.is_everything());
            let channel_json = channel_json.get_or_insert_with(|| {
                serde_json::to_string(&sub.name).expect("strings serialise")
            });
            for e in events {
                let data = data_for(bx, &e, &sub.name, session.api, viewer.as_deref());
                if let Some(data) = data.as_ref().and_then(Data::text) {
                    bytes += batch.event(channel_json, data);
                    n += 1;
                }
            }
        }
    }
    metrics::counter!("forcebus_deliveries_total", "protocol" => "cometd").increment(n as u64);
    Ok(n)
}

/// A span for events going to a session, linked to each one's commit (when spans are
/// exported).
fn deliver_span(
    session: &Session,
    channel: &str,
    events: &[std::sync::Arc<forcebus_eventlog::Event>],
) {
    if events.iter().all(|e| e.trace.is_none()) {
        return;
    }
    let span = tracing::info_span!(
        "deliver",
        protocol = "cometd",
        client_id = %session.id,
        channel = %channel,
        events = events.len(),
    );
    forcebus_trace::link(&span, events.iter().filter_map(|e| e.trace.as_ref()));
}

pub(super) async fn connect(
    bx: &Arc<Bayeux>,
    session: &Arc<Session>,
    msg: &Message,
    batched: bool,
    token: &str,
    batch: &mut Batch,
) {
    let zero_timeout = msg.advice_timeout == Some(0);
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
    let mut revocations = bx.auth.revocations();
    let mut drops = bx.org.controls().sessions_dropped();
    let dropped = || session.dropped(bx.org.controls().session_epoch());
    loop {
        let kicked = session.kick.notified();
        tokio::pin!(kicked);
        kicked.as_mut().enable();
        let closing = bx.closing_wake.notified();
        tokio::pin!(closing);
        closing.as_mut().enable();
        // Rings only for events the session's channels may show (a subscribe kicks this
        // loop, which then waits on the new set); made before looking, so an event that
        // becomes visible after the look rings it.
        let mut waker = Kept::of(bx, session);
        waker.seen();
        // A newer connect holds the client now: this one is answered empty, and the
        // events stay for the newer one (the client may have abandoned this request).
        if stale(session, generation) {
            break;
        }
        let Ok(taken) = take(bx, session, batch) else {
            return overtaken(bx, session, msg, batch);
        };
        if taken > 0
            || immediate
            || dropped()
            || session.gone.load(Ordering::SeqCst)
            || bx.closing.load(Ordering::SeqCst)
        {
            break;
        }
        let parked = Parked::start(session);
        let woke = tokio::select! {
            () = waker.rung() => true,
            _ = &mut kicked => true,
            _ = &mut closing => true,
            // The test controls dropped the sessions: this connect is answered as usual,
            // the next request finds the session unknown (`failure-modes.md` §3.1).
            Ok(()) = drops.changed() => true,
            // The token was checked before this connect; a parked connect whose token
            // is revoked (or found expired) while it waits gets the same 401 as the next
            // connect would.
            Ok(()) = revocations.changed() => {
                if bx.auth.verify(token).is_none() {
                    let reply =
                        Reply::failure(msg, "/meta/connect", &BayeuxError::AuthenticationInvalid)
                            .advice(Advice::StopNow);
                    return batch.push(&reply.text());
                }
                true
            }
            _ = tokio::time::sleep_until(deadline) => false,
        };
        drop(parked);
        if !woke {
            if !stale(session, generation) && take(bx, session, batch).is_err() {
                return overtaken(bx, session, msg, batch);
            }
            break;
        }
    }
    if dropped() {
        bx.sessions.forget(&session.id);
    }
    batch.push(&answered(bx, session, msg, first));
}

/// The session's waker for its subscriptions now: the one the last connect kept if the
/// subscriptions have not changed since, else a new one. Kept for the next connect when
/// this one is done with it, however it ends.
struct Kept<'a> {
    session: &'a Session,
    changes: u64,
    waker: Option<forcebus_eventlog::Waker>,
}

impl<'a> Kept<'a> {
    fn of(bx: &Bayeux, session: &'a Session) -> Self {
        let subs = lock(&session.subs);
        let changes = session.subs_changes.load(Ordering::SeqCst);
        let kept = lock(&session.waker)
            .take()
            .filter(|(at, _)| *at == changes)
            .map(|(_, waker)| waker);
        let waker =
            kept.unwrap_or_else(|| bx.org.log().waker(subs.iter().map(|s| s.cursor.channel())));
        Self {
            session,
            changes,
            waker: Some(waker),
        }
    }
}

impl std::ops::Deref for Kept<'_> {
    type Target = forcebus_eventlog::Waker;

    fn deref(&self) -> &Self::Target {
        self.waker.as_ref().expect("kept until dropped")
    }
}

impl std::ops::DerefMut for Kept<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.waker.as_mut().expect("kept until dropped")
    }
}

impl Drop for Kept<'_> {
    fn drop(&mut self) {
        if let Some(waker) = self.waker.take() {
            *lock(&self.session.waker) = Some((self.changes, waker));
        }
    }
}

/// Whether a newer connect of the session arrived after the one numbered `generation`.
fn stale(session: &Session, generation: u64) -> bool {
    lock(&session.connects).generation != generation
}

/// The successful reply to a connect, with advice on the first one, at shutdown, and to
/// stop after a disconnect.
fn answered(bx: &Bayeux, session: &Session, msg: &Message, first: bool) -> String {
    let mut c = lock(&session.connects);
    c.answered_once = true;
    c.last_seen = Instant::now();
    drop(c);
    let reply = Reply::success(msg, "/meta/connect", &session.id);
    if session.gone.load(Ordering::SeqCst) {
        reply.advice(Advice::StopNow).text()
    } else if first || bx.closing.load(Ordering::SeqCst) {
        let timeout = bx.config.connect_hold.as_millis() as u64;
        reply.advice(Advice::Retry { timeout }).text()
    } else {
        reply.text()
    }
}

/// The answer to a connect whose session was overtaken by the log (rather than
/// `successful: true` and no events, for ever). The session is dropped and
/// the connect fails with `403::Unknown client` and handshake advice, as when Salesforce
/// loses a session; the client handshakes and resubscribes from its stored replay ids,
/// and the subscribe answers with Salesforce's invalid-replay-id error, which clients
/// handle (falling back to -2 or -1).
fn overtaken(bx: &Bayeux, session: &Session, msg: &Message, batch: &mut Batch) {
    tracing::info!(client_id = %session.id, "Session overtaken by the event log; dropped.");
    bx.sessions.remove(&session.id);
    session.gone.store(true, Ordering::SeqCst);
    batch.push(&UnknownClient::to(msg, "/meta/connect").text());
}

/// A connect parked on its session. Dropping it ends the parking however the connect
/// ends: answered, or abandoned because the client hung up and the request future was
/// dropped mid-wait. Either way the session's expiry clock starts again from now, so a
/// client that vanishes during a long poll loses its session `session_timeout` later.
/// The mark is a count, not a flag: when a newer connect releases an older one, the
/// older one's end must not clear the newer one's mark, or the session would expire
/// under the parked newer connect.
struct Parked<'a>(&'a Session);

impl<'a> Parked<'a> {
    fn start(session: &'a Session) -> Self {
        lock(&session.connects).parked += 1;
        Self(session)
    }
}

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        let mut c = lock(&self.0.connects);
        c.parked = c.parked.saturating_sub(1);
        c.last_seen = Instant::now();
    }
}
