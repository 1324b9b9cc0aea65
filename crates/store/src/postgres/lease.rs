//! Which node may write: a lease row per scope in the database, with an epoch that grows
//! at every change of hands (the fencing token). A node writes only while it holds the
//! lease: every commit checks the epoch inside its own transaction (holding the row
//! shared, so a takeover waits for commits under way and every later commit of the old
//! holder fails), so a node that lost its lease (paused past its expiry, cut off) can
//! never commit again, whatever its clock says. Expiry is measured by the database's
//! clock, so the nodes' clocks need not agree.
//!
//! Nodes also write a heartbeat row each, with the addresses they serve at: for `forcebus
//! cluster status`, and for standbys, which pass the requests they get on to the holder.

use std::time::Duration;

use crate::StoreError;

use super::Database;

/// The scope of the lease on the whole database (every org): the only one for now.
pub const SERVER_SCOPE: &str = "server";

/// One node as the database last heard of it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRow {
    /// Its id.
    pub node: String,
    /// Where it serves HTTP.
    pub address: String,
    /// Where it serves the Pub/Sub API (gRPC); empty for a node of an older version.
    pub grpc_address: String,
    /// When it started, RFC 3339.
    pub started: String,
    /// Seconds since its last heartbeat.
    pub silent_secs: f64,
    /// The scopes it holds the lease of, with their epochs and seconds left.
    pub leases: Vec<(String, i64, f64)>,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Database {
    /// Takes the lease of `scope` for `ttl` if it is free or expired: its new epoch, or
    /// `None` while another node holds it.
    pub fn try_acquire(
        &self,
        scope: &str,
        node: &str,
        ttl: Duration,
    ) -> Result<Option<i64>, StoreError> {
        let (scope, node, ttl) = (scope.to_owned(), node.to_owned(), millis(ttl));
        self.run(move |c| {
            let row = c.client.query_opt(
                "INSERT INTO fb_leases (scope, node, epoch, expires_at)
                 VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond')
                 ON CONFLICT (scope) DO UPDATE
                 SET node = EXCLUDED.node, epoch = fb_leases.epoch + 1,
                     expires_at = EXCLUDED.expires_at
                 WHERE fb_leases.expires_at < clock_timestamp()
                 RETURNING epoch",
                &[&scope, &node, &(ttl as f64)],
            )?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    /// Extends the lease `node` holds at `epoch`; `false` when it no longer holds it.
    pub fn renew(
        &self,
        scope: &str,
        node: &str,
        epoch: i64,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let (scope, node, ttl) = (scope.to_owned(), node.to_owned(), millis(ttl));
        self.run(move |c| {
            let n = c.client.execute(
                "UPDATE fb_leases SET expires_at = clock_timestamp() + $4 * interval '1 millisecond'
                 WHERE scope = $1 AND node = $2 AND epoch = $3",
                &[&scope, &node, &epoch, &(ttl as f64)],
            )?;
            Ok(n == 1)
        })
    }

    /// Gives the lease up at once (a draining node), so another takes it without waiting
    /// for it to expire.
    pub fn release(&self, scope: &str, node: &str, epoch: i64) -> Result<(), StoreError> {
        let (scope, node) = (scope.to_owned(), node.to_owned());
        self.run(move |c| {
            c.client.execute(
                "UPDATE fb_leases SET expires_at = clock_timestamp() - interval '1 second'
                 WHERE scope = $1 AND node = $2 AND epoch = $3",
                &[&scope, &node, &epoch],
            )?;
            Ok(())
        })
    }

    /// Makes every commit from now on check that the server lease is still at `epoch`.
    pub fn fence(&self, epoch: i64) {
        self.fence.store(epoch, std::sync::atomic::Ordering::SeqCst);
    }

    /// The epoch commits check (0: none).
    pub(crate) fn fenced_at(&self) -> i64 {
        self.fence.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Records that `node` (serving HTTP at `address` and gRPC at `grpc`) is alive, and
    /// forgets nodes not heard of for an hour.
    pub fn heartbeat(&self, node: &str, address: &str, grpc: &str) -> Result<(), StoreError> {
        let (node, address, grpc) = (node.to_owned(), address.to_owned(), grpc.to_owned());
        self.run(move |c| {
            c.client.execute(
                "INSERT INTO fb_nodes (node, address, grpc_address, started_at, seen_at)
                 VALUES ($1, $2, $3, clock_timestamp(), clock_timestamp())
                 ON CONFLICT (node) DO UPDATE SET address = EXCLUDED.address,
                     grpc_address = EXCLUDED.grpc_address, seen_at = EXCLUDED.seen_at",
                &[&node, &address, &grpc],
            )?;
            c.client.execute(
                "DELETE FROM fb_nodes WHERE seen_at < clock_timestamp() - interval '1 hour'",
                &[],
            )?;
            Ok(())
        })
    }

    /// Removes `node`'s heartbeat row (it stopped).
    pub fn forget_node(&self, node: &str) -> Result<(), StoreError> {
        let node = node.to_owned();
        self.run(move |c| {
            c.client
                .execute("DELETE FROM fb_nodes WHERE node = $1", &[&node])?;
            Ok(())
        })
    }

    /// Every node that has a heartbeat row, with the leases it holds unexpired.
    pub fn nodes(&self) -> Result<Vec<NodeRow>, StoreError> {
        self.run(|c| {
            let nodes = c.client.query(
                "SELECT node, address, grpc_address, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                        extract(epoch FROM clock_timestamp() - seen_at)::float8
                 FROM fb_nodes ORDER BY started_at, node",
                &[],
            )?;
            let leases = c.client.query(
                "SELECT node, scope, epoch,
                        extract(epoch FROM expires_at - clock_timestamp())::float8
                 FROM fb_leases WHERE expires_at > clock_timestamp()",
                &[],
            )?;
            Ok(nodes
                .iter()
                .map(|n| {
                    let node: String = n.get(0);
                    NodeRow {
                        leases: leases
                            .iter()
                            .filter(|l| l.get::<_, String>(0) == node)
                            .map(|l| (l.get(1), l.get(2), l.get(3)))
                            .collect(),
                        node,
                        address: n.get(1),
                        grpc_address: n.get(2),
                        started: n.get(3),
                        silent_secs: n.get(4),
                    }
                })
                .collect())
        })
    }
}

/// The node holding a lease, and where it serves.
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
    /// The node holding the lease of `scope` unexpired, with the addresses of its last
    /// heartbeat; `None` while nobody does (a takeover under way).
    pub fn holder(&self, scope: &str) -> Result<Option<Holder>, StoreError> {
        let scope = scope.to_owned();
        self.run(move |c| {
            let row = c.client.query_opt(
                "SELECT l.node, n.address, n.grpc_address FROM fb_leases l
                 JOIN fb_nodes n ON n.node = l.node
                 WHERE l.scope = $1 AND l.expires_at > clock_timestamp()",
                &[&scope],
            )?;
            Ok(row.map(|r| Holder {
                node: r.get(0),
                http: r.get(1),
                grpc: r.get(2),
            }))
        })
    }

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
}

impl Database {
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
