//! The event log: one per org, an append-only sequence of opaque events with replay ids.
//!
//! - **Replay ids** are `u64`, strictly increasing in commit order, never reused: the next
//!   id is stored with every append, so ids burnt by a failed commit stay burnt.
//! - **Appends join a storage transaction**: [`EventLog::commit`] commits the events with
//!   the caller's own writes (records and their change events) in one storage transaction,
//!   and the returned [`Commit`] shows the events only once that transaction is durable
//!   ([`Commit::wait`], or [`Commit::wait_async`] through one syncing thread).
//! - **Channels are views**: a set of event kinds plus an optional filter. The same event
//!   has the same replay id on every channel that shows it.
//! - **Retention** by time per retention class (each class expires in replay-id order), and
//!   by total payload size (oldest first), or all at once for an org's reset (`retention`).
//!   A cursor positioned before what was expired is an error ([`LogError::Expired`]),
//!   never a silent skip.
//! - **Reads** come from a bounded in-memory tail of recent events; older positions are
//!   read from the store. **Wake-ups** ring the bells of the kinds that became visible
//!   (`bells`: a parked subscriber wakes only for events its channels may show); what is
//!   visible is a watch channel of the last visible
//!   replay id: the last durable one, or, with a delivery delay set (a test control),
//!   behind it by that delay (`delivery`).
//!
//! The log knows nothing of Salesforce wire formats; time is passed in (epoch ms) so that
//! tests control it.
//!
//! Layout: [`EventLog`] (here: opening, appending, publishing), `event` (events and
//! channels), `index` (every retained event's id, class, time and size, 8 bytes each),
//! `cursor` (reading a channel), `commit` (appends joined to a storage
//! transaction), `durable`, `delivery` (what subscribers may see, and when), `bells`
//! (whom it wakes), `retention`.

use forcebus_sync::prelude::*;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;

use forcebus_store::{Batch, Store, StoreError, StoredEvent, Write};

mod bells;
mod commit;
mod cursor;
mod delivery;
mod durable;
mod event;
mod index;
mod retention;

pub use bells::Waker;
pub use commit::Commit;
pub use cursor::{Cursor, Lag};
pub use event::{ANY_KIND, Channel, Event, Filter, NewEvent};

/// Retention classes: how long an event is kept.
pub type RetentionClass = u8;

const NEXT_ID: (&str, &str) = (forcebus_store::EVENT_LOG_SPACE, "next_replay_id");
/// Per class, the highest replay id retention removed.
const EXPIRED_SPACE: &str = "eventlog.expired";

/// Settings.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// How long each class keeps its events; classes not listed keep them for
    /// [`DEFAULT_RETENTION`].
    pub retention: BTreeMap<RetentionClass, Duration>,
    /// Total payload bytes kept; the oldest events go first past this.
    pub max_bytes: u64,
    /// Events kept in memory for fast reads, at most.
    pub tail_capacity: usize,
    /// Payload bytes the events kept in memory hold, at most (the newest event is kept
    /// whatever its size): 10,000 events of 1 MB would otherwise be 10 GB.
    pub tail_max_bytes: u64,
    /// Events one storage commit of an expiry removes at most (see `retention`).
    pub expire_step: usize,
    /// What family an event kind belongs to, for the count of appended events by family
    /// (the log knows no kinds; its owner does).
    pub family: fn(&str) -> &'static str,
}

/// Every kind in one family, unless the log's owner says otherwise.
fn no_family(_: &str) -> &'static str {
    "event"
}

/// How long a class not listed in [`LogConfig::retention`] keeps its events: 72 hours.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(72 * 3600);

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            retention: BTreeMap::new(),
            max_bytes: 1 << 30,
            tail_capacity: 10_000,
            tail_max_bytes: 8 << 20,
            expire_step: 4096,
            family: no_family,
        }
    }
}

impl LogConfig {
    /// How long `class` keeps its events, in milliseconds (event times are epoch ms).
    fn retention_ms(&self, class: RetentionClass) -> i64 {
        let keep = self
            .retention
            .get(&class)
            .copied()
            .unwrap_or(DEFAULT_RETENTION);
        i64::try_from(keep.as_millis()).unwrap_or(i64::MAX)
    }
}

