//! `forcebus cluster ...`: the nodes on one PostgreSQL database, read from and told through
//! it (so it works whichever node is up, or none).
//!
//! - `status`: each node's address, state (serving, draining, silent), how many orgs it
//!   serves and has loaded, its memory, when it started and was last heard of; `--orgs`
//!   lists each org with its node. A node killed without draining stays listed, silent,
//!   for an hour.
//! - `move ORG NODE`: asks the node serving the org to hand it to another (it does within
//!   a fifth of a lease: its streams end and their clients reconnect), or gives an org
//!   nobody serves to that node at once; then waits until the org is there.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::table::table_of;

/// The arguments of `forcebus cluster`.
#[derive(Debug, Args)]
pub struct ClusterCommand {
    #[command(subcommand)]
    command: ClusterAction,
    /// The PostgreSQL database the servers use [default: the config's `store`].
    #[arg(long, value_name = "URL", global = true, env = "FORCEBUS_STORE")]
    store: Option<String>,
    /// TOML configuration file, to read `store` from the way `serve` does.
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// The output as JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum ClusterAction {
    /// The nodes, their health and how many orgs each serves.
    ///
    /// forcebus cluster status --store postgres://forcebus@db:5432/forcebus
    Status {
        /// List every org with the node serving it.
        #[arg(long)]
        orgs: bool,
    },
    /// Moves an org to another node, and waits until it serves there.
    ///
    /// forcebus cluster move 00DFb0000000001AAA node-2 --store postgres://...
    Move {
        /// The org's id (15 or 18 characters), or `default`.
        org: String,
        /// The node to serve it (an id `cluster status` shows).
        node: String,
        /// Seconds to wait for the move.
        #[arg(long, default_value_t = 30)]
        wait: u64,
    },
}

/// Runs `forcebus cluster ...`.
pub(crate) fn run(args: &ClusterCommand) -> anyhow::Result<()> {
    let store = match &args.store {
        Some(url) => url.clone(),
        None => forcebus_config::configured(args.config.clone(), None)?
            .store
            .ok_or_else(|| {
                anyhow::anyhow!("no database: give --store URL (or `store` in the config)")
            })?,
    };
    let db = forcebus_store::Database::connect(&store, 1).map_err(|e| {
        anyhow::anyhow!(
            "cannot use the PostgreSQL database {}: {e}",
            forcebus_store::postgres::shown(&store)
        )
    })?;
    match &args.command {
        ClusterAction::Status { orgs } => status(&db, *orgs, args.json),
        ClusterAction::Move { org, node, wait } => {
            move_org(&db, org, node, Duration::from_secs(*wait), args.json)
        }
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// One node of `cluster status` (a row of its table, an entry of its JSON).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NodeShown<'a> {
    node: &'a str,
    address: &'a str,
    grpc_address: &'a str,
    /// `serving`, `draining`, or `silent` (its lease ran out).
    state: &'static str,
    orgs: i64,
    loaded: i32,
    #[serde(rename = "RssMB")]
    rss_mb: f64,
    lease_left_secs: f64,
    started: &'a str,
    last_seen_secs: f64,
}

impl<'a> NodeShown<'a> {
    fn of(n: &'a forcebus_store::NodeRow) -> Self {
        Self {
            node: &n.node,
            address: &n.address,
            grpc_address: &n.grpc_address,
            state: match () {
                () if n.lease_left_secs <= 0.0 => "silent",
                () if n.draining => "draining",
                () => "serving",
            },
            orgs: n.orgs,
            loaded: n.open_orgs,
            rss_mb: round1(n.rss_bytes as f64 / 1_048_576.0),
            lease_left_secs: round1(n.lease_left_secs.max(0.0)),
            started: &n.started,
            last_seen_secs: round1(n.silent_secs),
        }
    }
}

/// One org of `cluster status --orgs`: its node (`null`: none serves it), the lease's
/// epoch, and whether it is loaded.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct OrgShown {
    org: String,
    node: Option<String>,
    epoch: i64,
    loaded: bool,
}

/// `cluster status --orgs --json`.
#[derive(Serialize)]
struct StatusShown<'a> {
    nodes: &'a [NodeShown<'a>],
    orgs: &'a [OrgShown],
}

