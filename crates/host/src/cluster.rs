//! Several nodes on one PostgreSQL database, each serving some of the orgs. Every node
//! listens and takes any request: the orgs it serves it serves itself, the others it
//! passes on to the node serving them ([`forcebus_listener::forward`]), so clients behind a plain load
//! balancer need nothing special.
//!
//! A node holds a lease of its own, renewed several times per `lease_secs`
//! ([`Cluster::beat`]); each org has a lease naming the node that serves it, with an epoch
//! its commits check inside their transaction ([`forcebus_store::postgres`]), so a node
//! that lost an org (paused past its lease, cut off) commits nothing more for it. A node
//! that dies has its orgs taken by the live ones once its lease expires, spread by
//! rendezvous hashing ([`chosen`]); an org nobody serves is also taken by the first node a
//! request for it reaches. What a node does with its orgs (taking, loading, handing over)
//! is [`crate::tenants`]' business; here is the node's membership.
//!

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use forcebus_store::{Beat, Database};
use forcebus_sync::prelude::*;

use forcebus_listener::forward::Forward;

/// Exit status of a node whose id another instance took (it was cut off long enough).
const SUPERSEDED_EXIT: i32 = 3;

/// This node's part in a cluster.
pub(crate) struct Cluster {
    /// Connections of their own for the leases: this node's renewal, its rounds' claims
    /// and hand-overs, and claims a request makes (waiting a fifth of a lease at most for
    /// a row), never behind the orgs' commits, an org loading or a burst of sign-ins,
    /// whose lookups go to [`Cluster::data`].
    pub(crate) db: Arc<Database>,
    /// The connections the orgs' stores share.
    pub(crate) data: Arc<Database>,
    /// This node's id.
    pub(crate) node: String,
    /// This process.
    instance: String,
    /// How long a node's lease lasts.
    pub(crate) ttl: Duration,
    /// Passing requests on.
    pub(crate) forward: Forward,
    /// Where the other nodes reach this one (HTTP, gRPC).
    addresses: (String, String),
    /// Until when this node may serve its orgs without hearing from the database again:
    /// a little less than its lease lasts from the start of its last renewal.
    valid_until: Mutex<Option<Instant>>,
    /// Told at every renewal.
    renewed: tokio::sync::Notify,
    /// Handing its orgs over and stopping.
    draining: AtomicBool,
    /// The live nodes, as the last round read them.
    live: tokio::sync::watch::Sender<Arc<std::collections::HashSet<String>>>,
    /// When this node last renewed its lease, and from when it may take orgs nobody
    /// serves: after the database was out of reach longer than a lease, every node's lease
    /// looks expired at once, so each waits a lease for the others to renew theirs before
    /// taking anything (no reshuffle after a database restart).
    renewals: Mutex<Renewals>,
}

/// This node's renewals, as [`Cluster::renewals`] keeps them.
#[derive(Debug, Default)]
struct Renewals {
    last: Option<Instant>,
    claims_from: Option<Instant>,
}

impl Renewals {
    /// Records a renewal at `now`; `true` when it is the first after more than a lease
    /// out of touch: no org is taken for a lease from now, while the others renew theirs.
    fn renew(&mut self, now: Instant, ttl: Duration) -> bool {
        let back = self
            .last
            .is_some_and(|last| now.saturating_duration_since(last) > ttl);
        if back {
            self.claims_from = Some(now + ttl);
        }
        self.last = Some(now);
        back
    }

    /// Whether a node may take orgs nobody serves at `now`: only while its own lease is
    /// current (renewed within `ttl`), and not in the lease after it came back in touch.
    /// A node whose last renewal is older than a lease has been out of touch as long as
    /// the others may have been: their leases look expired to it, and a request reaching
    /// it when the database comes back, before its next renewal notices, would take their
    /// orgs (two nodes did, swapping orgs, in a database restart test).
    fn allow_claims(&self, now: Instant, ttl: Duration) -> bool {
        self.last
            .is_some_and(|last| now.saturating_duration_since(last) <= ttl)
            && self.claims_from.is_none_or(|from| now >= from)
    }
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
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, forcebus_store::StoreError> + Send + 'static,
) -> anyhow::Result<T> {
    Ok(tokio::task::spawn_blocking(f).await??)
}

