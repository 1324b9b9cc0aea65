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
use serde_json::{Value, json};

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

fn status(db: &forcebus_store::Database, orgs: bool, as_json: bool) -> anyhow::Result<()> {
    let nodes: Vec<Value> = db
        .nodes()?
        .iter()
        .map(|n| {
            json!({
                "Node": n.node,
                "Address": n.address,
                "GrpcAddress": n.grpc_address,
                "State": match () {
                    () if n.lease_left_secs <= 0.0 => "silent",
                    () if n.draining => "draining",
                    () => "serving",
                },
                "Orgs": n.orgs,
                "Loaded": n.open_orgs,
                "RssMB": round1(n.rss_bytes as f64 / 1_048_576.0),
                "LeaseLeftSecs": round1(n.lease_left_secs.max(0.0)),
                "Started": n.started,
                "LastSeenSecs": round1(n.silent_secs),
            })
        })
        .collect();
    let leases: Vec<Value> = if orgs {
        db.org_leases()?
            .into_iter()
            .map(|(org, node, epoch, open)| {
                // The default org is loaded wherever it is served (it never rests).
                let loaded = open || (org == forcebus_store::DEFAULT_KEY && !node.is_empty());
                json!({
                    "Org": org,
                    "Node": if node.is_empty() { Value::Null } else { json!(node) },
                    "Epoch": epoch,
                    "Loaded": loaded,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    if as_json {
        let out = if orgs {
            json!({"nodes": nodes, "orgs": leases})
        } else {
            json!(nodes)
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if nodes.is_empty() {
        println!("No server has used this database.");
    } else {
        print!("{}", crate::data::table(&nodes, &["Node"]));
    }
    if orgs {
        println!();
        print!("{}", crate::data::table(&leases, &["Org"]));
    }
    Ok(())
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
            let done = json!({"org": key, "from": from, "to": node, "epoch": view.epoch,
                "secs": round1(started.elapsed().as_secs_f64())});
            if as_json {
                println!("{done}");
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
