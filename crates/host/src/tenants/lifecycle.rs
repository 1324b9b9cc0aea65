//! An org over its life on this node: opened (again, if it rests; on a shared database
//! only while this node holds its lease), unloaded when idle with nothing under way, and
//! closed by waiting for what the org says is under way and for the org itself to go.

use forcebus_sync::prelude::*;
use std::sync::Arc;
use std::time::Duration;

use forcebus_org::RecordId;

use super::Tenants;
use crate::hosted::Hosted;
use crate::tenant::{Home, Tenant};

/// Why an org is not opened here.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NotOpened {
    /// Another node serves it now (or none does).
    #[error("the org is not this node's to serve")]
    NotHere,
    /// It was deleted.
    #[error("the org was deleted")]
    Deleted,
    /// The server is stopping.
    #[error("the server is stopping")]
    Stopping,
    /// Opening it failed (its files damaged or gone, its database out of reach).
    #[error("{0:#}")]
    Failed(anyhow::Error),
}

impl Tenants {
    /// The org `made`, opened (blocking) if it rests here: after any close under way, and
    /// only while this node serves it.
    pub(crate) fn reopened(&self, made: &Hosted) -> Result<Arc<Tenant>, NotOpened> {
        let _transition = made.tenancy.transition();
        if let Some(t) = made.current() {
            return Ok(t);
        }
        self.close_stale(made);
        if made.tenancy.is_deleted() {
            return Err(NotOpened::Deleted);
        }
        if self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(NotOpened::Stopping);
        }
        if !made.ownership.is_here() {
            return Err(NotOpened::NotHere);
        }
        let epoch = made.ownership.epoch();
        let tenant = Arc::new(self.open_tenant(made).map_err(NotOpened::Failed)?);
        if self.started.load(std::sync::atomic::Ordering::SeqCst) {
            tenant.start(self.config.serve_times().retention_sweep);
        }
        if let Err(tenant) = made.tenancy.opened(tenant.clone(), epoch) {
            close(made.id, tenant);
            return Err(NotOpened::Deleted);
        }
        self.say_open(made, true);
        tracing::debug!(org = %made.id.to18(), "An org was opened.");
        Ok(tenant)
    }

    /// Closes the org's tenant if it is left from an earlier time this node held the org
    /// (the caller holds the org's transition).
    pub(super) fn close_stale(&self, made: &Hosted) {
        let now = made.ownership.epoch();
        let Some(tenant) = made.tenancy.rest_if(|_, epoch| epoch != now) else {
            return;
        };
        close(made.id, tenant);
        tracing::debug!(org = %made.id.to18(), "An org this node no longer serves was closed.");
    }

    /// On a shared database, records whether the org is loaded here: a node taking it
    /// over loads it at once if it was.
    fn say_open(&self, made: &Hosted, open: bool) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        if let Err(e) = cluster.data.set_open(&made.key(), &cluster.node, open) {
            tracing::debug!(error = %e, "Cannot record whether an org is loaded.");
        }
    }

    /// Unloads every made org on disk or in the database that has been idle for `idle`
    /// with nothing under way (no request, stream, Streaming API session, Bulk job or test
    /// control); how many.
    pub(crate) fn unload_idle(&self, idle: Duration) -> usize {
        let mut unloaded = 0;
        for made in self.made() {
            if matches!(made.home, Home::Memory(_)) || !made.tenancy.idle_for(idle) {
                continue;
            }
            let _transition = made.tenancy.transition();
            // Checked again under the state's lock: a request marks its activity before it
            // takes the org's tenant.
            let Some(tenant) = made
                .tenancy
                .rest_if(|tenant, _| made.tenancy.idle_for(idle) && tenant.quiet())
            else {
                continue;
            };
            close(made.id, tenant);
            if made.ownership.is_here() {
                self.say_open(&made, false);
            }
            unloaded += 1;
        }
        if unloaded > 0 {
            tracing::debug!(unloaded, "Idle orgs were unloaded.");
        }
        unloaded
    }

    /// Unloads idle orgs every quarter of `idle` (at least every second, at most every
    /// minute), while the server runs.
    pub(crate) fn unload_when_idle(self: &Arc<Self>, idle: Duration) {
        let every = (idle / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
        let tenants = self.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let t = tenants.clone();
                let _ = tokio::task::spawn_blocking(move || t.unload_idle(idle)).await;
            }
        });
        self.tasks.locked().push(task);
    }
}

/// Longest a closing org's writes under way, and then the org itself, are waited for.
pub(super) const CLOSE_WAIT: Duration = Duration::from_secs(30);

/// Stops an org taken out of its slot, waits until no write is under way, and then until
/// the org is gone (its database closed), so the next open is the only one. Blocking;
/// nothing polls: the org signals both.
pub(super) fn close(id: RecordId, tenant: Arc<Tenant>) {
    let started = std::time::Instant::now();
    tenant.stop_streams();
    tenant.stop();
    let closed = tenant.org.on_close();
    if !tenant.org.settle(CLOSE_WAIT) {
        tracing::warn!(org = %id.to18(), "A closing org still has writes under way after {CLOSE_WAIT:?}.");
    }
    drop(tenant);
    let left = CLOSE_WAIT.saturating_sub(started.elapsed());
    if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = closed.recv_timeout(left) {
        tracing::warn!(org = %id.to18(), "A closing org is still held after {CLOSE_WAIT:?}.");
    }
}