/// Where a subscription starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Only events appended from now on (replay `-1`, `LATEST`).
    Latest,
    /// Everything retained (replay `-2`, `EARLIEST`).
    Earliest,
    /// Events after this replay id (`CUSTOM`).
    After(u64),
}

/// Why a position cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// Events after this position were removed by retention.
    #[error(
        "replay id {requested} is older than the retained events (earliest available is after {earliest})"
    )]
    Expired {
        /// The position asked for.
        requested: u64,
        /// The earliest valid position for the channel.
        earliest: u64,
    },
    /// The position is beyond the end of the log.
    #[error("replay id {requested} is beyond the last replay id {last}")]
    Future {
        /// The position asked for.
        requested: u64,
        /// The last replay id.
        last: u64,
    },
    /// The store failed while reading.
    #[error("cannot read the event log: {0}")]
    Store(String),
}

#[derive(Debug, Clone, Copy)]
struct Meta {
    replay_id: u64,
    class: RetentionClass,
    time_ms: i64,
    /// Payload bytes (an event is far smaller than 4 GB). The index holds it in 12 bytes.
    size: u32,
}

#[derive(Debug, Default)]
struct Inner {
    /// Every retained event, oldest first.
    index: index::Index,
    /// The most recent events with their payloads.
    tail: VecDeque<Arc<Event>>,
    /// The tail's payload bytes.
    tail_bytes: u64,
    /// Per class, the highest replay id removed by retention.
    expired_through: BTreeMap<RetentionClass, u64>,
    /// Payload bytes retained.
    bytes: u64,
    next_id: u64,
}

impl Inner {
    /// Drops the oldest events of the tail past its count or its bytes, keeping the newest.
    fn trim_tail(&mut self, config: &LogConfig) {
        while self.tail.len() > config.tail_capacity
            || (self.tail.len() > 1 && self.tail_bytes > config.tail_max_bytes)
        {
            let Some(e) = self.tail.pop_front() else {
                break;
            };
            self.tail_bytes -= e.payload.len() as u64;
        }
    }
}

/// The log.
#[derive(Debug)]
pub struct EventLog {
    store: Arc<dyn Store>,
    config: LogConfig,
    inner: Mutex<Inner>,
    /// Serialises appends from id assignment to publication.
    append: Mutex<()>,
    /// Commits waiting for `append` (one made while another waits is `Batch::followed`).
    appending: std::sync::atomic::AtomicUsize,
    /// The last replay id published (durable).
    last: std::sync::atomic::AtomicU64,
    /// What subscribers see: `last`, or behind it by a delivery delay.
    delivery: delivery::Delivery,
    /// Woken when the retained bytes pass the size cap by a quarter, so the sweeper
    /// expires at once instead of at its next tick: at a high publish rate a minute of
    /// events can be many times the cap, on disk as in memory.
    over_cap: tokio::sync::Notify,
    /// Makes commits durable for async waiters.
    sync: durable::SyncService,
}

/// The result of an append: the events as published.
pub type Appended = Vec<Arc<Event>>;

