//! What this node serves, kept in step with the leases in the database. Every fifth of a
//! lease the node renews its own lease and reads the org leases naming it
//! ([`Tenants::tick`]): an org newly its own (handed over, given by `forcebus cluster
//! move`) is taken, and loaded at once if its last node had it loaded; an org no longer
//! its own is let go (its commits fail from that moment, its tenant closes); an org asked
//! to move is handed over. Then it takes its share of the orgs no live node serves (their
//! node died), by rendezvous hashing over the live nodes, so the survivors split a dead
//! node's orgs between them.
//!
//! Changing who serves an org is instant (its [`Owner`] and fence); opening and closing
//! its tenant happen on blocking threads under the org's transition lock, so a slow open
//! or close never delays the next renewal.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use forcebus_store::{OrgLease, StoreError};

use super::Tenants;
use super::lifecycle::CLOSE_WAIT;
use crate::hosted::{Hosted, Kind, Owner};

impl Tenants {
    /// Keeps this node's lease and orgs until the process ends: a round every fifth of a
    /// lease, on a blocking thread.
    pub(crate) fn keep_cluster(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        let cluster = self.cluster.clone()?;
        let tenants = self.clone();
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(cluster.ttl / 5);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let t = tenants.clone();
                match tokio::task::spawn_blocking(move || t.tick()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "Cannot renew this node's lease; trying again.");
                    }
                    Err(e) => tracing::error!(error = %e, "A lease round failed."),
                }
            }
        }))
    }

    /// One round (blocking): renews this node's lease, takes up the orgs newly its own and
    /// lets go of the others, hands over those asked to move, takes its share of the orgs
    /// nobody serves. The orgs it takes that were loaded open on threads of their own;
    /// their handles are returned, for a node starting to wait on.
    pub(crate) fn tick(self: &Arc<Self>) -> Result<Vec<tokio::task::JoinHandle<()>>, StoreError> {
        let Some(cluster) = self.cluster.clone() else {
            return Ok(Vec::new());
        };
        let since = Instant::now();
        let open = self.all().iter().filter(|m| m.current().is_some()).count();
        cluster.beat(open)?;
        let mine = cluster.db.leases_of(&cluster.node)?;
        let mut opening = self.reconcile(&mine, since);
        cluster.renewed(since);
        let live = cluster.db.live_nodes()?;
        cluster.set_live(live.iter().map(|n| n.node.clone()));
        if cluster.may_claim() {
            opening.extend(self.take_orphans(&live)?);
        }
        Ok(opening)
    }

    /// Brings what this node serves in line with `mine`, the leases naming it as read at
    /// `since` (an org whose server this node learnt of later is left as it is).
    fn reconcile(
        self: &Arc<Self>,
        mine: &[OrgLease],
        since: Instant,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let held: HashMap<&str, &OrgLease> = mine.iter().map(|l| (l.scope.as_str(), l)).collect();
        for made in self.all() {
            if made.ownership.changed() > since {
                continue;
            }
            if made.ownership.is_here() && !held.contains_key(made.key().as_str()) {
                tracing::info!(org = %made.key(), "Another node serves an org of this node's now.");
                made.ownership.let_go(Owner::Unknown);
                self.in_background(move |t| {
                    let _transition = made.tenancy.transition();
                    t.close_stale(&made);
                });
            }
        }
        let mut opening = Vec::new();
        for lease in mine {
            let Some(made) = self.known(&lease.scope, lease.epoch) else {
                continue;
            };
            let owner = made.ownership.owner();
            if matches!(owner, Owner::Leaving) || made.ownership.changed() > since {
                continue;
            }
            let current = matches!(owner, Owner::Here) && made.ownership.epoch() == lease.epoch;
            if !current {
                tracing::info!(org = %lease.scope, epoch = lease.epoch, "This node serves an org handed to it.");
                made.ownership.hold(lease.epoch);
                if lease.open || made.kind == Kind::Default {
                    opening.push(self.open_in_background(made.clone()));
                }
            }
            if let Some(to) = &lease.move_to {
                made.ownership.hand_over();
                let to = to.clone();
                self.in_background(move |t| t.hand_over(&made, &to));
            }
        }
        opening
    }

    /// The org whose lease (`scope`) this node holds at `epoch` (blocking): what is left
    /// of one the list no longer has is erased; when the list cannot be read, nothing is
    /// (the next round tries again).
    fn known(&self, scope: &str, epoch: i64) -> Option<Arc<Hosted>> {
        match self.by_key(scope) {
            Ok(Some(made)) => Some(made),
            Ok(None) => {
                self.erase_leftovers(scope, epoch);
                None
            }
            Err(e) => {
                tracing::warn!(org = %scope, error = %format!("{e:#}"), "Cannot read the list of orgs; trying again next round.");
                None
            }
        }
    }

    /// Takes this node's share of the orgs no live node serves (blocking), among the
    /// `live` nodes.
    fn take_orphans(
        self: &Arc<Self>,
        live: &[forcebus_store::LiveNode],
    ) -> Result<Vec<tokio::task::JoinHandle<()>>, StoreError> {
        let Some(cluster) = self.cluster.clone() else {
            return Ok(Vec::new());
        };
        let orphans = cluster.db.orphans()?;
        if orphans.is_empty() {
            return Ok(Vec::new());
        }
        let live: Vec<String> = live
            .iter()
            .filter(|n| !n.draining)
            .map(|n| n.node.clone())
            .collect();
        // A round claims for at most a quarter of a lease (one claim, and learning the
        // org, each a round trip): the rest are the next round's, so this node's own
        // renewal never waits long enough on thousands of a dead node's orgs to lapse.
        let until = Instant::now() + cluster.ttl / 4;
        let mut opening = Vec::new();
        for scope in orphans {
            if Instant::now() > until {
                break;
            }
            let chosen = crate::cluster::chosen(&scope, live.iter().map(String::as_str));
            if chosen != Some(cluster.node.as_str()) {
                continue;
            }
            let (epoch, open) = match cluster.db.claim(&scope, &cluster.node) {
                Ok(Some(claimed)) => claimed,
                Ok(None) => continue,
                // Its row held by a transaction of a node cut off: the next one.
                Err(e) if !e.is_unavailable() => {
                    tracing::warn!(org = %scope, error = %e, "Cannot take an org over now; trying again next round.");
                    continue;
                }
                Err(e) => return Err(e),
            };
            let Some(made) = self.known(&scope, epoch) else {
                continue;
            };
            tracing::info!(org = %scope, epoch, "Took an org whose node stopped serving it.");
            made.ownership.hold(epoch);
            if open || made.kind == Kind::Default {
                opening.push(self.open_in_background(made));
            }
        }
        Ok(opening)
    }

    /// Hands `made` (being left: [`Owner::Leaving`]) to the node `to` (blocking): its
    /// streams end (their clients reconnect, through any node, to `to`), its writes under
    /// way finish, its lease goes to `to` with a new epoch, its tenant closes; requests
    /// that waited meanwhile go on to `to`.
    pub(super) fn hand_over(&self, made: &Hosted, to: &str) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        let _transition = made.tenancy.transition();
        if let Some(t) = made.tenancy.open() {
            t.stop_streams();
            t.stop();
            if !t.org.settle(CLOSE_WAIT) {
                tracing::warn!(org = %made.key(), "An org handed over still has writes under way after {CLOSE_WAIT:?}.");
            }
        }
        match cluster.db.hand_over(&[made.key()], &cluster.node, to) {
            Ok(handed) if !handed.is_empty() => {
                tracing::info!(org = %made.key(), to, "Handed an org over.");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(org = %made.key(), error = %e, "Cannot hand an org over; whoever the database says serves it goes on.");
            }
        }
        made.ownership.let_go(Owner::Unknown);
        self.close_stale(made);
        made.ownership.handed_on();
    }

    /// Opens `made` on a blocking thread (a few at a time: the others wait for their turn
    /// without holding one, so thousands taken over leave the blocking pool to the
    /// renewals and requests), if it is still this node's then.
    fn open_in_background(self: &Arc<Self>, made: Arc<Hosted>) -> tokio::task::JoinHandle<()> {
        let tenants = self.clone();
        tokio::runtime::Handle::current().spawn(async move {
            let Ok(turn) = tenants.opening.clone().acquire_owned().await else {
                return;
            };
            let _ = tokio::task::spawn_blocking(move || {
                let _turn = turn;
                if let Err(e) = tenants.reopened(&made) {
                    tracing::debug!(org = %made.key(), error = %e, "An org taken over was not opened.");
                }
            })
            .await;
        })
    }

    /// Runs `f` on a blocking thread of its own.
    fn in_background(self: &Arc<Self>, f: impl FnOnce(&Tenants) + Send + 'static) {
        let tenants = self.clone();
        tokio::runtime::Handle::current().spawn_blocking(move || f(&tenants));
    }

    /// Removes what an org no longer listed left (its deletion was cut short), holding
    /// its lease at `epoch`.
    fn erase_leftovers(&self, key: &str, epoch: i64) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        let fence = forcebus_store::postgres::fence(epoch);
        let store = forcebus_store::PostgresStore::fenced(
            cluster.data.clone(),
            key,
            forcebus_store::Durability::Full,
            fence,
        );
        match store.erase() {
            Ok(()) => tracing::info!(org = %key, "Removed what a deleted org left."),
            Err(e) => {
                tracing::debug!(org = %key, error = %e, "Cannot remove what a deleted org left.")
            }
        }
    }
}
