//! An org the server hosts: the default one ([`Kind::Default`]) or one made through the
//! admin API ([`Kind::Made`]), each with two lifecycles of its own, apart:
//!
//! - [`tenancy`]: open, resting, deleted. An org made at run time that nobody has used
//!   for a while (`org_idle_unload_secs`), with no request, stream, Streaming API
//!   session, Bulk job or test control under way, rests (its database closed, its
//!   threads and memory returned) and is opened again by the next request that names
//!   it. What the admin API needs of a resting org (its client id, record and event
//!   counts) is kept, and its usernames in the server's sign-in index, so listing orgs
//!   or signing in to another org does not open it. The default org never rests while
//!   this node serves it.
//! - [`ownership`]: which node serves it. On a shared database ([`crate::cluster`]) each
//!   org is served by one node at a time, and its commits check the epoch of its lease
//!   while it is this node's; without one, every org is this node's.
//!
//! The two meet in one place, [`Hosted::current`]: the org is served here only while it
//! is open at the epoch this node holds it at.

mod ownership;
mod tenancy;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use forcebus_org::RecordId;
use forcebus_org::custom::ObjectConfig;
use forcebus_org::platform::EventConfig;

use forcebus_store::Fence;

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
pub(crate) use ownership::{Owner, Ownership};
pub(crate) use tenancy::Tenancy;

/// Which org of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The server's default org (the data dir's own, `default` in the database).
    Default,
    /// An org made through the admin API.
    Made,
}

/// An org of the server: who it is, where it lives, and its two lifecycles.
pub(crate) struct Hosted {
    pub(crate) id: RecordId,
    pub(crate) kind: Kind,
    pub(crate) info: OrgInfo,
    pub(crate) home: Home,
    /// Open, resting or deleted here, and what is under way in it.
    pub(crate) tenancy: Tenancy,
    /// Which node serves it, and the fence its commits check.
    pub(crate) ownership: Ownership,
}

impl Hosted {
    /// An org open here, served by this node at `fence`.
    pub(crate) fn new(
        id: RecordId,
        kind: Kind,
        info: OrgInfo,
        (home, fence): (Home, Fence),
        tenant: Arc<Tenant>,
    ) -> Self {
        let epoch = fence.load(std::sync::atomic::Ordering::SeqCst);
        Self {
            id,
            kind,
            info,
            home,
            tenancy: Tenancy::open_with(tenant, epoch),
            ownership: Ownership::here(fence),
        }
    }

    /// An org not open here, whose server is not known yet.
    pub(crate) fn resting(id: RecordId, kind: Kind, info: OrgInfo, home: Home) -> Self {
        Self {
            id,
            kind,
            info,
            home,
            tenancy: Tenancy::resting(),
            ownership: Ownership::unknown(),
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

    /// Where to open it: its home, its commits checking the fence of now.
    pub(crate) fn fenced_home(&self) -> Home {
        self.home.with_fence(self.ownership.fence())
    }

    /// The org, if it is open here at the epoch this node holds it at now (not a tenant
    /// left from an earlier time, still being closed).
    pub(crate) fn current(&self) -> Option<Arc<Tenant>> {
        let (tenant, epoch) = self.tenancy.open_at()?;
        (epoch == self.ownership.epoch()).then_some(tenant)
    }

    /// Marks a request or stream under way until the activity is dropped.
    pub(crate) fn activity(self: &Arc<Self>) -> Activity {
        self.tenancy.begin();
        Activity(self.clone())
    }
}

/// A request or response stream of an org under way.
pub(crate) struct Activity(Arc<Hosted>);

impl Drop for Activity {
    fn drop(&mut self) {
        self.0.tenancy.end();
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
