//! An org of the server, open or resting, and who serves it. An org made at run time
//! that nobody has used for a while (`org_idle_unload_secs`), with no request, stream,
//! Streaming API session, Bulk job or test control under way, is unloaded (its database
//! closed, its threads and memory returned) and opened again by the next request that
//! names it. What the admin API needs of a resting org (its client id, record and event
//! counts) is kept here and its usernames in the server's sign-in index, so listing orgs
//! or signing in to another org does not open it. The default org is one too
//! ([`Kind::Default`]): never unloaded while this node serves it.
//!
//! On a shared database ([`crate::cluster`]) each org is served by one node at a time:
//! [`Owner`] is what this node knows of which, and [`Made::fence`] the epoch of the
//! org's lease its commits check while it is this node's.

use forcebus_sync::prelude::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use forcebus_org::RecordId;
use forcebus_org::custom::ObjectConfig;
use forcebus_org::platform::EventConfig;

use forcebus_store::{Fence, Holder};

use crate::tenant::{Home, Tenant};
use forcebus_config::{AppSettings, UserConfig};

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
    /// Its connected app's client id, once known (on a shared database, so a node that
    /// never opened the org knows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) client_id: Option<String>,
}

pub(crate) use forcebus_store::DEFAULT_KEY;

/// Which org of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The server's default org (the data dir's own, `default` in the database).
    Default,
    /// An org made through the admin API.
    Made,
}

/// Who serves an org, as this node knows.
#[derive(Debug, Clone)]
pub(crate) enum Owner {
    /// This node (it holds the org's lease, or there is no cluster).
    Here,
    /// This node is handing it to another: requests wait until it has.
    Leaving,
    /// Another node, as the database said at `seen`.
    There { holder: Holder, seen: Instant },
    /// Not known (never asked, or lost): the database is asked at the next request.
    Unknown,
}

/// An org of the server: the default one, or one made at run time.
pub(crate) struct Made {
    pub(crate) id: RecordId,
    pub(crate) kind: Kind,
    pub(crate) info: OrgInfo,
    pub(crate) home: Home,
    /// Who serves it, and when that last changed here.
    owner: Mutex<(Owner, Instant)>,
    /// The epoch its commits check while this node serves it: a fence of its own for each
    /// time the org becomes this node's, so a tenant of an earlier time commits nothing.
    fence: Mutex<Fence>,
    /// The epoch the open tenant was opened at: one of an earlier epoch is stale (the org
    /// was this node's, then not) and serves nothing.
    opened_at: std::sync::atomic::AtomicI64,
    /// Told when a hand-over ends (requests waiting on [`Owner::Leaving`]).
    pub(crate) handed: tokio::sync::Notify,
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
    /// An org open here, served by this node at `fence`.
    pub(crate) fn new(
        id: RecordId,
        kind: Kind,
        info: OrgInfo,
        (home, fence): (Home, Fence),
        tenant: Arc<Tenant>,
    ) -> Self {
        let opened_at = fence.load(Ordering::SeqCst);
        Self {
            id,
            kind,
            info,
            home,
            owner: Mutex::new((Owner::Here, Instant::now())),
            fence: Mutex::new(fence),
            opened_at: std::sync::atomic::AtomicI64::new(opened_at),
            handed: tokio::sync::Notify::new(),
            slot: Mutex::new(Slot::Open(tenant)),
            transition: Mutex::new(()),
            active: AtomicUsize::new(0),
            last_used: AtomicU64::new(now_ms()),
        }
    }

    /// An org not open here, whose server is not known yet.
    pub(crate) fn resting(id: RecordId, kind: Kind, info: OrgInfo, home: Home) -> Self {
        Self {
            id,
            kind,
            info,
            home,
            owner: Mutex::new((Owner::Unknown, Instant::now())),
            fence: Mutex::new(forcebus_store::postgres::fence(forcebus_store::NOT_HELD)),
            opened_at: std::sync::atomic::AtomicI64::new(forcebus_store::NOT_HELD),
            handed: tokio::sync::Notify::new(),
            slot: Mutex::new(Slot::Resting(Resting {
                records: 0,
                events: 0,
            })),
            transition: Mutex::new(()),
            active: AtomicUsize::new(0),
            last_used: AtomicU64::new(now_ms()),
        }
    }

    /// Its key in the database and the cluster's leases: `default`, or its 18-character
    /// id.
    pub(crate) fn key(&self) -> String {
        match self.kind {
            Kind::Default => DEFAULT_KEY.to_owned(),
            Kind::Made => self.id.to18(),
        }
    }

