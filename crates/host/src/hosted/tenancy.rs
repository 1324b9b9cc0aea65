//! Whether an org is open here, what is kept of it while it rests, and what is under way
//! in it. One lifecycle, every change through one of the methods below, each under the
//! org's transition (held on blocking threads while the org opens, closes or is deleted,
//! so a close finishes before the next open begins):
//!
//! ```text
//!              opened(tenant, epoch)
//!   Resting ─────────────────────────▶ Open { tenant, epoch }
//!      ▲  ◀───────────────────────────   │
//!      │   rest_if(idle) / rest_stale     │
//!      │                                  │ delete()
//!      └──────────── delete() ───────▶ Deleted (for good; a request that found the
//!                                              org before still holds its tenant)
//! ```
//!
//! A tenant taken out of `Open` is the caller's to close ([`crate::tenants`]).

use forcebus_sync::prelude::*;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::tenant::Tenant;

/// An org open, or what is kept of it while it rests.
enum State {
    /// Open, at the epoch of the org's lease it was opened at (one of an earlier epoch is
    /// stale: the org was this node's, then not, and it serves nothing).
    Open { tenant: Arc<Tenant>, epoch: i64 },
    /// Resting: what the admin API shows of it without opening it (sign-ins find it by
    /// the server's index).
    Resting { records: usize, events: usize },
    /// Deleted: never opened again.
    Deleted,
}

/// An org's state here, and its activity.
pub(crate) struct Tenancy {
    /// Held only for moments (a request's copy of the open org, a look at what is kept).
    state: Mutex<State>,
    /// Held, on blocking threads only, while the org opens, closes or is deleted.
    transition: Mutex<()>,
    /// Requests and response streams under way.
    active: AtomicUsize,
    /// When it was last used ([`now_ms`]).
    last_used: AtomicU64,
}

/// Milliseconds on a monotonic clock (since the first call), so a change of the
/// machine's time neither keeps an org open nor unloads it early.
fn now_ms() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let elapsed = START.get_or_init(Instant::now).elapsed().as_millis();
    u64::try_from(elapsed).unwrap_or(u64::MAX)
}

impl Tenancy {
    /// Open with `tenant`, opened at `epoch`.
    pub(crate) fn open_with(tenant: Arc<Tenant>, epoch: i64) -> Self {
        Self::with(State::Open { tenant, epoch })
    }

    /// Resting, nothing known of it yet.
    pub(crate) fn resting() -> Self {
        Self::with(State::Resting {
            records: 0,
            events: 0,
        })
    }

    fn with(state: State) -> Self {
        Self {
            state: Mutex::new(state),
            transition: Mutex::new(()),
            active: AtomicUsize::new(0),
            last_used: AtomicU64::new(now_ms()),
        }
    }

    /// The right to open, close or delete the org (blocking threads only).
    pub(crate) fn transition(&self) -> MutexGuard<'_, ()> {
        self.transition.locked()
    }

    /// The org's tenant and the epoch it was opened at, if it is open.
    pub(crate) fn open_at(&self) -> Option<(Arc<Tenant>, i64)> {
        match &*self.state.locked() {
            State::Open { tenant, epoch } => Some((tenant.clone(), *epoch)),
            State::Resting { .. } | State::Deleted => None,
        }
    }

    /// The org's tenant, if it is open (at whatever epoch).
    pub(crate) fn open(&self) -> Option<Arc<Tenant>> {
        self.open_at().map(|(tenant, _)| tenant)
    }

    /// Whether it was deleted.
    pub(crate) fn is_deleted(&self) -> bool {
        matches!(&*self.state.locked(), State::Deleted)
    }

    /// Resting → Open: `tenant` opened at `epoch`. A deleted org stays deleted (and the
    /// tenant is handed back to be closed).
    pub(crate) fn opened(&self, tenant: Arc<Tenant>, epoch: i64) -> Result<(), Arc<Tenant>> {
        let mut state = self.state.locked();
        if matches!(&*state, State::Deleted) {
            return Err(tenant);
        }
        *state = State::Open { tenant, epoch };
        Ok(())
    }

    /// Open → Resting when `ready` says so of the open tenant and its epoch (checked under
    /// the state's lock: a request marks its activity before it takes the tenant);
    /// the tenant taken out, to be closed.
    pub(crate) fn rest_if(&self, ready: impl FnOnce(&Tenant, i64) -> bool) -> Option<Arc<Tenant>> {
        let mut state = self.state.locked();
        let State::Open { tenant, epoch } = &*state else {
            return None;
        };
        if !ready(tenant, *epoch) {
            return None;
        }
        let resting = State::Resting {
            records: tenant.org.record_count(),
            events: tenant.org.log().retained(),
        };
        match std::mem::replace(&mut *state, resting) {
            State::Open { tenant, .. } => Some(tenant),
            State::Resting { .. } | State::Deleted => None,
        }
    }

    /// Any state → Deleted, for good; the tenant taken out if it was open, to be closed.
    pub(crate) fn delete(&self) -> Option<Arc<Tenant>> {
        match std::mem::replace(&mut *self.state.locked(), State::Deleted) {
            State::Open { tenant, .. } => Some(tenant),
            State::Resting { .. } | State::Deleted => None,
        }
    }

    /// Its record and event counts, and whether it is open.
    pub(crate) fn counts(&self) -> (usize, usize, bool) {
        if let Some(t) = self.open() {
            return (t.org.record_count(), t.org.log().retained(), true);
        }
        match &*self.state.locked() {
            State::Resting { records, events } => (*records, *events, false),
            State::Open { .. } | State::Deleted => (0, 0, false),
        }
    }

    /// Marks a request or stream under way until the activity is dropped.
    pub(crate) fn begin(&self) {
        self.active.fetch_add(1, Ordering::SeqCst);
        self.last_used.store(now_ms(), Ordering::SeqCst);
    }

    /// Ends what [`Self::begin`] marked.
    pub(crate) fn end(&self) {
        self.last_used.store(now_ms(), Ordering::SeqCst);
        self.active.fetch_sub(1, Ordering::SeqCst);
    }

    /// Whether nothing is under way and nothing has been for `idle`.
    pub(crate) fn idle_for(&self, idle: Duration) -> bool {
        let since = now_ms().saturating_sub(self.last_used.load(Ordering::SeqCst));
        self.active.load(Ordering::SeqCst) == 0 && u128::from(since) >= idle.as_millis()
    }
}
