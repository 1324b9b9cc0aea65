//! Bayeux sessions: one per handshake, found by `clientId`, each holding its
//! subscriptions (cursors into the event log) and the bookkeeping of its connects.

use forcebus_sync::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;
use tokio::time::Instant;

use forcebus_eventlog::Cursor;
use forcebus_org::RecordId;

/// One subscription: the channel name as subscribed, and its cursor.
#[derive(Debug)]
pub struct Subscription {
    /// The channel exactly as the client subscribed to it.
    pub name: String,
    /// Position in the log.
    pub cursor: Cursor,
}

/// Connect bookkeeping.
#[derive(Debug)]
pub struct Connects {
    /// Last request or connect reply: the session expires `session_timeout` after it.
    pub last_seen: Instant,
    /// A connect has been answered since the handshake.
    pub answered_once: bool,
    /// Incremented by every connect; a parked connect whose number is stale yields.
    pub generation: u64,
    /// How many connects are parked right now. A count, not a flag: a newer connect parks
    /// before the older one it released has let go, and the session must not look idle
    /// in between (or once the older one has gone) while the newer one waits.
    pub parked: u32,
}

/// A client session.
#[derive(Debug)]
pub struct Session {
    /// The `clientId`.
    pub id: String,
    /// The user who handshook.
    pub user: RecordId,
    /// The hold on the token it handshook with, for the life of the session: Salesforce
    /// keeps a session alive while its client stays connected. (Every request's own token
    /// is verified, and must be the same user's.)
    pub hold: forcebus_auth::Hold,
    /// Subscriptions, by channel name. Changed only with [`Session::subscriptions_changed`].
    pub subs: Mutex<Vec<Subscription>>,
    /// Counts the changes to `subs`: the kept waker is of the subscriptions at one count.
    pub subs_changes: std::sync::atomic::AtomicU64,
    /// The bells a connect last waited on, with the count of `subs` changes they are of:
    /// the next connect reuses them rather than making them again (the kinds looked up,
    /// a watch subscribed to for each, at every long poll).
    pub waker: Mutex<Option<(u64, forcebus_eventlog::Waker)>>,
    /// Connect state.
    pub connects: Mutex<Connects>,
    /// Wakes a parked connect (a newer connect, a subscribe, a disconnect).
    pub kick: Notify,
    /// Set by disconnect.
    pub gone: std::sync::atomic::AtomicBool,
    /// The API version of the endpoint it handshook on (`/cometd/45.0` → 45): platform
    /// events carry `EventUuid` from 52 on.
    pub api: u32,
    /// The org's session epoch at the handshake: once the test controls drop sessions
    /// (the epoch moves on), the session is unknown.
    pub epoch: u64,
    /// The client's address at the handshake, where the server knows it.
    pub address: Option<String>,
    /// When it handshook (epoch milliseconds, the org's clock).
    pub since_ms: i64,
}

/// A session counts in `/metrics` from its handshake until it is gone.
impl Drop for Session {
    fn drop(&mut self) {
        metrics::gauge!("forcebus_subscribers", "protocol" => "cometd").decrement(1.0);
    }
}

impl Session {
    /// Marks `subs` changed (call it with `subs` locked, after the change): the kept
    /// waker no longer serves.
    pub fn subscriptions_changed(&self) {
        self.subs_changes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether the test controls dropped this session (`epoch` is the org's now).
    pub fn dropped(&self, epoch: u64) -> bool {
        self.epoch < epoch
    }
}

/// Locks, tolerating poison (the data stays consistent: every writer finishes its update).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.locked()
}

/// Every live session.
#[derive(Debug, Default)]
pub struct Sessions(Mutex<HashMap<String, Arc<Session>>>);

fn client_id() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    (0..28)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

impl Sessions {
    /// Every session there is now.
    pub fn all(&self) -> Vec<Arc<Session>> {
        lock(&self.0).values().cloned().collect()
    }

