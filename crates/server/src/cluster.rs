//! Several servers on one PostgreSQL database: one writes (it holds the database's lease),
//! the others wait as standbys and take over when it goes.
//!
//! A server started with `--store` takes the lease before it opens any org; while another
//! node holds it, this one stands by ([`crate::standby`]: it listens and passes every
//! request on to the holder) and takes the lease once it expires (`lease_secs` after the
//! holder last renewed it: a killed or cut-off node) or is given up (a node draining on
//! SIGTERM).
//! The holder renews it several times per lease period; every commit checks the lease's
//! epoch inside its transaction ([`forcebus_store::postgres`]), so a node that lost it
//! (paused past its expiry) commits nothing more. A holder that finds it lost stops, with
//! exit status 3, for its supervisor to start it again, as a standby.

use std::sync::Arc;
use std::time::Duration;

use forcebus_store::{Database, SERVER_SCOPE};

/// Exit status of a node that lost its lease.
const LOST_LEASE_EXIT: i32 = 3;

/// The lease this node holds.
#[derive(Debug)]
pub(crate) struct Lease {
    db: Arc<Database>,
    node: String,
    epoch: i64,
    ttl: Duration,
}

/// This node's id: `node_id` from the config, else the host's name and the process id.
pub(crate) fn node_id(configured: Option<&str>) -> String {
    if let Some(id) = configured {
        return id.to_owned();
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".to_owned());
    format!("{host}-{}", std::process::id())
}

/// Blocks `f` off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, forcebus_store::StoreError> + Send + 'static,
) -> anyhow::Result<T> {
    Ok(tokio::task::spawn_blocking(f).await??)
}

/// Takes the database's lease, waiting as `standby` while another node holds it.
pub(crate) async fn acquire(
    db: Arc<Database>,
    node: String,
    ttl: Duration,
    standby: &mut crate::standby::Standby,
) -> anyhow::Result<Lease> {
    let mut said = false;
    loop {
        let (d, n, (http, grpc)) = (db.clone(), node.clone(), standby.addresses());
        let taken = blocking(move || {
            d.heartbeat(&n, &http, &grpc)?;
            match d.try_acquire(SERVER_SCOPE, &n, ttl)? {
                Some(epoch) => Ok(Ok(epoch)),
                None => Ok(Err(d.holder(SERVER_SCOPE)?)),
            }
        })
        .await;
        match taken {
            Ok(Ok(epoch)) => {
                db.fence(epoch);
                tracing::info!(node = %node, epoch, "This node holds the database's lease: it serves every org.");
                return Ok(Lease {
                    db,
                    node,
                    epoch,
                    ttl,
                });
            }
            Ok(Err(holder)) => {
                if !said {
                    tracing::info!(node = %node, "Another node holds the database's lease: standing by to take over.");
                    said = true;
                }
                standby.round(holder).await;
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "Cannot reach the database; trying again.")
            }
        }
        tokio::time::sleep(ttl / 5).await;
    }
}

impl Lease {
    /// Renews the lease (and the heartbeat) until the process ends; stops the process when
    /// the lease is found lost.
    pub(crate) fn keep(
        self: &Arc<Self>,
        (http, grpc): (String, String),
    ) -> tokio::task::JoinHandle<()> {
        let lease = self.clone();
        tokio::spawn(async move {
            // At once, then every fifth of the lease: the heartbeat says where it serves.
            let mut tick = tokio::time::interval(lease.ttl / 5);
            loop {
                tick.tick().await;
                let l = lease.clone();
                let (http, grpc) = (http.clone(), grpc.clone());
                let renewed = blocking(move || {
                    let held = l.db.renew(SERVER_SCOPE, &l.node, l.epoch, l.ttl)?;
                    l.db.heartbeat(&l.node, &http, &grpc)?;
                    Ok(held)
                })
                .await;
                match renewed {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::error!(node = %lease.node, epoch = lease.epoch, "Another node took the database's lease: this one commits nothing more and stops.");
                        std::process::exit(LOST_LEASE_EXIT);
                    }
                    // The database is out of reach: commits fail meanwhile; the lease is
                    // still this node's unless another took it when it is back.
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "Cannot renew the database's lease; trying again.")
                    }
                }
            }
        })
    }

    /// Gives the lease up (the node is draining), so a standby takes over at once.
    pub(crate) fn release(&self) {
        if let Err(e) = self.db.release(SERVER_SCOPE, &self.node, self.epoch) {
            tracing::warn!(error = %e, "Cannot give the database's lease up; it expires by itself.");
        }
        let _ = self.db.forget_node(&self.node);
        tracing::info!(node = %self.node, "Gave the database's lease up.");
    }
}

