//! Who serves an org, as this node knows, and the fence its commits check while this node
//! does. One lifecycle, every change through one of the methods below:
//!
//! ```text
//!              hold(epoch)                    hand_over()
//!   Unknown ───────────────▶ Here(epoch) ─────────────────▶ Leaving
//!      ▲  ▲                    │   ▲                           │
//!      │  │ forget_holder()    │   │ hold(epoch)               │ let_go(..), handed_on()
//!      │  └──────────── There ◀┘   └──── There | Unknown ◀─────┘
//!      │                  let_go(There)
//!      └─ let_go(Unknown) from any state
//! ```
//!
//! Without a cluster an org is `Here` from the start and stays so. On a shared database
//! the epoch is the org's lease's: a fence of its own for each time the org becomes this
//! node's, so a tenant opened at an earlier time commits nothing more.

use forcebus_sync::prelude::*;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Instant;

use forcebus_store::{Fence, Holder};

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

/// An org's owner and fence.
pub(crate) struct Ownership {
    /// Who serves it, and when that last changed here.
    owner: Mutex<(Owner, Instant)>,
    /// The epoch its commits check while this node serves it.
    fence: Mutex<Fence>,
    /// Told when a hand-over ends (requests waiting on [`Owner::Leaving`]).
    handed: tokio::sync::Notify,
}

impl Ownership {
    /// Served here, at `fence`.
    pub(crate) fn here(fence: Fence) -> Self {
        Self::with(Owner::Here, fence)
    }

    /// Served by a node not known yet; this node's commits fail until it holds the org.
    pub(crate) fn unknown() -> Self {
        let fence = forcebus_store::postgres::fence(forcebus_store::NOT_HELD);
        Self::with(Owner::Unknown, fence)
    }

    fn with(owner: Owner, fence: Fence) -> Self {
        Self {
            owner: Mutex::new((owner, Instant::now())),
            fence: Mutex::new(fence),
            handed: tokio::sync::Notify::new(),
        }
    }

    /// Who serves it, as this node knows.
    pub(crate) fn owner(&self) -> Owner {
        self.owner.locked().0.clone()
    }

    /// Told when a hand-over ends: a request that found the org [`Owner::Leaving`] waits
    /// on it (made before it looks again, so the end is not missed).
    pub(crate) fn handed(&self) -> tokio::sync::futures::Notified<'_> {
        self.handed.notified()
    }

    /// Whether this node serves it.
    pub(crate) fn is_here(&self) -> bool {
        matches!(self.owner.locked().0, Owner::Here)
    }

    /// When what this node knows of who serves it last changed.
    pub(crate) fn changed(&self) -> Instant {
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

    /// This node begins handing the org to another: requests wait for [`Self::let_go`].
    pub(crate) fn hand_over(&self) {
        self.set(Owner::Leaving);
    }

    fn set(&self, owner: Owner) {
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
        self.set(Owner::Here);
    }

    /// The org is no longer this node's: its commits fail from now on.
    pub(crate) fn let_go(&self, owner: Owner) {
        self.fence
            .locked()
            .store(forcebus_store::NOT_HELD, Ordering::SeqCst);
        self.set(owner);
    }

    /// A hand-over has ended (the org let go, and its tenant closed): requests waiting on
    /// [`Owner::Leaving`] go on.
    pub(crate) fn handed_on(&self) {
        self.handed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn holding_again_at_the_same_epoch_keeps_the_fence() {
        let ownership = Ownership::unknown();
        ownership.hold(3);
        // A request opening the org with this fence...
        let opening = ownership.fence();
        // ...while the keeper (or another request) finds the same claim.
        ownership.hold(3);
        assert_eq!(
            opening.load(Ordering::SeqCst),
            3,
            "the tenant being opened still commits"
        );
        assert!(Arc::ptr_eq(&opening, &ownership.fence()));
        // Held again at a later epoch: a tenant of the earlier one commits nothing more.
        ownership.hold(4);
        assert_eq!(opening.load(Ordering::SeqCst), forcebus_store::NOT_HELD);
        assert_eq!(ownership.epoch(), 4);
        ownership.let_go(Owner::Unknown);
        assert_eq!(ownership.epoch(), forcebus_store::NOT_HELD);
    }

    #[test]
    fn a_hand_over_ends_with_the_org_let_go_and_its_waiters_told() {
        let ownership = Ownership::here(forcebus_store::postgres::fence(7));
        assert!(ownership.is_here());
        ownership.hand_over();
        assert!(matches!(ownership.owner(), Owner::Leaving));
        assert_eq!(
            ownership.epoch(),
            7,
            "it commits until it has handed the org on"
        );
        let waiting = ownership.handed();
        let mut waiting = std::pin::pin!(waiting);
        waiting.as_mut().enable();
        ownership.let_go(Owner::Unknown);
        assert_eq!(ownership.epoch(), forcebus_store::NOT_HELD);
        assert!(
            !futures_poll(waiting.as_mut()),
            "not before the hand-over has ended"
        );
        ownership.handed_on();
        assert!(
            futures_poll(waiting.as_mut()),
            "a request waiting on the hand-over goes on"
        );
    }

    #[test]
    fn only_another_nodes_holder_is_forgotten() {
        let ownership = Ownership::here(forcebus_store::postgres::fence(1));
        ownership.forget_holder();
        assert!(ownership.is_here(), "this node's own org is not forgotten");
        let holder = Holder {
            node: "node-2".into(),
            http: "127.0.0.1:1".into(),
            grpc: "127.0.0.1:2".into(),
        };
        ownership.let_go(Owner::There {
            holder,
            seen: Instant::now(),
        });
        ownership.forget_holder();
        assert!(matches!(ownership.owner(), Owner::Unknown));
    }

    /// Whether a future is ready at its first poll.
    fn futures_poll<F: std::future::Future>(f: std::pin::Pin<&mut F>) -> bool {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        f.poll(&mut cx).is_ready()
    }
}