    /// How many sessions there are.
    pub fn len(&self) -> usize {
        lock(&self.0).len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes sessions idle longer than `timeout` (parked connects keep theirs alive) and
    /// sessions dropped before `epoch`; returns how many remain.
    pub fn sweep(&self, timeout: Duration, epoch: u64) -> usize {
        let now = Instant::now();
        let mut map = lock(&self.0);
        let ended: Vec<String> = map
            .iter()
            .filter(|(_, s)| {
                let c = lock(&s.connects);
                s.dropped(epoch) || (c.parked == 0 && now.duration_since(c.last_seen) >= timeout)
            })
            .map(|(id, _)| id.clone())
            .collect();
        let removed: Vec<Arc<Session>> = ended.iter().filter_map(|id| map.remove(id)).collect();
        let left = map.len();
        drop(map);
        // Ended sessions let go of their tokens outside the lock (that may write the store).
        drop(removed);
        left
    }

    /// Users of live sessions subscribed to `channel` (with or without a filter); sessions
    /// dropped before `epoch` are not live.
    pub fn subscribers(&self, channel: &str, timeout: Duration, epoch: u64) -> Vec<RecordId> {
        let sessions: Vec<Arc<Session>> = lock(&self.0).values().cloned().collect();
        sessions
            .into_iter()
            .filter(|s| !s.dropped(epoch))
            .filter(|s| {
                let c = lock(&s.connects);
                c.parked > 0 || c.last_seen.elapsed() < timeout
            })
            .filter(|s| {
                lock(&s.subs)
                    .iter()
                    .any(|sub| sub.name.split('?').next() == Some(channel))
            })
            .map(|s| s.user)
            .collect()
    }

    /// A new session for `user`, unless the user already has `max` open.
    pub fn create(
        &self,
        user: RecordId,
        hold: impl FnOnce() -> forcebus_auth::Hold,
        max: usize,
        timeout: Duration,
        (api, epoch): (u32, u64),
        (address, since_ms): (Option<String>, i64),
    ) -> Option<Arc<Session>> {
        self.sweep(timeout, epoch);
        if lock(&self.0).values().filter(|s| s.user == user).count() >= max {
            return None;
        }
        let s = Arc::new(Session {
            id: client_id(),
            user,
            hold: hold(),
            subs: Mutex::new(Vec::new()),
            subs_changes: Default::default(),
            waker: Mutex::new(None),
            connects: Mutex::new(Connects {
                last_seen: Instant::now(),
                answered_once: false,
                generation: 0,
                parked: 0,
            }),
            kick: Notify::new(),
            gone: std::sync::atomic::AtomicBool::new(false),
            api,
            epoch,
            address,
            since_ms,
        });
        metrics::gauge!("forcebus_subscribers", "protocol" => "cometd").increment(1.0);
        lock(&self.0).insert(s.id.clone(), s.clone());
        Some(s)
    }

    /// The live session `id`, touching it; a session dropped before `epoch` is forgotten.
    pub fn get(&self, id: &str, timeout: Duration, epoch: u64) -> Option<Arc<Session>> {
        let s = lock(&self.0).get(id).cloned()?;
        if s.dropped(epoch) {
            self.forget(id);
            return None;
        }
        let mut c = lock(&s.connects);
        if c.parked == 0 && c.last_seen.elapsed() >= timeout {
            drop(c);
            self.remove(id);
            return None;
        }
        c.last_seen = Instant::now();
        drop(c);
        Some(s)
    }

    /// Forgets session `id` as Salesforce loses one: no advice to stop, the next request
    /// gets `403::Unknown client` (a parked connect is answered as usual first).
    pub fn forget(&self, id: &str) {
        let removed = lock(&self.0).remove(id);
        drop(removed);
    }

    /// Ends session `id`, waking its parked connect.
    pub fn remove(&self, id: &str) -> Option<Arc<Session>> {
        let s = lock(&self.0).remove(id)?;
        s.gone.store(true, std::sync::atomic::Ordering::SeqCst);
        s.kick.notify_waiters();
        Some(s)
    }
}
