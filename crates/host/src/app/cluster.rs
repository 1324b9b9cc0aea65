//! A node starting on a shared database: it shares the cluster's key and certificate,
//! checks its admin key against the live nodes', listens (once its ports are free: a node
//! started on the ports of one about to stop waits for them), joins, and then either
//! serves the default org (the first node) or learns where it is served. Its ready line
//! holds the same credentials on every node; a node not serving the default org asks the
//! one that does for the access token.

use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use tokio::net::TcpListener;

use forcebus_store::{Database, Durability, PostgresStore, Store as _};

use crate::banner::Startup;
use crate::cluster::{Cluster, blocking};
use crate::tenant::{Declared, Home, Tenant, catalogue};
use crate::tenants::{DEFAULT_KEY, DefaultOrg, Located, Tenants};
use forcebus_config::Config;
use forcebus_config::datadir::DataDir;

/// Connections kept for the leases: one renewing, one for the requests that ask who
/// serves an org.
const LEASE_CONNECTIONS: usize = 2;

/// A node that joined: its part in the cluster, and its listeners (HTTP, gRPC).
pub(super) struct Joined {
    pub(super) cluster: Arc<Cluster>,
    pub(super) listeners: (TcpListener, TcpListener),
    /// Renews this node's lease while it starts (opening the default org, learning the
    /// orgs may outlast a lease), until its rounds begin ([`first_round`]).
    pub(super) starting: tokio::task::JoinHandle<()>,
}

/// Renews `cluster`'s node lease every fifth of a lease, for ever (aborted once the
/// rounds keep it).
async fn beat_while_starting(cluster: Arc<Cluster>) {
    loop {
        tokio::time::sleep(cluster.ttl / 5).await;
        let c = cluster.clone();
        if let Err(e) = blocking(move || c.beat(0)).await {
            tracing::warn!(error = %format!("{e:#}"), "Cannot renew this node's lease while it starts; trying again.");
        }
    }
}

/// Joins the nodes on `db`.
pub(super) async fn join(
    config: &Config,
    data_dir: &DataDir,
    db: Arc<Database>,
) -> anyhow::Result<Joined> {
    let proposed = crate::secrets::random_text(40);
    let d = db.clone();
    let key: Arc<str> = blocking(move || d.cluster_key(&proposed)).await?.into();
    // Generated (or taken from the database) before anything listens.
    super::tls_files(config, data_dir, Some(&db))?;
    let claim = crate::cluster::admin_key_claim(config.admin_key.as_deref());
    crate::cluster::check_admin_key(&db, &claim).await?;
    let listeners = bind_when_free(config).await?;
    let host = crate::advertise::host(config.advertise.as_deref(), &db);
    let addresses = (
        crate::advertise::advertised(listeners.0.local_addr()?, &host),
        crate::advertise::advertised(listeners.1.local_addr()?, &host),
    );
    let node = crate::cluster::node_id(config.node_id.as_deref());
    if config.advertise.is_none()
        && listeners.0.local_addr()?.ip().is_unspecified()
        && host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
    {
        // Through a local proxy to the database (pgbouncer, a cloud SQL proxy), every
        // node would say it is at 127.0.0.1: only nodes on this machine reach it there.
        tracing::warn!(address = %addresses.0, "This node reaches the database over loopback, so the other nodes are told it is at a loopback address: set advertise (FORCEBUS_ADVERTISE) to where they reach it unless they all run on this machine.");
    }
    let ttl = Duration::from_secs(config.lease_secs);
    let url = config.store.clone().unwrap_or_default();
    // A lease row another transaction holds (a node cut off mid-commit) is waited for a
    // fifth of a lease at most: the round moves on, and tries again at the next.
    let leases =
        blocking(move || Database::connect_waiting(&url, LEASE_CONNECTIONS, Some(ttl / 5))).await?;
    let cluster = Cluster::join((leases, db.clone()), node, ttl, addresses, key).await?;
    crate::cluster::claim_admin_key(&db, claim).await?;
    let starting = tokio::spawn(tracing::Instrument::in_current_span(beat_while_starting(
        cluster.clone(),
    )));
    Ok(Joined {
        cluster,
        listeners,
        starting,
    })
}