    /// Who serves it, as this node knows.
    pub(crate) fn owner(&self) -> Owner {
        self.owner.locked().0.clone()
    }

    /// When what this node knows of who serves it last changed.
    pub(crate) fn owner_changed(&self) -> Instant {
        self.owner.locked().1
    }

    /// Forgets which other node serves it (it could not be reached: it may have died),
    /// so the next request asks the database.
    pub(crate) fn forget_holder(&self) {
        let mut owner = self.owner.locked();
        if matches!(owner.0, Owner::There { .. }) {
            *owner = (Owner::Unknown, Instant::now());
        }
    }

    /// Records who serves it.
    pub(crate) fn set_owner(&self, owner: Owner) {
        *self.owner.locked() = (owner, Instant::now());
    }

    /// The fence its commits check now.
    pub(crate) fn fence(&self) -> Fence {
        self.fence.locked().clone()
    }

    /// The epoch its commits check now ([`forcebus_store::NOT_HELD`]: not this node's).
    pub(crate) fn epoch(&self) -> i64 {
        self.fence.locked().load(Ordering::SeqCst)
    }

    /// The org becomes this node's at `epoch`: a new fence, so that a tenant opened
    /// before (of an earlier time it was this node's) commits nothing more. Held at
    /// `epoch` already (two requests, or a request and the keeper, finding the same
    /// claim), the fence stays: a tenant opening with it must go on committing.
    pub(crate) fn hold(&self, epoch: i64) {
        let mut fence = self.fence.locked();
        if fence.load(Ordering::SeqCst) != epoch {
            fence.store(forcebus_store::NOT_HELD, Ordering::SeqCst);
            *fence = forcebus_store::postgres::fence(epoch);
        }
        drop(fence);
        self.set_owner(Owner::Here);
    }

    /// The org is no longer this node's: its commits fail from now on.
    pub(crate) fn let_go(&self, owner: Owner) {
        self.fence
            .locked()
            .store(forcebus_store::NOT_HELD, Ordering::SeqCst);
        self.set_owner(owner);
    }

    /// Where to open it: its home, its commits checking the fence of now.
    pub(crate) fn fenced_home(&self) -> Home {
        self.home.with_fence(self.fence())
    }

    /// The slot, for a moment.
    pub(crate) fn slot(&self) -> MutexGuard<'_, Slot> {
        self.slot.locked()
    }

    /// The right to open, close or delete the org (blocking threads only).
    pub(crate) fn transition(&self) -> MutexGuard<'_, ()> {
        self.transition.locked()
    }

    /// The org, if it is open here at the epoch this node holds it at now (not a tenant
    /// left from an earlier time, still being closed).
    pub(crate) fn current(&self) -> Option<Arc<Tenant>> {
        let tenant = self.open()?;
        (self.opened_at.load(Ordering::SeqCst) == self.epoch()).then_some(tenant)
    }

    /// Puts the org open at `epoch` in the slot (whose lock the caller holds).
    pub(crate) fn opened(&self, slot: &mut Slot, tenant: Arc<Tenant>, epoch: i64) {
        self.opened_at.store(epoch, Ordering::SeqCst);
        *slot = Slot::Open(tenant);
    }

    /// The org, if it is open (at whatever epoch).
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

#[cfg(test)]
mod tests {
    use super::*;

    fn made() -> Made {
        let info = OrgInfo {
            name: "held".into(),
            created: String::new(),
            config: OrgConfig::default(),
            block: 0,
            client_id: None,
        };
        let id = forcebus_org::org::new_org_id();
        Made::resting(id, Kind::Made, info, Home::Dir("unused".into()))
    }

    #[test]
    fn holding_again_at_the_same_epoch_keeps_the_fence() {
        let made = made();
        made.hold(3);
        // A request opening the org with this fence...
        let opening = made.fence();
        // ...while the keeper (or another request) finds the same claim.
        made.hold(3);
        assert_eq!(
            opening.load(Ordering::SeqCst),
            3,
            "the tenant being opened still commits"
        );
        assert!(Arc::ptr_eq(&opening, &made.fence()));
        // Held again at a later epoch: a tenant of the earlier one commits nothing more.
        made.hold(4);
        assert_eq!(opening.load(Ordering::SeqCst), forcebus_store::NOT_HELD);
        assert_eq!(made.epoch(), 4);
        made.let_go(Owner::Unknown);
        assert_eq!(made.epoch(), forcebus_store::NOT_HELD);
    }
}
