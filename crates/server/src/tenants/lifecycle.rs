//! An org made at run time over its life: served (opened again first if it rests),
//! unloaded when idle with nothing under way, and closed by waiting for what the org
//! says is under way and for the org itself to go.

use forcebus_sync::prelude::*;
use std::sync::Arc;
use std::time::Duration;

use forcebus_org::RecordId;

use super::Tenants;
use crate::made::{Activity, Made, Resting, Slot};
use crate::tenant::{Home, Tenant};

impl Tenants {
    /// The org to serve a request with (the default one for `None`), opened if it rests,
    /// and the request's activity on it. An org that cannot be opened (its files damaged
    /// or gone) is answered by the default org, which does not know its tokens.
    pub(crate) async fn serve(
        self: &Arc<Self>,
        made: Option<Arc<Made>>,
    ) -> (Arc<Tenant>, Option<Activity>) {
        let Some(made) = made else {
            return (self.default.clone(), None);
        };
        // Marked before opening, so an unload sweep leaves it be from here on.
        let activity = made.activity();
        let tenant = match made.open() {
            Some(t) => Ok(t),
            None => {
                let (tenants, m) = (self.clone(), made.clone());
                tokio::task::spawn_blocking(move || tenants.reopened(&m))
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(|r| r)
            }
        };
        match tenant {
            Ok(t) => (t, Some(activity)),
            Err(e) => {
                tracing::error!(org = %made.id.to18(), error = %format!("{e:#}"), "An org could not be opened.");
                (self.default.clone(), None)
            }
        }
    }

    /// The org `made`, opened (blocking) if it rests: after any close under way.
    pub(crate) fn reopened(&self, made: &Made) -> anyhow::Result<Arc<Tenant>> {
        let _transition = made.transition();
        match &*made.slot() {
            Slot::Open(t) => return Ok(t.clone()),
            Slot::Deleted => anyhow::bail!("the org was deleted"),
            Slot::Resting(_) => {}
        }
        if self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            anyhow::bail!("the server is stopping");
        }
        let tenant = Arc::new(self.open_tenant(made.id, &made.info, made.home.clone())?);
        if self.started.load(std::sync::atomic::Ordering::SeqCst) {
            tenant.start(self.config.serve_times().retention_sweep);
        }
        *made.slot() = Slot::Open(tenant.clone());
        tracing::debug!(org = %made.id.to18(), "An idle org was opened again.");
        Ok(tenant)
    }

    /// Unloads every org on disk that has been idle for `idle` with nothing under way
    /// (no request, stream, Streaming API session, Bulk job or test control); how many.
    pub(crate) fn unload_idle(&self, idle: Duration) -> usize {
        let mut unloaded = 0;
        for made in self.made() {
            if matches!(made.home, Home::Memory(_)) || !made.idle_for(idle) {
                continue;
            }
            let _transition = made.transition();
            let tenant = {
                let mut slot = made.slot();
                let Slot::Open(tenant) = &*slot else {
                    continue;
                };
                // Checked again under the lock: a request marks its activity before it
                // takes the org from the slot.
                if !made.idle_for(idle) || !tenant.quiet() {
                    continue;
                }
                let resting = Resting::of(tenant);
                let Slot::Open(tenant) = std::mem::replace(&mut *slot, Slot::Resting(resting))
                else {
                    continue;
                };
                tenant
            };
            close(made.id, tenant);
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
const CLOSE_WAIT: Duration = Duration::from_secs(30);

/// Stops an org taken out of its slot, waits until no write is under way, and then until
/// the org is gone (its database closed), so the next open is the only one. Blocking;
/// nothing polls: the org signals both.
fn close(id: RecordId, tenant: Arc<Tenant>) {
    let started = std::time::Instant::now();
    tenant.stop_streams();
    tenant.stop();
    let closed = tenant.org.on_close();
    if !tenant.org.settle(CLOSE_WAIT) {
        tracing::warn!(org = %id.to18(), "An unloaded org still has writes under way after {CLOSE_WAIT:?}.");
    }
    drop(tenant);
    let left = CLOSE_WAIT.saturating_sub(started.elapsed());
    if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = closed.recv_timeout(left) {
        tracing::warn!(org = %id.to18(), "An unloaded org is still held after {CLOSE_WAIT:?}.");
    }
}
