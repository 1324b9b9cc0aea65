//! `forcebus cluster status`: the servers on one PostgreSQL database, read from it (so it
//! works whichever node is up, or none): each node's address, when it started and was last
//! heard of, and which one holds the lease (serves every org) with its epoch. A node killed
//! without draining stays listed, silent, for an hour.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

#[derive(Debug, Args)]
pub(crate) struct ClusterCommand {
    #[command(subcommand)]
    command: ClusterAction,
    /// The PostgreSQL database the servers use [default: the config's `store`].
    #[arg(long, value_name = "URL", global = true, env = "FORCEBUS_STORE")]
    store: Option<String>,
    /// TOML configuration file, to read `store` from the way `serve` does.
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// The nodes as JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum ClusterAction {
    /// The nodes, their health and who holds the lease.
    ///
    /// forcebus cluster status --store postgres://forcebus@db:5432/forcebus
    Status,
}

/// Seconds without a heartbeat (nodes send one every fifth of a lease) after which a
/// node is shown silent: stopped, killed or cut off.
const SILENT_SECS: f64 = 30.0;

/// Runs `forcebus cluster ...`.
pub(crate) fn run(args: &ClusterCommand) -> anyhow::Result<()> {
    let store = match &args.store {
        Some(url) => url.clone(),
        None => crate::configured(args.config.clone(), None)?
            .store
            .ok_or_else(|| {
                anyhow::anyhow!("no database: give --store URL (or `store` in the config)")
            })?,
    };
    let ClusterAction::Status = args.command;
    let db = forcebus_store::Database::connect(&store, 1).map_err(|e| {
        anyhow::anyhow!(
            "cannot use the PostgreSQL database {}: {e}",
            forcebus_store::postgres::shown(&store)
        )
    })?;
    let nodes: Vec<Value> = db
        .nodes()?
        .iter()
        .map(|n| {
            let lease = n
                .leases
                .iter()
                .find(|l| l.0 == forcebus_store::SERVER_SCOPE);
            json!({
                "Node": n.node,
                "Address": n.address,
                "GrpcAddress": n.grpc_address,
                "Role": match lease {
                    Some(_) => "serving",
                    None if n.silent_secs > SILENT_SECS => "silent",
                    None => "standby",
                },
                "Epoch": lease.map(|l| l.1),
                "LeaseLeftSecs": lease.map(|l| (l.2 * 10.0).round() / 10.0),
                "Started": n.started,
                "LastSeenSecs": (n.silent_secs * 10.0).round() / 10.0,
            })
        })
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&nodes)?);
    } else if nodes.is_empty() {
        println!("No server has used this database.");
    } else {
        print!("{}", crate::data_cli::table(&nodes, &["Node"]));
    }
    Ok(())
}
