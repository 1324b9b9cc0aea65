//! The admin API across the nodes of a cluster, and the node's own health: a call about
//! one org goes on to the node serving it; a new org is made on the live node serving the
//! fewest (the call passed on there); the list gathers what each live node says of the
//! orgs it serves, and names each org's node. `/forcebus/ready` says whether this node can
//! serve: it has heard from the database lately and is not draining.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use forcebus_store::Holder;

use super::OrgsApi;
use super::shapes::{NodeStatus, OrgEntry, OrgList};
use crate::tenants::Located;
use forcebus_listener::forward::unavailable;
use forcebus_listener::forwarded::PassedOn;

/// Passes a call about one org on to the node serving it, and a new org on to the node
/// serving the fewest; anything else goes on here.
pub(super) async fn pass_on(
    State(api): State<Arc<OrgsApi>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(cluster) = api.tenants.cluster().cloned() else {
        return next.run(request).await;
    };
    let hops = request.extensions().get::<PassedOn>().map_or(0, |p| p.hops);
    let path = request.uri().path();
    if path.trim_end_matches('/') == "/forcebus/v1/orgs" {
        if request.method() == Method::POST && hops == 0 {
            match placement(&api).await {
                Some(to) if to.node != cluster.node => {
                    return cluster
                        .forward
                        .http(request, &to)
                        .await
                        .unwrap_or_else(|unreachable| unreachable);
                }
                _ => {}
            }
        }
        return next.run(request).await;
    }
    let Some(id) = path
        .strip_prefix("/forcebus/v1/orgs/")
        .map(|rest| rest.split('/').next().unwrap_or_default().to_owned())
    else {
        return next.run(request).await;
    };
    let made = if api.tenants.is_default(&id) {
        Some(api.tenants.default_made().clone())
    } else {
        api.tenants.find(&id).await
    };
    if let Some(made) = made {
        match api.tenants.locate(&made, hops).await {
            Located::Here | Located::Gone => {}
            Located::There(to) => {
                return cluster
                    .forward
                    .http(request, &to)
                    .await
                    .unwrap_or_else(|unreachable| {
                        made.ownership.forget_holder();
                        unreachable
                    });
            }
            Located::Unavailable(why) => return unavailable(&why),
        }
    }
    next.run(request).await
}

/// The live node a new org goes to: the one serving the fewest orgs (this one on a tie).
async fn placement(api: &OrgsApi) -> Option<Holder> {
    let cluster = api.tenants.cluster()?.clone();
    let me = cluster.node.clone();
    let nodes = crate::cluster::blocking(move || cluster.data.live_nodes())
        .await
        .ok()?;
    nodes
        .into_iter()
        .filter(|n| !n.draining)
        .min_by_key(|n| (n.orgs, n.node != me, n.node.clone()))
        .map(|n| Holder {
            node: n.node,
            http: n.http,
            grpc: n.grpc,
        })
}

/// `GET /forcebus/health`: this process is up.
pub(super) async fn health(State(api): State<Arc<OrgsApi>>) -> Response {
    let node = api.tenants.cluster().map(|c| c.node.as_str());
    status(StatusCode::OK, "ok", node, None)
}

/// `GET /forcebus/ready`: this node can serve (200), or a load balancer should send its
/// clients elsewhere (503: it has not heard from the database for most of a lease, or it
/// is draining).
pub(super) async fn ready(State(api): State<Arc<OrgsApi>>) -> Response {
    let Some(c) = api.tenants.cluster() else {
        return status(StatusCode::OK, "ready", None, None);
    };
    let node = Some(c.node.as_str());
    if c.draining() {
        return status(StatusCode::SERVICE_UNAVAILABLE, "draining", node, None);
    }
    if !c.valid() {
        let why = "the database has not been reached lately";
        return status(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            node,
            Some(why),
        );
    }
    status(StatusCode::OK, "ready", node, None)
}

/// A health or readiness answer.
fn status(
    code: StatusCode,
    status: &'static str,
    node: Option<&str>,
    why: Option<&'static str>,
) -> Response {
    (code, Json(NodeStatus { status, node, why })).into_response()
}

/// What every other live node says of the orgs it serves (a node that does not answer
/// is left out: its orgs are shown as listed).
async fn from_other_nodes(
    api: &Arc<OrgsApi>,
    cluster: &Arc<crate::cluster::Cluster>,
) -> Vec<OrgEntry> {
    let nodes = {
        let c = cluster.clone();
        crate::cluster::blocking(move || c.data.live_nodes())
            .await
            .unwrap_or_default()
    };
    let mut orgs = Vec::new();
    for node in nodes.iter().filter(|n| n.node != cluster.node) {
        let to = Holder {
            node: node.node.clone(),
            http: node.http.clone(),
            grpc: node.grpc.clone(),
        };
        let got = cluster
            .forward
            .call(
                &to,
                Method::GET,
                "/forcebus/v1/orgs?here=true",
                api.tenants.admin_key(),
                bytes::Bytes::new(),
            )
            .await;
        match got {
            Ok((status, body)) if status.is_success() => {
                match serde_json::from_slice::<OrgList>(&body) {
                    Ok(theirs) => orgs.extend(theirs.orgs),
                    Err(e) => {
                        tracing::debug!(node = %to.node, error = %e, "A node's list of its orgs did not read.")
                    }
                }
            }
            Ok((status, _)) => {
                tracing::debug!(node = %to.node, %status, "A node did not list its orgs.")
            }
            Err(e) => tracing::debug!(node = %to.node, error = %e, "A node did not list its orgs."),
        }
    }
    orgs
}

/// The list on a shared database: the orgs this node serves (only those, when `here`),
/// then what every other live node says of its own, then the orgs nobody reported (their
/// node is gone, or they rest unclaimed) as listed; each with its node. The default org
/// first.
pub(super) async fn list(api: &Arc<OrgsApi>, here: bool) -> Response {
    let Some(cluster) = api.tenants.cluster().cloned() else {
        return Json(OrgList::default()).into_response();
    };
    let mine: Vec<OrgEntry> = api
        .tenants
        .all()
        .iter()
        .filter(|m| m.ownership.is_here())
        .filter_map(|m| OrgEntry::of(m))
        .map(|e| OrgEntry {
            node: Some(Some(cluster.node.clone())),
            ..e
        })
        .collect();
    if here {
        return Json(OrgList { orgs: mine }).into_response();
    }
    let tenants = api.tenants.clone();
    let known = tokio::task::spawn_blocking(move || tenants.refresh_list()).await;
    let (listed, leases) = match known {
        Ok(Ok(known)) => known,
        Ok(Err(e)) => return unavailable(&format!("the database is out of reach ({e:#})")),
        Err(_) => return unavailable("the list could not be read"),
    };
    let mut orgs = mine;
    orgs.extend(from_other_nodes(api, &cluster).await);
    let mut seen: std::collections::HashSet<String> =
        orgs.iter().map(|e| e.org_id.clone()).collect();
    for (id, info) in listed {
        let key = id.to18();
        if !seen.insert(key.clone()) {
            continue;
        }
        let node = leases.get(&key).filter(|n| !n.is_empty()).cloned();
        orgs.push(OrgEntry {
            node: Some(node),
            ..OrgEntry::listed(key, &info)
        });
    }
    // The default org first, then by id.
    orgs.sort_by(|a, b| (!a.default, &a.org_id).cmp(&(!b.default, &b.org_id)));
    Json(OrgList { orgs }).into_response()
}
