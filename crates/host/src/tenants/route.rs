//! Where a request for an org goes. Without a cluster: here, always. On a shared database:
//! here when this node holds the org's lease (and has heard from the database lately
//! enough to know it still does), opening the org first if it rests; on to the node that
//! holds it; or, when no live node does (its node died), this node takes the lease and
//! serves. What this node knows of another's orgs is asked of the database again once it
//! is a little old, or whenever another node passes on a request for an org it does not
//! serve (the org changed hands meanwhile).

use std::sync::Arc;
use std::time::{Duration, Instant};

use forcebus_store::Holder;

use super::Tenants;
use super::lifecycle::NotOpened;
use crate::hosted::{Activity, Hosted, Kind, Owner};
use crate::tenant::Tenant;
use forcebus_listener::forwarded::MOST_HOPS;

/// Who serves an org, for a request.
#[derive(Debug, Clone)]
pub(crate) enum Located {
    /// This node.
    Here,
    /// Another node, to pass the request on to.
    There(Holder),
    /// Nobody can now (the org is changing hands, this node lost touch with the
    /// database): answered 503.
    Unavailable(String),
    /// The org was deleted.
    Gone,
}

/// What a request for an org is served with.
pub(crate) enum Route {
    /// The org, open here, in use while the activity lives.
    Here(Arc<Tenant>, Activity),
    /// Another node, to pass the request on to.
    There(Holder),
    /// Nobody can now: answered 503.
    Unavailable(String),
    /// The org was deleted (or its files are damaged): the default org answers.
    Gone,
}

/// How long a known holder of another node's org is believed without asking again (a
/// draining node listens this long after handing its orgs over, for the nodes that still
/// pass it requests for them).
pub(crate) const FRESH: Duration = Duration::from_secs(2);
/// Longest a request waits for an org being handed over.
const HANDOVER_WAIT: Duration = Duration::from_secs(30);

/// What the database says of an org's lease, once this node acted on it.
enum Refreshed {
    Mine,
    Theirs(Holder),
    Gone,
    /// Nobody serves it, and this node may not take it now (it is draining, or others
    /// kept taking it first).
    Busy,
}

impl Tenants {
    /// Where a request for `made` goes, opening the org if it is this node's and rests;
    /// `hops`: how many nodes passed the request on so far.
    pub(crate) async fn route(self: &Arc<Self>, made: &Arc<Hosted>, hops: u8) -> Route {
        for _ in 0..3 {
            match self.locate(made, hops).await {
                Located::Here => {}
                Located::There(h) => return Route::There(h),
                Located::Unavailable(why) => return Route::Unavailable(why),
                Located::Gone => return Route::Gone,
            }
            match self.serve_here(made).await {
                Ok((tenant, activity)) => return Route::Here(tenant, activity),
                // Lost meanwhile: where is it now?
                Err(NotOpened::NotHere) => {}
                Err(NotOpened::Stopping) => {
                    return Route::Unavailable("the server is stopping".into());
                }
                Err(NotOpened::Deleted) => return Route::Gone,
                Err(NotOpened::Failed(e)) => {
                    tracing::error!(org = %made.id.to18(), error = %format!("{e:#}"), "An org could not be opened.");
                    return match self.cluster {
                        Some(_) => Route::Unavailable("the org cannot be opened".into()),
                        None => Route::Gone,
                    };
                }
            }
        }
        Route::Unavailable("the org is changing hands".into())
    }

    /// The org, open here, and the request's activity on it (marked before it opens, so
    /// an unload sweep leaves it be from here on).
    pub(crate) async fn serve_here(
        self: &Arc<Self>,
        made: &Arc<Hosted>,
    ) -> Result<(Arc<Tenant>, Activity), NotOpened> {
        let activity = made.activity();
        if let Some(t) = made.current() {
            return Ok((t, activity));
        }
        let (tenants, m) = (self.clone(), made.clone());
        let opened = tokio::task::spawn_blocking(move || tenants.reopened(&m))
            .await
            .map_err(|e| NotOpened::Failed(e.into()))?;
        opened.map(|t| (t, activity))
    }

