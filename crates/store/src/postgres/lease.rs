//! Which node serves which org. Each node holds a lease of its own: its row in `fb_nodes`,
//! renewed several times per lease period ([`Database::beat`]) and expired by the
//! database's clock, so the nodes' clocks need not agree. Each org has a lease row in
//! `fb_leases` naming the node that serves it and an epoch that grows at every change of
//! hands (the fencing token). An org's lease is held while its node's lease is; once that
//! expires (the node was killed, paused, cut off) any live node may take the org
//! ([`Database::claim`]), with a new epoch.
//!
//! Every commit of an org checks its epoch inside its own transaction, holding the lease
//! row shared ([`super::PostgresStore`]), so a change of hands waits for commits under way
//! and every later commit of the old holder fails: a node that lost an org commits nothing
//! more for it, whatever its clock says. Renewing one row per node keeps a node of
//! thousands of orgs as cheap to keep alive as a node of one.

use std::time::Duration;

use crate::StoreError;

use super::Database;

/// The node an org's lease names while no node holds it (given up, never taken).
pub const NOBODY: &str = "";

/// What a node says of itself at every renewal.
#[derive(Debug, Clone, Default)]
pub struct Beat {
    /// Its id (`node_id`), unique among the live nodes.
    pub node: String,
    /// This process (random): a restarted node of the same id is another instance.
    pub instance: String,
    /// Where it serves HTTP.
    pub http: String,
    /// Where it serves the Pub/Sub API.
    pub grpc: String,
    /// It is handing its orgs over and stopping: given no new ones.
    pub draining: bool,
    /// Orgs it has loaded.
    pub open_orgs: i32,
    /// Its resident memory.
    pub rss_bytes: i64,
}

/// An org lease as its holder reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgLease {
    /// The org's key.
    pub scope: String,
    /// The epoch its commits check.
    pub epoch: i64,
    /// Whether its holder has it loaded (a node taking it over loads it at once).
    pub open: bool,
    /// The node it is to be handed to (`forcebus cluster move`), if asked.
    pub move_to: Option<String>,
}

/// An org lease as any node reads it: who holds it and where that node serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseView {
    /// The holder ([`NOBODY`] when given up).
    pub node: String,
    /// Its epoch.
    pub epoch: i64,
    /// Where the holder serves HTTP and gRPC (empty when it has no row).
    pub http: String,
    /// Where it serves the Pub/Sub API.
    pub grpc: String,
    /// Whether the holder's own lease is unexpired (it still serves the org).
    pub live: bool,
}

/// A live node, as placement sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveNode {
    /// Its id.
    pub node: String,
    /// Whether it is draining (it takes no org).
    pub draining: bool,
    /// How many orgs it holds.
    pub orgs: i64,
    /// Where it serves HTTP.
    pub http: String,
    /// Where it serves the Pub/Sub API.
    pub grpc: String,
}

/// One node as the database last heard of it (`forcebus cluster status`).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRow {
    /// Its id.
    pub node: String,
    /// Where it serves HTTP.
    pub address: String,
    /// Where it serves the Pub/Sub API (gRPC).
    pub grpc_address: String,
    /// When it started, RFC 3339.
    pub started: String,
    /// Seconds since its last heartbeat.
    pub silent_secs: f64,
    /// Seconds its own lease has left (negative: expired).
    pub lease_left_secs: f64,
    /// Whether it is draining.
    pub draining: bool,
    /// Orgs it holds the lease of.
    pub orgs: i64,
    /// Orgs it has loaded, as it last said.
    pub open_orgs: i32,
    /// Its resident memory, as it last said.
    pub rss_bytes: i64,
}

fn millis(d: Duration) -> f64 {
    d.as_millis() as f64
}

/// The condition "the lease row `l`'s holder is not a live node".
const UNHELD: &str = "(l.node = '' OR NOT EXISTS (
    SELECT 1 FROM fb_nodes n WHERE n.node = l.node AND n.expires_at > clock_timestamp()))";