/// Both ports, bound: a port another process holds is waited for (a node started on the
/// ports of one that is stopping, as on one machine); any other failure ends the start.
async fn bind_when_free(config: &Config) -> anyhow::Result<(TcpListener, TcpListener)> {
    let mut said = false;
    loop {
        let http = TcpListener::bind(config.listen).await;
        let grpc = match &http {
            Ok(_) => TcpListener::bind(config.grpc_listen).await,
            Err(_) => Err(std::io::ErrorKind::AddrInUse.into()),
        };
        match (http, grpc) {
            (Ok(http), Ok(grpc)) => return Ok((http, grpc)),
            (h, g) => {
                let busy = [h.as_ref().err(), g.as_ref().err()]
                    .into_iter()
                    .flatten()
                    .all(|e| e.kind() == std::io::ErrorKind::AddrInUse);
                if !busy {
                    // The clear message `bind` gives.
                    super::bind(config.listen, "HTTP", "--listen").await?;
                    super::bind(config.grpc_listen, "gRPC", "--grpc-listen").await?;
                }
                if !said {
                    tracing::info!(http = %config.listen, grpc = %config.grpc_listen, "The ports are in use (a node stopping on this machine?): waiting for them.");
                    said = true;
                }
                drop((h, g));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The default org as this node starts: opened here when no live node serves it (the
/// first node, or the one after the last stopped); else known by its id, served
/// elsewhere. Waits while another node is opening it for the first time.
pub(super) async fn default_org(
    cluster: &Arc<Cluster>,
    config: &Config,
    data_dir: &DataDir,
    declared: &Declared,
) -> anyhow::Result<DefaultOrg> {
    let dir = data_dir.path().to_path_buf();
    loop {
        let c = cluster.clone();
        if let Some((epoch, _)) = blocking(move || c.db.claim(DEFAULT_KEY, &c.node)).await? {
            let fence = forcebus_store::postgres::fence(epoch);
            let home = Home::Database {
                db: cluster.data.clone(),
                key: DEFAULT_KEY.to_owned(),
                dir: dir.clone(),
                fence: fence.clone(),
            };
            let (config, at, declared) = (config.clone(), home.clone(), declared.clone());
            let tenant = tokio::task::spawn_blocking(move || {
                Tenant::open(&config, at, catalogue(), &declared, None)
            })
            .await??;
            tracing::info!(epoch, "This node serves the default org.");
            return Ok(DefaultOrg::Open(Box::new(tenant), home, fence));
        }
        let db = cluster.data.clone();
        let known = blocking(move || {
            let store = PostgresStore::open(db, DEFAULT_KEY, Durability::Full);
            let id = store.load_value("org", "id")?;
            let setup: std::collections::HashMap<String, String> =
                store.load_values("setup")?.into_iter().collect();
            Ok((id, setup.get("admin_key").cloned()))
        })
        .await?;
        let admin_key = config.admin_key.clone().or(known.1);
        if let (Some(id), Some(admin_key)) = (
            known.0.as_deref().and_then(forcebus_org::RecordId::parse),
            admin_key,
        ) {
            let home = Home::Database {
                db: cluster.data.clone(),
                key: DEFAULT_KEY.to_owned(),
                dir,
                fence: forcebus_store::postgres::fence(forcebus_store::NOT_HELD),
            };
            return Ok(DefaultOrg::Elsewhere {
                id,
                home,
                admin_key,
            });
        }
        tokio::time::sleep(cluster.ttl / 5).await;
    }
}

/// The node's first round: renews its lease, takes the orgs no live node serves that are
/// its share (all of them, for the first node) and waits for those that were loaded to
/// open; then keeps doing so in the background (in place of `starting`'s renewals).
pub(super) async fn first_round(
    tenants: &Arc<Tenants>,
    starting: tokio::task::JoinHandle<()>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let t = tenants.clone();
    let opening = tokio::task::spawn_blocking(move || t.tick()).await??;
    // Renewed from now on: opening the orgs may outlast a lease.
    let keeper = tenants
        .keep_cluster()
        .ok_or_else(|| anyhow::anyhow!("not in a cluster"))?;
    starting.abort();
    for open in opening {
        let _ = open.await;
    }
    Ok(keeper)
}

/// What the ready line says when the default org is served by another node: the same
/// credentials (the configuration's, and the generated ones the database keeps), with an
/// access token that node issues. Waits while no node can serve it (it is changing hands).
pub(super) async fn remote_startup(
    tenants: &Arc<Tenants>,
    config: &Config,
    (http, grpc): (std::net::SocketAddr, std::net::SocketAddr),
    ca: String,
) -> anyhow::Result<Startup> {
    let made = tenants.default_made().clone();
    let store = made
        .home
        .store(Durability::Full)
        .ok_or_else(|| anyhow::anyhow!("no database"))?;
    let setup: std::collections::HashMap<String, String> =
        tokio::task::block_in_place(|| store.load_values("setup"))?
            .into_iter()
            .collect();
    let get = |k: &str| setup.get(k).cloned().unwrap_or_default();
    let user = config.credentials(&get("security_token"))[0].clone();
    let app = config.app(&get("client_id"), &get("client_secret"))?;
    let org_id = made.id.to18();
    let (user_id, access_token) = loop {
        match tenants.locate(&made, 0).await {
            Located::Here => {
                if let Ok((t, _)) = tenants.serve_here(&made).await {
                    break (t.admin_id.clone(), t.access_token.clone());
                }
            }
            Located::There(holder) => {
                if let Some(issued) = token_from(tenants, &holder, &org_id).await {
                    break issued;
                }
            }
            Located::Unavailable(_) | Located::Gone => {}
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    Ok(Startup {
        http,
        grpc,
        org_id,
        user_id,
        user,
        client_id: app.client_id,
        client_secret: app.client_secret,
        access_token,
        admin_key: tenants.admin_key().to_owned(),
        ca,
    })
}

/// A new access token of the default org's first user, from the node serving it.
async fn token_from(
    tenants: &Tenants,
    holder: &forcebus_store::Holder,
    org_id: &str,
) -> Option<(String, String)> {
    let cluster = tenants.cluster()?;
    let path = format!("/forcebus/v1/orgs/{org_id}/token");
    let (status, body) = cluster
        .forward
        .call(
            holder,
            Method::POST,
            &path,
            tenants.admin_key(),
            bytes::Bytes::new(),
        )
        .await
        .map_err(
            |e| tracing::debug!(error = %e, "No token from the node serving the default org yet."),
        )
        .ok()?;
    if !status.is_success() {
        tracing::debug!(%status, "No token from the node serving the default org yet.");
        return None;
    }
    let issued: serde_json::Value = serde_json::from_slice(&body).ok()?;
    Some((
        issued["user_id"].as_str()?.to_owned(),
        issued["access_token"].as_str()?.to_owned(),
    ))
}