impl EventLog {
    /// Opens the log over `store`, loading the index and the tail.
    pub fn open(store: Arc<dyn Store>, config: LogConfig) -> Result<Self, StoreError> {
        let index: index::Index = store
            .load_event_index()?
            .into_iter()
            .map(|(replay_id, class, time_ms, size)| Meta {
                replay_id,
                class,
                time_ms,
                size: u32::try_from(size).unwrap_or(u32::MAX),
            })
            .collect();
        let stored_next: u64 = store
            .load_values(NEXT_ID.0)?
            .into_iter()
            .find(|(k, _)| k == NEXT_ID.1)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(1);
        let last = index.back().map_or(0, |m| m.replay_id);
        let next_id = stored_next.max(last + 1);
        let bytes = index.iter().map(|m| m.size as u64).sum();
        let mut expired_through = BTreeMap::new();
        for (k, v) in store.load_values(EXPIRED_SPACE)? {
            if let (Ok(class), Ok(through)) = (k.parse::<RetentionClass>(), v.parse::<u64>()) {
                expired_through.insert(class, through);
            }
        }
        // The newest events, as many as the tail holds.
        let (mut kept, mut tail_bytes) = (0usize, 0u64);
        for m in index.iter().rev() {
            let size = u64::from(m.size);
            if kept == config.tail_capacity
                || (kept > 0 && tail_bytes + size > config.tail_max_bytes)
            {
                break;
            }
            (kept, tail_bytes) = (kept + 1, tail_bytes + size);
        }
        let skip = index.len() - kept;
        let after = if skip == 0 {
            0
        } else {
            index.get(skip - 1).map_or(0, |m| m.replay_id)
        };
        let tail: VecDeque<Arc<Event>> = store
            .load_events(after, kept)?
            .into_iter()
            .map(|e| Arc::new(Event::from_stored(e)))
            .collect();
        let tail_bytes = tail.iter().map(|e| e.payload.len() as u64).sum();
        Ok(Self {
            store,
            config,
            inner: Mutex::new(Inner {
                index,
                tail,
                tail_bytes,
                expired_through,
                bytes,
                next_id,
            }),
            append: Mutex::new(()),
            appending: std::sync::atomic::AtomicUsize::new(0),
            last: std::sync::atomic::AtomicU64::new(next_id - 1),
            delivery: delivery::Delivery::new(next_id - 1),
            over_cap: tokio::sync::Notify::new(),
            sync: durable::SyncService::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.locked()
    }

    /// The last replay id published: its commit is durable (0 when none). Subscribers
    /// see events through [`EventLog::visible_replay_id`], which a delivery delay holds
    /// back.
    pub fn last_replay_id(&self) -> u64 {
        self.last.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The retained events' payload bytes.
    pub fn retained_bytes(&self) -> u64 {
        self.lock().bytes
    }

    /// The payload bytes of the events held in memory (the tail), and how many they are.
    pub fn tail_held(&self) -> (u64, usize) {
        let inner = self.lock();
        (inner.tail_bytes, inner.tail.len())
    }

    /// When the oldest retained event was appended (epoch milliseconds).
    pub fn oldest_time_ms(&self) -> Option<i64> {
        self.lock().index.front().map(|m| m.time_ms)
    }

    /// How many events are retained.
    pub fn retained(&self) -> usize {
        self.inner.locked().index.len()
    }

    /// The last replay id subscribers may see.
    pub fn visible_replay_id(&self) -> u64 {
        self.delivery.visible()
    }

    /// A receiver that changes whenever events become visible to subscribers.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.delivery.watch()
    }

    /// A wake-up for a subscriber of `channels`: it rings when an event of a kind one of
    /// them shows becomes visible (only then: events of other kinds leave it parked).
    pub fn waker<'a>(&self, channels: impl IntoIterator<Item = &'a Channel>) -> Waker {
        self.delivery
            .bells()
            .waker(channels, || self.delivery.visible())
    }

    /// Shows events to subscribers no sooner than `delay` after their commit is durable
    /// (zero: at once). Setting a delay needs a Tokio runtime.
    pub fn set_delivery_delay(&self, delay: Duration) {
        self.delivery.set_delay(delay);
    }

    /// Shows every event held back by the delivery delay now (the delay stays set).
    pub fn flush_delivery(&self) {
        self.delivery.flush();
    }

    /// The delivery delay set.
    pub fn delivery_delay(&self) -> Duration {
        self.delivery.delay()
    }

    /// Appends `events` at `now_ms`. `commit` receives the writes that store them (plus the
    /// id counter) and must commit them together with the caller's own writes; the events
    /// are published, and subscribers woken, only when it returns `Ok`. Ids burnt by a
    /// failed commit are never reused.
    pub fn append<E>(
        &self,
        events: Vec<NewEvent>,
        now_ms: i64,
        commit: impl FnOnce(Vec<Write>) -> Result<(), E>,
    ) -> Result<Appended, E> {
        let published = self.append_unpublished(events, now_ms, commit)?;
        if let Some(last) = published.last() {
            self.publish_through(last.replay_id);
        }
        Ok(published)
    }

    /// [`EventLog::append`] without publishing: the events are in the log but readers and
    /// subscribers see them only after [`EventLog::publish_through`] (once the commit is
    /// durable, for group commit).
    pub fn append_unpublished<E>(
        &self,
        events: Vec<NewEvent>,
        now_ms: i64,
        commit: impl FnOnce(Vec<Write>) -> Result<(), E>,
    ) -> Result<Appended, E> {
        let published = self.append_serially(events, now_ms, commit)?;
        if self.retained_bytes() > self.hard_cap() {
            self.catch_up_with_the_cap(now_ms);
        }
        Ok(published)
    }

    /// The appending itself, one caller at a time.
    fn append_serially<E>(
        &self,
        events: Vec<NewEvent>,
        now_ms: i64,
        commit: impl FnOnce(Vec<Write>) -> Result<(), E>,
    ) -> Result<Appended, E> {
        let _serial = self.append.locked();
        let first = self.lock().next_id;
        let next = first + events.len() as u64;
        let stored: Vec<StoredEvent> = events
            .into_iter()
            .zip(first..)
            .map(|(e, replay_id)| StoredEvent {
                replay_id,
                kind: e.kind,
                class: e.class,
                time_ms: now_ms,
                payload: Bytes::from(e.payload),
            })
            .collect();
        // Cheap clones: the payloads are shared, not copied.
        let mut writes: Vec<Write> = stored.iter().cloned().map(Write::AppendEvent).collect();
        let mut counter = Batch::new();
        counter.put(NEXT_ID.0, NEXT_ID.1, Some(next.to_string()));
        writes.extend(counter.writes);
        // Reserve the ids before committing: a failed commit burns them.
        self.lock().next_id = next;
        commit(writes)?;
        count_appended(&stored, self.config.family);
        self.delivery.bells().appended(
            stored
                .iter()
                .map(|e| (e.replay_id, e.kind.as_str(), e.class)),
        );
        let trace = forcebus_trace::current();
        let published: Appended = stored
            .into_iter()
            .map(|e| {
                let mut e = Event::from_stored(e);
                e.trace.clone_from(&trace);
                Arc::new(e)
            })
            .collect();
        {
            let mut inner = self.lock();
            for e in &published {
                inner.index.push_back(Meta {
                    replay_id: e.replay_id,
                    class: e.class,
                    time_ms: e.time_ms,
                    size: u32::try_from(e.payload.len()).unwrap_or(u32::MAX),
                });
                inner.bytes += e.payload.len() as u64;
                inner.tail.push_back(e.clone());
                inner.tail_bytes += e.payload.len() as u64;
            }
            inner.trim_tail(&self.config);
            if inner.bytes > self.cap_with_slack() {
                self.over_cap.notify_one();
            }
        }
        Ok(published)
    }

    /// Waits until the retained bytes pass the size cap by a quarter (the sweeper calls
    /// [`EventLog::expire`] then).
    pub async fn over_cap(&self) {
        self.over_cap.notified().await;
    }

    /// Marks every appended event up to `replay_id` durable: it becomes visible to
    /// subscribers, and they wake, now or after the delivery delay.
    pub fn publish_through(&self, replay_id: u64) {
        self.last
            .fetch_max(replay_id, std::sync::atomic::Ordering::AcqRel);
        self.delivery.publish_through(replay_id);
    }

    /// The earliest valid position of a channel of `class`: events after it are retained.
    pub fn earliest(&self, class: RetentionClass) -> u64 {
        self.lock()
            .expired_through
            .get(&class)
            .copied()
            .unwrap_or(0)
    }
}

/// Counts appended events by retention class (`/metrics`): one counter update per run of
/// one class (a batch is mostly one), its label not allocated.
fn count_appended(events: &[StoredEvent], family: fn(&str) -> &'static str) {
    const CLASSES: [&str; 4] = ["0", "1", "2", "3"];
    for run in events.chunk_by(|a, b| a.class == b.class && family(&a.kind) == family(&b.kind)) {
        let class = run[0].class;
        let label: std::borrow::Cow<'static, str> = CLASSES
            .get(usize::from(class))
            .map_or_else(|| class.to_string().into(), |c| (*c).into());
        metrics::counter!(
            "forcebus_events_appended_total",
            "class" => label,
            "kind" => family(&run[0].kind)
        )
        .increment(run.len() as u64);
    }
}

/// The `# HELP` line of what the logs count (events appended); the server calls it once
/// its metrics recorder is installed.
pub fn describe_metrics() {
    metrics::describe_counter!(
        "forcebus_events_appended_total",
        "Events appended to the logs, by retention class (0: change and platform events; 1: PushTopic and generic notifications) and kind (change, platform, pushtopic, generic)."
    );
}