/// The shared value naming the serving node's admin key.
const ADMIN_KEY: &str = "admin_key";

/// What a node says of its admin key in the database: the key's SHA-256 when the config
/// sets one, `generated` when it uses the one generated and kept in the database (the
/// same on every node).
pub(crate) fn admin_key_claim(configured: Option<&str>) -> String {
    use sha2::Digest as _;
    configured.map_or_else(
        || "generated".to_owned(),
        |key| {
            let digest = sha2::Sha256::digest(key.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256:{hex}")
        },
    )
}

/// Refuses to join while the serving node uses another admin key: the admin API, the
/// test controls and `forcebus org` sent to this node are passed on to it, and it would
/// refuse this node's key (after a takeover, the other way round).
pub(crate) async fn check_admin_key(db: &Arc<Database>, claim: &str) -> anyhow::Result<()> {
    let d = db.clone();
    let (stored, holder) =
        blocking(move || Ok((d.cluster_value(ADMIN_KEY)?, d.holder(SERVER_SCOPE)?))).await?;
    match (stored, holder) {
        (Some(stored), Some(holder)) if stored != claim => {
            let theirs = if stored == "generated" {
                "the generated one kept in the database"
            } else {
                "one set in its configuration"
            };
            anyhow::bail!(
                "admin_key: this node's admin key is not the one node {} (serving this database) uses, {theirs}; give every node on the database the same admin_key, or none to share the generated one",
                holder.node
            )
        }
        _ => Ok(()),
    }
}

/// Records the admin key of the node that now serves.
pub(crate) async fn claim_admin_key(db: &Arc<Database>, claim: String) -> anyhow::Result<()> {
    let d = db.clone();
    blocking(move || d.set_cluster_value(ADMIN_KEY, &claim)).await
}

impl Lease {
    /// This node's id.
    pub(crate) fn node(&self) -> &str {
        &self.node
    }
}

/// The generated TLS files, kept in the database too.
const TLS_FILES: [&str; 5] = [
    "ca.pem",
    "ca-key.pem",
    "server.pem",
    "server-key.pem",
    "server.names",
];

/// The generated CA and server certificate, shared through the database: a node writes
/// the ones stored there into its data dir before generating (so it only makes what is
/// missing, or a server certificate for other names, signed by the same CA) and stores
/// what it then has. Clients that trust the CA trust every node.
pub(crate) fn shared_tls(
    db: &Arc<Database>,
    dir: &std::path::Path,
    names: &[String],
) -> anyhow::Result<crate::tls::TlsFiles> {
    use forcebus_store::{Batch, Durability, PostgresStore, Store as _};
    use std::io::Write as _;
    let store = PostgresStore::open(db.clone(), "", Durability::Full);
    let stored: std::collections::BTreeMap<String, String> =
        store.load_values("tls")?.into_iter().collect();
    std::fs::create_dir_all(dir)?;
    for name in TLS_FILES {
        if let Some(text) = stored.get(name) {
            let mut f = crate::datadir::private_options()
                .write(true)
                .create(true)
                .truncate(true)
                .open(dir.join(name))?;
            f.write_all(text.as_bytes())?;
        }
    }
    let files = crate::tls::ensure_generated(dir, names)?;
    let mut batch = Batch::new();
    for name in TLS_FILES {
        let Ok(text) = std::fs::read_to_string(dir.join(name)) else {
            continue;
        };
        if stored.get(name) != Some(&text) {
            batch.put("tls", name, Some(text));
        }
    }
    if !batch.is_empty() {
        store.commit(&batch)?;
    }
    Ok(files)
}