impl Database {
    /// Joins the nodes as `beat.instance` of `beat.node`: `false` while another live
    /// instance holds that id (its lease unexpired). A node that said it serves where this
    /// one now listens is gone (this process holds its ports): its lease ends at once, so
    /// its orgs are free. Once joined, every org lease still naming this id (a previous
    /// process of it) gets a new epoch, so that process, were it only paused, commits
    /// nothing more; this one then serves them.
    pub fn join(&self, beat: &Beat, ttl: Duration) -> Result<bool, StoreError> {
        let b = beat.clone();
        self.run(move |c| {
            let mut tx = c.client.transaction()?;
            tx.execute(
                "UPDATE fb_nodes SET expires_at = clock_timestamp() - interval '1 second'
                 WHERE (address = $1 OR grpc_address = $2) AND instance <> $3
                     AND expires_at > clock_timestamp()",
                &[&b.http, &b.grpc, &b.instance],
            )?;
            let joined = tx.query_opt(
                "INSERT INTO fb_nodes (node, instance, address, grpc_address, started_at,
                     seen_at, expires_at, draining, open_orgs, rss_bytes)
                 VALUES ($1, $2, $3, $4, clock_timestamp(), clock_timestamp(),
                     clock_timestamp() + $5 * interval '1 millisecond', false, 0, 0)
                 ON CONFLICT (node) DO UPDATE SET instance = EXCLUDED.instance,
                     address = EXCLUDED.address, grpc_address = EXCLUDED.grpc_address,
                     started_at = EXCLUDED.started_at, seen_at = EXCLUDED.seen_at,
                     expires_at = EXCLUDED.expires_at, draining = false
                 WHERE fb_nodes.instance = EXCLUDED.instance
                     OR fb_nodes.expires_at < clock_timestamp()
                 RETURNING node",
                &[&b.node, &b.instance, &b.http, &b.grpc, &millis(ttl)],
            )?;
            if joined.is_none() {
                return Ok(false);
            }
            tx.execute(
                "UPDATE fb_leases SET epoch = epoch + 1, move_to = NULL WHERE node = $1",
                &[&b.node],
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    /// Renews this node's lease for `ttl` and says how it is: `false` when its row is
    /// gone or another instance's (this process was cut off long enough for that).
    /// Forgets nodes not heard of for an hour.
    pub fn beat(&self, beat: &Beat, ttl: Duration) -> Result<bool, StoreError> {
        let b = beat.clone();
        self.run(move |c| {
            let n = c.client.execute(
                "UPDATE fb_nodes SET address = $3, grpc_address = $4,
                     seen_at = clock_timestamp(),
                     expires_at = clock_timestamp() + $5 * interval '1 millisecond',
                     draining = $6, open_orgs = $7, rss_bytes = $8
                 WHERE node = $1 AND instance = $2",
                &[
                    &b.node,
                    &b.instance,
                    &b.http,
                    &b.grpc,
                    &millis(ttl),
                    &b.draining,
                    &b.open_orgs,
                    &b.rss_bytes,
                ],
            )?;
            c.client.execute(
                "DELETE FROM fb_nodes WHERE seen_at < clock_timestamp() - interval '1 hour'",
                &[],
            )?;
            Ok(n == 1)
        })
    }

    /// Removes this instance's row (it stopped): the org leases still naming it are free
    /// for any live node at once.
    pub fn forget_node(&self, node: &str, instance: &str) -> Result<(), StoreError> {
        let (node, instance) = (node.to_owned(), instance.to_owned());
        self.run(move |c| {
            c.client.execute(
                "DELETE FROM fb_nodes WHERE node = $1 AND instance = $2",
                &[&node, &instance],
            )?;
            Ok(())
        })
    }

    /// The org leases naming `node`.
    pub fn leases_of(&self, node: &str) -> Result<Vec<OrgLease>, StoreError> {
        let node = node.to_owned();
        self.run(move |c| {
            let rows = c.client.query(
                "SELECT scope, epoch, open, move_to FROM fb_leases WHERE node = $1",
                &[&node],
            )?;
            Ok(rows
                .iter()
                .map(|r| OrgLease {
                    scope: r.get(0),
                    epoch: r.get(1),
                    open: r.get(2),
                    move_to: r.get(3),
                })
                .collect())
        })
    }

    /// The lease of the org `scope`, if it has one, with where its holder serves.
    pub fn lease(&self, scope: &str) -> Result<Option<LeaseView>, StoreError> {
        let scope = scope.to_owned();
        self.run(move |c| {
            let row = c.client.query_opt(
                "SELECT l.node, l.epoch, coalesce(n.address, ''), coalesce(n.grpc_address, ''),
                        coalesce(n.expires_at > clock_timestamp(), false)
                 FROM fb_leases l LEFT JOIN fb_nodes n ON n.node = l.node
                 WHERE l.scope = $1",
                &[&scope],
            )?;
            Ok(row.map(|r| LeaseView {
                node: r.get(0),
                epoch: r.get(1),
                http: r.get(2),
                grpc: r.get(3),
                live: r.get(4),
            }))
        })
    }

    /// Makes the lease of a new org, held by `node` at epoch 1 and loaded; `false` when
    /// the org has one already.
    pub fn create_lease(&self, scope: &str, node: &str) -> Result<bool, StoreError> {
        let (scope, node) = (scope.to_owned(), node.to_owned());
        self.run(move |c| {
            let n = c.client.execute(
                "INSERT INTO fb_leases (scope, node, epoch, open) VALUES ($1, $2, 1, true)
                 ON CONFLICT DO NOTHING",
                &[&scope, &node],
            )?;
            Ok(n == 1)
        })
    }

    /// Takes the lease of the org `scope` for `node` if no live node holds it: its new
    /// epoch and whether its last holder had it loaded, or `None` (held, or no such
    /// lease). Waits for commits under way under the old epoch; later ones fail.
    pub fn claim(&self, scope: &str, node: &str) -> Result<Option<(i64, bool)>, StoreError> {
        let (scope, node) = (scope.to_owned(), node.to_owned());
        self.run(move |c| {
            let row = c.client.query_opt(
                &format!(
                    "UPDATE fb_leases l SET node = $2, epoch = l.epoch + 1, move_to = NULL
                     WHERE l.scope = $1 AND {UNHELD}
                     RETURNING l.epoch, l.open"
                ),
                &[&scope, &node],
            )?;
            Ok(row.map(|r| (r.get(0), r.get(1))))
        })
    }

    /// The orgs whose lease no live node holds.
    pub fn orphans(&self) -> Result<Vec<String>, StoreError> {
        self.run(|c| {
            let rows = c.client.query(
                &format!("SELECT l.scope FROM fb_leases l WHERE {UNHELD} ORDER BY l.scope"),
                &[],
            )?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    /// The live nodes, with how many orgs each holds.
    pub fn live_nodes(&self) -> Result<Vec<LiveNode>, StoreError> {
        self.run(|c| {
            let rows = c.client.query(
                "SELECT n.node, n.draining,
                        (SELECT count(*) FROM fb_leases l WHERE l.node = n.node),
                        n.address, n.grpc_address
                 FROM fb_nodes n WHERE n.expires_at > clock_timestamp() ORDER BY n.node",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|r| LiveNode {
                    node: r.get(0),
                    draining: r.get(1),
                    orgs: r.get(2),
                    http: r.get(3),
                    grpc: r.get(4),
                })
                .collect())
        })
    }

    /// Hands the orgs `scopes` that `from` holds to `to` ([`NOBODY`]: to whichever live
    /// node takes them first), each with a new epoch: the scopes handed and their epochs.
    /// Waits for commits under way; `from`'s later ones fail.
    pub fn hand_over(
        &self,
        scopes: &[String],
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let (scopes, from, to) = (scopes.to_vec(), from.to_owned(), to.to_owned());
        self.run(move |c| {
            let rows = c.client.query(
                "UPDATE fb_leases SET node = $3, epoch = epoch + 1, move_to = NULL
                 WHERE node = $2 AND scope = ANY($1) RETURNING scope, epoch",
                &[&scopes, &from, &to],
            )?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// Asks the holder of `scope` to hand it to `to` (it does at its next renewal), or,
    /// when no live node holds it, gives it to `to` at once: the holder asked, or `None`
    /// when there is no such lease. The caller checks `to` is a live node first.
    pub fn request_move(&self, scope: &str, to: &str) -> Result<Option<String>, StoreError> {
        let (scope, to) = (scope.to_owned(), to.to_owned());
        self.run(move |c| {
            let mut tx = c.client.transaction()?;
            let given = tx.query_opt(
                &format!(
                    "UPDATE fb_leases l SET node = $2, epoch = l.epoch + 1, move_to = NULL
                     WHERE l.scope = $1 AND {UNHELD} RETURNING l.node"
                ),
                &[&scope, &to],
            )?;
            let row = match given {
                Some(r) => Some(r),
                None => tx.query_opt(
                    "UPDATE fb_leases SET move_to = CASE WHEN node = $2 THEN NULL ELSE $2 END
                     WHERE scope = $1 RETURNING node",
                    &[&scope, &to],
                )?,
            };
            tx.commit()?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    /// Says whether `node`, holding `scope`, has it loaded.
    pub fn set_open(&self, scope: &str, node: &str, open: bool) -> Result<(), StoreError> {
        let (scope, node) = (scope.to_owned(), node.to_owned());
        self.run(move |c| {
            c.client.execute(
                "UPDATE fb_leases SET open = $3 WHERE scope = $1 AND node = $2",
                &[&scope, &node, &open],
            )?;
            Ok(())
        })
    }

    /// Every org lease: key, holder, epoch, whether loaded (`forcebus cluster status`).
    pub fn org_leases(&self) -> Result<Vec<(String, String, i64, bool)>, StoreError> {
        self.run(|c| {
            let rows = c.client.query(
                "SELECT scope, node, epoch, open FROM fb_leases ORDER BY scope",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                .collect())
        })
    }

    /// Every node that has a row, with the orgs it holds.
    pub fn nodes(&self) -> Result<Vec<NodeRow>, StoreError> {
        self.run(|c| {
            let rows = c.client.query(
                "SELECT n.node, n.address, n.grpc_address,
                        to_char(n.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                        extract(epoch FROM clock_timestamp() - n.seen_at)::float8,
                        extract(epoch FROM greatest(n.expires_at,
                            clock_timestamp() - interval '1 day') - clock_timestamp())::float8,
                        n.draining,
                        (SELECT count(*) FROM fb_leases l WHERE l.node = n.node),
                        n.open_orgs, n.rss_bytes
                 FROM fb_nodes n ORDER BY n.started_at, n.node",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|r| NodeRow {
                    node: r.get(0),
                    address: r.get(1),
                    grpc_address: r.get(2),
                    started: r.get(3),
                    silent_secs: r.get(4),
                    lease_left_secs: r.get::<_, Option<f64>>(5).unwrap_or(f64::MIN),
                    draining: r.get(6),
                    orgs: r.get(7),
                    open_orgs: r.get(8),
                    rss_bytes: r.get(9),
                })
                .collect())
        })
    }
}

/// A node another passes requests on to: where it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Its id.
    pub node: String,
    /// Where it serves HTTP.
    pub http: String,
    /// Where it serves the Pub/Sub API.
    pub grpc: String,
}

impl Database {
    /// The secret the nodes on this database share: the first node to ask stores
    /// `proposed`, every later one gets that. A node passing a request on shows it, so
    /// the node it reaches believes what it says of the client (its address, whether it
    /// came over TLS) and nobody else is believed.
    pub fn cluster_key(&self, proposed: &str) -> Result<String, StoreError> {
        let made = proposed.to_owned();
        self.run(move |c| {
            c.client.execute(
                "INSERT INTO fb_cluster (name, value) VALUES ('forward_key', $1)
                 ON CONFLICT (name) DO NOTHING",
                &[&made],
            )?;
            let row = c.client.query_one(
                "SELECT value FROM fb_cluster WHERE name = 'forward_key'",
                &[],
            )?;
            Ok(row.get(0))
        })
    }

    /// A value the nodes on this database share, by name (`None`: never set).
    pub fn cluster_value(&self, name: &str) -> Result<Option<String>, StoreError> {
        let name = name.to_owned();
        self.run(move |c| {
            let row = c
                .client
                .query_opt("SELECT value FROM fb_cluster WHERE name = $1", &[&name])?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    /// Sets a value the nodes on this database share.
    pub fn set_cluster_value(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.run(move |c| {
            c.client.execute(
                "INSERT INTO fb_cluster (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                &[&name, &value],
            )?;
            Ok(())
        })
    }
}