impl Cluster {
    /// Joins the nodes on `db` as `node`, serving at `addresses`: waits while another
    /// live process has that id (a restart before the last one's lease ran out, or two
    /// nodes given one `node_id`).
    pub(crate) async fn join(
        (db, data): (Arc<Database>, Arc<Database>),
        node: String,
        ttl: Duration,
        addresses: (String, String),
        key: Arc<str>,
    ) -> anyhow::Result<Arc<Self>> {
        let (live, seen) = tokio::sync::watch::channel(Arc::default());
        let cluster = Arc::new(Self {
            db,
            data,
            node,
            instance: crate::secrets::random_text(16),
            ttl,
            forward: Forward::new(key, seen),
            addresses,
            valid_until: Mutex::new(None),
            renewed: tokio::sync::Notify::new(),
            draining: AtomicBool::new(false),
            live,
            renewals: Mutex::default(),
        });
        let mut said = false;
        loop {
            let (c, beat) = (cluster.clone(), cluster.beat_of(0));
            match blocking(move || c.db.join(&beat, c.ttl)).await {
                Ok(true) => break,
                Ok(false) if !said => {
                    tracing::warn!(node = %cluster.node, "Another running node has this node's id: waiting for its lease to run out (give each node its own node_id).");
                    said = true;
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "Cannot reach the database; trying again.");
                }
            }
            tokio::time::sleep(ttl / 5).await;
        }
        tracing::info!(node = %cluster.node, http = %cluster.addresses.0, grpc = %cluster.addresses.1, "Joined the nodes on the database.");
        Ok(cluster)
    }

    fn beat_of(&self, open_orgs: usize) -> Beat {
        Beat {
            node: self.node.clone(),
            instance: self.instance.clone(),
            http: self.addresses.0.clone(),
            grpc: self.addresses.1.clone(),
            draining: self.draining(),
            open_orgs: i32::try_from(open_orgs).unwrap_or(i32::MAX),
            rss_bytes: crate::process::resident_bytes().unwrap_or(0),
        }
    }

    /// Renews this node's lease (blocking), saying it has `open_orgs` loaded; when its
    /// row was another instance's by then (this process was cut off long enough for its
    /// id to be reused), the process stops: it serves nothing more.
    pub(crate) fn beat(&self, open_orgs: usize) -> Result<(), forcebus_store::StoreError> {
        let beat = self.beat_of(open_orgs);
        if self.db.beat(&beat, self.ttl)? || self.db.join(&beat, self.ttl)? {
            if self.renewals.locked().renew(Instant::now(), self.ttl) {
                tracing::info!(
                    "Back in touch with the database: taking no org for a lease, while the other nodes renew theirs."
                );
            }
            return Ok(());
        }
        tracing::error!(node = %self.node, "Another process joined with this node's id while this one was cut off: it serves nothing more and stops.");
        std::process::exit(SUPERSEDED_EXIT);
    }

    /// This node heard from the database at `since` and knows which orgs are its own:
    /// it may serve them for a little less than a lease from then.
    pub(crate) fn renewed(&self, since: Instant) {
        *self.valid_until.locked() = Some(since + self.ttl * 4 / 5);
        self.renewed.notify_waiters();
    }

    /// Records the live nodes a round read: a request passed on to a node no longer among
    /// them is given up.
    pub(crate) fn set_live(&self, nodes: impl IntoIterator<Item = String>) {
        self.live
            .send_replace(Arc::new(nodes.into_iter().collect()));
    }

    /// Whether this node may serve its orgs now.
    pub(crate) fn valid(&self) -> bool {
        self.valid_until
            .locked()
            .is_some_and(|until| Instant::now() < until)
    }

    /// Waits, at most `within`, until this node may serve its orgs.
    pub(crate) async fn wait_valid(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            let renewed = self.renewed.notified();
            if self.valid() {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, renewed).await.is_err() {
                return self.valid();
            }
        }
    }

    /// Whether `http` or `grpc` is where this node listens: a node said to serve there is
    /// an earlier process on the same ports, gone (this one holds them now).
    pub(crate) fn listens_at(&self, http: &str, grpc: &str) -> bool {
        self.addresses.0 == http || self.addresses.1 == grpc
    }

    /// Whether this node may take orgs nobody serves now (not while draining, nor while
    /// or for a lease after being out of touch with the database).
    pub(crate) fn may_claim(&self) -> bool {
        !self.draining()
            && self
                .renewals
                .locked()
                .allow_claims(Instant::now(), self.ttl)
    }

    /// Whether this node is draining.
    pub(crate) fn draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Starts draining: no new org is given to this node.
    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Leaves the nodes (it stopped): the org leases still naming it are free at once.
    pub(crate) fn leave(&self) {
        if let Err(e) = self.db.forget_node(&self.node, &self.instance) {
            tracing::warn!(error = %e, "Cannot remove this node's row; its lease runs out by itself.");
        }
    }
}