    /// Who serves `made`, for a request passed on `hops` times so far.
    pub(crate) async fn locate(self: &Arc<Self>, made: &Arc<Hosted>, hops: u8) -> Located {
        let Some(cluster) = self.cluster.clone() else {
            return Located::Here;
        };
        for _ in 0..4 {
            match made.ownership.owner() {
                Owner::Here => {
                    if cluster.wait_valid(cluster.ttl).await {
                        if made.ownership.is_here() {
                            return Located::Here;
                        }
                        continue;
                    }
                    return Located::Unavailable(
                        "this node cannot reach the database to know it still serves the org"
                            .into(),
                    );
                }
                Owner::Leaving => {
                    let handed = made.ownership.handed();
                    if matches!(made.ownership.owner(), Owner::Leaving) {
                        let _ = tokio::time::timeout(HANDOVER_WAIT, handed).await;
                    }
                }
                Owner::There { holder, seen } if hops == 0 && seen.elapsed() < FRESH => {
                    return Located::There(holder);
                }
                Owner::There { .. } | Owner::Unknown => {
                    let (tenants, m) = (self.clone(), made.clone());
                    let refreshed = tokio::task::spawn_blocking(move || tenants.refresh(&m)).await;
                    match refreshed {
                        Ok(Ok(Refreshed::Mine)) => {}
                        Ok(Ok(Refreshed::Theirs(holder))) if hops < MOST_HOPS => {
                            return Located::There(holder);
                        }
                        Ok(Ok(Refreshed::Theirs(_))) => {
                            return Located::Unavailable(
                                "the nodes disagree on which of them serves the org (it is changing hands)".into(),
                            );
                        }
                        Ok(Ok(Refreshed::Gone)) => return Located::Gone,
                        Ok(Ok(Refreshed::Busy)) => {
                            return Located::Unavailable("the org is changing hands".into());
                        }
                        Ok(Err(e)) => {
                            return Located::Unavailable(format!(
                                "the database is out of reach ({e})"
                            ));
                        }
                        Err(_) => return Located::Unavailable("a takeover failed".into()),
                    }
                }
            }
        }
        Located::Unavailable("the org is changing hands".into())
    }

    /// Asks the database who holds `made`'s lease and acts on it (blocking): this node
    /// (it was handed the org), another live node, or nobody (this node takes it).
    fn refresh(&self, made: &Hosted) -> Result<Refreshed, forcebus_store::StoreError> {
        let Some(cluster) = &self.cluster else {
            return Ok(Refreshed::Mine);
        };
        let key = made.key();
        for _ in 0..3 {
            let Some(view) = cluster.data.lease(&key)? else {
                // No lease: the org was deleted (every org listed has one).
                if made.kind == Kind::Made {
                    self.forget(made);
                    let _ = made.tenancy.delete();
                }
                return Ok(Refreshed::Gone);
            };
            if view.node == cluster.node {
                if made.ownership.epoch() != view.epoch || !made.ownership.is_here() {
                    made.ownership.hold(view.epoch);
                }
                return Ok(Refreshed::Mine);
            }
            if view.live && cluster.listens_at(&view.http, &view.grpc) {
                // An earlier process on this node's ports: gone, its lease not yet out.
                return Ok(Refreshed::Busy);
            }
            if view.live {
                let holder = Holder {
                    node: view.node,
                    http: view.http,
                    grpc: view.grpc,
                };
                made.ownership.let_go(Owner::There {
                    holder: holder.clone(),
                    seen: Instant::now(),
                });
                return Ok(Refreshed::Theirs(holder));
            }
            if !cluster.may_claim() {
                // Not taking orgs now (draining, or just back in touch with the
                // database): whoever the database gives it to next.
                std::thread::sleep(cluster.ttl / 5);
                continue;
            }
            if let Some((epoch, _)) = cluster.db.claim(&key, &cluster.node)? {
                tracing::info!(org = %key, epoch, "Took an org nobody served.");
                made.ownership.hold(epoch);
                return Ok(Refreshed::Mine);
            }
        }
        Ok(Refreshed::Busy)
    }
}
