//! An org made at run time, open or resting: an org nobody has used for a while
//! (`org_idle_unload_secs`), with no request, stream, Streaming API session, Bulk job or
//! test control under way, is unloaded (its database closed, its threads and memory
//! returned) and opened again by the next request that names it. What the admin API needs
//! of a resting org (its client id, record and event counts) is kept here and its
//! usernames in the server's sign-in index, so listing orgs or signing in to another org
//! does not open it.

use forcebus_sync::prelude::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use forcebus_org::RecordId;
use forcebus_org::custom::ObjectConfig;
use forcebus_org::platform::EventConfig;

use crate::config::{AppSettings, UserConfig};
use crate::tenant::{Home, Tenant};

/// The config sections an org is made with (`POST /forcebus/v1/orgs` `config`), as the
/// config file spells them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrgConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) users: Option<Vec<UserConfig>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) app: Option<AppSettings>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) objects: BTreeMap<String, ObjectConfig>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) platform_events: BTreeMap<String, EventConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cdc_entities: Option<Vec<String>>,
}

/// What `org.json` keeps of an org.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OrgInfo {
    pub(crate) name: String,
    /// When it was made (`2026-11-23T04:52:10.000+0000`).
    pub(crate) created: String,
    #[serde(default)]
    pub(crate) config: OrgConfig,
    /// Its block of the record counter: records minted here never share an id with
    /// another org's.
    #[serde(default)]
    pub(crate) block: u64,
}

/// An org made at run time.
pub(crate) struct Made {
    pub(crate) id: RecordId,
    pub(crate) info: OrgInfo,
    /// Its connected app's client id (fixed when the org is made).
    pub(crate) client_id: String,
    pub(crate) home: Home,
    /// Held only for moments (a request's copy of the open org, a look at what is kept).
    slot: Mutex<Slot>,
    /// Held, on blocking threads only, while the org opens, closes or is deleted: one at
    /// a time, and a close finishes before the next open begins.
    transition: Mutex<()>,
    /// Requests and response streams under way.
    active: AtomicUsize,
    /// When it was last used ([`now_ms`]).
    last_used: AtomicU64,
}

/// An org open, or what is kept of it while it rests.
pub(crate) enum Slot {
    Open(Arc<Tenant>),
    Resting(Resting),
    /// Deleted: never opened again (a request that found it before still holds it).
    Deleted,
}

/// What is kept of a resting org for the admin API (sign-ins find it by the server's
/// index).
pub(crate) struct Resting {
    records: usize,
    events: usize,
}

impl Resting {
    /// What `tenant` leaves behind when it is unloaded.
    pub(crate) fn of(tenant: &Tenant) -> Self {
        Self {
            records: tenant.org.record_count(),
            events: tenant.org.log().retained(),
        }
    }
}

/// Milliseconds on a monotonic clock (since the first call), so a change of the
/// machine's time neither keeps an org open nor unloads it early.
fn now_ms() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let elapsed = START.get_or_init(Instant::now).elapsed().as_millis();
    u64::try_from(elapsed).unwrap_or(u64::MAX)
}

impl Made {
    pub(crate) fn new(id: RecordId, info: OrgInfo, home: Home, tenant: Arc<Tenant>) -> Self {
        Self {
            id,
            info,
            client_id: tenant.app.client_id.clone(),
            home,
            slot: Mutex::new(Slot::Open(tenant)),
            transition: Mutex::new(()),
            active: AtomicUsize::new(0),
            last_used: AtomicU64::new(now_ms()),
        }
    }

    /// The slot, for a moment.
    pub(crate) fn slot(&self) -> MutexGuard<'_, Slot> {
        self.slot.locked()
    }

    /// The right to open, close or delete the org (blocking threads only).
    pub(crate) fn transition(&self) -> MutexGuard<'_, ()> {
        self.transition.locked()
    }

    /// The org, if it is open.
    pub(crate) fn open(&self) -> Option<Arc<Tenant>> {
        match &*self.slot() {
            Slot::Open(t) => Some(t.clone()),
            Slot::Resting(_) | Slot::Deleted => None,
        }
    }

    /// Its record and event counts, and whether it is open.
    pub(crate) fn counts(&self) -> (usize, usize, bool) {
        if let Some(t) = self.open() {
            return (t.org.record_count(), t.org.log().retained(), true);
        }
        match &*self.slot() {
            Slot::Resting(r) => (r.records, r.events, false),
            Slot::Open(_) | Slot::Deleted => (0, 0, false),
        }
    }

    /// Marks a request or stream under way until the activity is dropped.
    pub(crate) fn activity(self: &Arc<Self>) -> Activity {
        self.active.fetch_add(1, Ordering::SeqCst);
        self.last_used.store(now_ms(), Ordering::SeqCst);
        Activity(self.clone())
    }

    /// Whether nothing is under way and nothing has been for `idle`.
    pub(crate) fn idle_for(&self, idle: Duration) -> bool {
        let since = now_ms().saturating_sub(self.last_used.load(Ordering::SeqCst));
        self.active.load(Ordering::SeqCst) == 0 && u128::from(since) >= idle.as_millis()
    }
}

/// A request or response stream of an org under way.
pub(crate) struct Activity(Arc<Made>);

impl Drop for Activity {
    fn drop(&mut self) {
        self.0.last_used.store(now_ms(), Ordering::SeqCst);
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that keeps its org's activity until it has been sent (or dropped):
/// a Pub/Sub stream or a long download keeps its org open.
pub(crate) struct Guarded<B> {
    inner: std::pin::Pin<Box<B>>,
    _activity: Option<Activity>,
}

impl<B> Guarded<B> {
    pub(crate) fn new(inner: B, activity: Option<Activity>) -> Self {
        Self {
            inner: Box::pin(inner),
            _activity: activity,
        }
    }
}

impl<B: http_body::Body> http_body::Body for Guarded<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.get_mut().inner.as_mut().poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