fn status(db: &forcebus_store::Database, orgs: bool, as_json: bool) -> anyhow::Result<()> {
    let rows = db.nodes()?;
    let nodes: Vec<NodeShown> = rows.iter().map(NodeShown::of).collect();
    let leases: Vec<OrgShown> = if orgs {
        db.org_leases()?
            .into_iter()
            .map(|(org, node, epoch, open)| {
                // The default org is loaded wherever it is served (it never rests).
                let loaded = open || (org == forcebus_store::DEFAULT_KEY && !node.is_empty());
                OrgShown {
                    org,
                    node: Some(node).filter(|n| !n.is_empty()),
                    epoch,
                    loaded,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    if as_json {
        let out = if orgs {
            serde_json::to_string_pretty(&StatusShown {
                nodes: &nodes,
                orgs: &leases,
            })?
        } else {
            serde_json::to_string_pretty(&nodes)?
        };
        println!("{out}");
        return Ok(());
    }
    if nodes.is_empty() {
        println!("No server has used this database.");
    } else {
        print!("{}", table_of(&nodes, &["Node"]));
    }
    if orgs {
        println!();
        print!("{}", table_of(&leases, &["Org"]));
    }
    Ok(())
}

/// What `cluster move --json` prints once the org is there.
#[derive(Serialize)]
struct Moved<'a> {
    org: &'a str,
    from: &'a str,
    to: &'a str,
    epoch: i64,
    secs: f64,
}

fn move_org(
    db: &forcebus_store::Database,
    org: &str,
    node: &str,
    wait: Duration,
    as_json: bool,
) -> anyhow::Result<()> {
    let key = if org == forcebus_store::DEFAULT_KEY {
        org.to_owned()
    } else {
        forcebus_org::RecordId::parse(org)
            .ok_or_else(|| {
                anyhow::anyhow!("{org} is not an org id (15 or 18 characters) or `default`")
            })?
            .to18()
    };
    let live = db.live_nodes()?;
    let Some(target) = live.iter().find(|n| n.node == node) else {
        let names: Vec<&str> = live.iter().map(|n| n.node.as_str()).collect();
        anyhow::bail!(
            "no live node is called {node} (live: {})",
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        );
    };
    if target.draining {
        anyhow::bail!("{node} is draining: it takes no org");
    }
    let Some(from) = db.request_move(&key, node)? else {
        anyhow::bail!("there is no org {org} on this database");
    };
    let started = Instant::now();
    loop {
        let view = db
            .lease(&key)?
            .ok_or_else(|| anyhow::anyhow!("the org {org} was deleted meanwhile"))?;
        if view.node == node {
            let done = Moved {
                org: &key,
                from: &from,
                to: node,
                epoch: view.epoch,
                secs: round1(started.elapsed().as_secs_f64()),
            };
            if as_json {
                println!("{}", serde_json::to_string(&done)?);
            } else {
                println!("{key} is served by {node} (epoch {}).", view.epoch);
            }
            return Ok(());
        }
        if started.elapsed() > wait {
            anyhow::bail!(
                "{key} is still served by {} after {} s; the move stays asked for",
                if view.node.is_empty() {
                    "no node"
                } else {
                    view.node.as_str()
                },
                wait.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_shown_with_its_columns_in_order() {
        let row = forcebus_store::NodeRow {
            node: "n1".into(),
            address: "10.0.0.1:8080".into(),
            grpc_address: "10.0.0.1:7443".into(),
            started: "2026-01-01T00:00:00Z".into(),
            silent_secs: 1.25,
            lease_left_secs: 9.0,
            draining: false,
            orgs: 3,
            open_orgs: 2,
            rss_bytes: 3 * 1_048_576,
        };
        assert_eq!(
            serde_json::to_string(&NodeShown::of(&row)).unwrap(),
            r#"{"Node":"n1","Address":"10.0.0.1:8080","GrpcAddress":"10.0.0.1:7443","State":"serving","Orgs":3,"Loaded":2,"RssMB":3.0,"LeaseLeftSecs":9.0,"Started":"2026-01-01T00:00:00Z","LastSeenSecs":1.3}"#
        );
        let org = OrgShown {
            org: "default".into(),
            node: None,
            epoch: 4,
            loaded: false,
        };
        assert_eq!(
            serde_json::to_string(&org).unwrap(),
            r#"{"Org":"default","Node":null,"Epoch":4,"Loaded":false}"#
        );
    }
}