/// Of `nodes`, the one rendezvous hashing gives `scope` to: the one whose hash with it is
/// highest. Every node computes the same from the same list, and a node leaving moves
/// only its own orgs.
pub(crate) fn chosen<'a>(scope: &str, nodes: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    nodes.into_iter().max_by_key(|node| rank(scope, node))
}

/// FNV-1a of `scope`, a zero byte, then `node`: the same on every node and every build.
fn rank(scope: &str, node: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in scope.bytes().chain([0]).chain(node.bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // A last mix, so that names differing only at the end spread too.
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^ (hash >> 33)
}

/// The shared value naming the nodes' admin key.
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

/// Refuses to join while a live node uses another admin key: the admin API, the test
/// controls and `forcebus org` sent to this node may be passed on to another, which would
/// refuse this node's key (and the other way round).
pub(crate) async fn check_admin_key(db: &Arc<Database>, claim: &str) -> anyhow::Result<()> {
    let d = db.clone();
    let (stored, live) =
        blocking(move || Ok((d.cluster_value(ADMIN_KEY)?, d.live_nodes()?))).await?;
    match (stored, live.first()) {
        (Some(stored), Some(node)) if stored != claim => {
            let theirs = if stored == "generated" {
                "the generated one kept in the database"
            } else {
                "one set in their configuration"
            };
            anyhow::bail!(
                "admin_key: this node's admin key is not the one the nodes serving this database (node {} among them) use, {theirs}; give every node on the database the same admin_key, or none to share the generated one",
                node.node
            )
        }
        _ => Ok(()),
    }
}

/// Records the admin key of the nodes serving now.
pub(crate) async fn claim_admin_key(db: &Arc<Database>, claim: String) -> anyhow::Result<()> {
    let d = db.clone();
    blocking(move || d.set_cluster_value(ADMIN_KEY, &claim)).await
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
) -> anyhow::Result<forcebus_listener::tls::TlsFiles> {
    use forcebus_store::{Batch, Durability, PostgresStore, Store as _};
    use std::io::Write as _;
    let store = PostgresStore::open(db.clone(), "", Durability::Full);
    let stored: std::collections::BTreeMap<String, String> =
        store.load_values("tls")?.into_iter().collect();
    std::fs::create_dir_all(dir)?;
    for name in TLS_FILES {
        if let Some(text) = stored.get(name) {
            let mut f = forcebus_config::datadir::private_options()
                .write(true)
                .create(true)
                .truncate(true)
                .open(dir.join(name))?;
            f.write_all(text.as_bytes())?;
        }
    }
    let files = forcebus_listener::tls::ensure_generated(dir, names)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendezvous_spreads_orgs_and_moves_only_a_leaving_nodes() {
        let nodes = ["n1", "n2", "n3"];
        let orgs: Vec<String> = (0..3000).map(|n| format!("00D{n:015}")).collect();
        let mut counts = std::collections::HashMap::new();
        for o in &orgs {
            *counts.entry(chosen(o, nodes).unwrap()).or_insert(0) += 1;
        }
        for n in nodes {
            assert!((800..1200).contains(&counts[n]), "{counts:?}");
        }
        // n2 leaves: only its orgs move, and the rest stay where they were.
        for o in &orgs {
            let before = chosen(o, nodes).unwrap();
            let after = chosen(o, ["n1", "n3"]).unwrap();
            if before != "n2" {
                assert_eq!(before, after, "{o}");
            }
        }
        assert_eq!(chosen("x", std::iter::empty::<&str>()), None);
    }

    #[test]
    fn a_node_takes_no_org_while_or_just_after_it_is_out_of_touch() {
        let (ttl, t0) = (Duration::from_secs(2), Instant::now());
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut r = Renewals::default();
        assert!(!r.allow_claims(t0, ttl), "not before its first renewal");
        assert!(!r.renew(t0, ttl), "a first renewal is not a return");
        assert!(r.allow_claims(at(1_000), ttl));
        assert!(r.allow_claims(at(2_000), ttl));
        // The database out of reach: past a lease since the last renewal, the others'
        // leases look expired, and nothing is taken, before the next renewal as after it.
        assert!(!r.allow_claims(at(2_001), ttl));
        assert!(!r.allow_claims(at(5_000), ttl));
        assert!(r.renew(at(5_000), ttl), "back in touch");
        assert!(!r.allow_claims(at(6_000), ttl));
        assert!(!r.renew(at(6_000), ttl));
        assert!(!r.allow_claims(at(6_999), ttl));
        assert!(r.allow_claims(at(7_000), ttl));
    }
}
