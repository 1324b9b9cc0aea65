//! `loadgen`: drives a forcebus (or, for comparison, a peer server) over the real
//! protocols and prints one JSON document: parameters, machine, commit, throughput, latency
//! percentiles measured from the publish timestamp each event carries (and, where the
//! writes are paced requests, from each request to its answer: `answer_ms`), errors, and
//! the server's RSS.
//!
//! ```sh
//! cargo build --release --workspace
//! target/release/loadgen bayeux-fanout --clients 1000 --rooms 10 --rate 100 --size 100
//! target/release/loadgen cdc-e2e --rate 1000
//! target/release/loadgen idle --clients 1000
//! target/release/loadgen pubsub-publish --publishers 4 --batch 100
//! target/release/loadgen pubsub-fanout --subscribers 100 --rate 1000
//! target/release/loadgen replay --events 1000000
//! target/release/loadgen bulk-ingest --rows 1000000
//! target/release/loadgen org-churn --orgs 1000
//! target/release/loadgen --store postgres://... cluster-orgs --orgs 10000 --nodes 3
//! target/release/loadgen schema-soak --orgs 50 --wakes 3000 --field-pairs 2000
//! ```
//!
//! By default loadgen starts `target/release/forcebus` itself (fresh data dir, ephemeral
//! ports), so it knows the server's pid and config; `--ready '<ready line>' --pid N`
//! attaches to a running one instead. A started server's log (stderr) is kept in its data
//! dir while it runs, or appended to `--server-log <file>` (with `RUST_LOG=debug`, say):
//! the way to see what a server did under a load.

mod bayeux;
mod bodies;
mod pubsub;
mod report;
mod scenarios;
mod server;

use clap::{Parser, Subcommand};
use scenarios::pubsub::{PublishArgs, ReplayArgs};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Parser)]
#[command(about = "Load generator for forcebus")]
struct Cli {
    /// The forcebus binary to start.
    #[arg(long, global = true, default_value = "target/release/forcebus")]
    bin: String,
    /// Attach to a running server: its JSON ready line.
    #[arg(long, global = true)]
    ready: Option<String>,
    /// The pid of the attached server, or of the peer (`--faye`) (for RSS and CPU time).
    #[arg(long, global = true)]
    pid: Option<u32>,
    /// Durability of the started server: `full` (fsync per commit) or `normal`.
    #[arg(long, global = true, default_value = "full")]
    durability: String,
    /// The started server keeps its data in this PostgreSQL database (its `store`) instead
    /// of SQLite files: give each run a database of its own.
    #[arg(long, global = true)]
    store: Option<String>,
    /// Where the started servers write their log (stderr, appended; at `RUST_LOG`'s level
    /// when it is set, else warn). Without it, each server's log is `server.log` in its
    /// data dir, removed with it; a server that exits before it is ready has its log's
    /// last lines in loadgen's error either way.
    #[arg(long, global = true)]
    server_log: Option<std::path::PathBuf>,
    /// Seconds measured (after the warm-up).
    #[arg(long, global = true, default_value_t = 10)]
    duration: u64,
    /// Seconds of warm-up before measuring.
    #[arg(long, global = true, default_value_t = 2)]
    warmup: u64,
    #[command(subcommand)]
    scenario: Scenario,
}

/// A scenario and its parameters; serialized as its parameters alone.
#[derive(Debug, Subcommand, Serialize)]
#[serde(untagged)]
enum Scenario {
    /// The CometD chat benchmark shape: N long-polling clients in R rooms (platform-event
    /// channels), messages published at a rate, each delivered to every member of its room.
    BayeuxFanout(scenarios::fanout::Args),
    /// REST updates at a fixed rate; change events received over the Streaming API.
    CdcE2e(scenarios::cdc::Args),
    /// N parked long-poll clients and N idle gRPC Subscribe streams: RSS per client.
    Idle(scenarios::idle::Args),
    /// PublishStream of 1 KB platform events from P publishers in batches.
    PubsubPublish(scenarios::pubsub::PublishArgs),
    /// S Subscribe streams with num_requested 100, events published at a rate.
    PubsubFanout(scenarios::pubsub::FanoutArgs),
    /// Publish N events, then read them all from EARLIEST over one Subscribe stream.
    Replay(scenarios::pubsub::ReplayArgs),
    /// One Bulk API 2.0 insert job of N rows, end to end, with the server's peak RSS.
    BulkIngest(scenarios::bulk::Args),
    /// Memory per record: N typical Accounts loaded, the server restarted on them.
    RecordMemory(scenarios::records::Args),
    /// N orgs made, used and deleted through the admin API: ms per create, RSS per org,
    /// and RSS after the deletes.
    OrgChurn(scenarios::orgs::Args),
    /// Orgs with a runtime field resting and waking, then fields added and deleted: the
    /// server's RSS slope per wake and per pair.
    SchemaSoak(scenarios::schema_soak::Args),
    /// Several nodes on one PostgreSQL database (`--store`): N orgs made and used through
    /// them, left to rest, then a node killed: placement, each node's RSS, takeover time.
    ClusterOrgs(scenarios::cluster::Args),
}

impl Scenario {
    /// The scenario's name on the command line.
    fn name(&self) -> &'static str {
        match self {
            Scenario::BayeuxFanout(_) => "bayeux-fanout",
            Scenario::CdcE2e(_) => "cdc-e2e",
            Scenario::Idle(_) => "idle",
            Scenario::PubsubPublish(_) => "pubsub-publish",
            Scenario::PubsubFanout(_) => "pubsub-fanout",
            Scenario::Replay(_) => "replay",
            Scenario::BulkIngest(_) => "bulk-ingest",
            Scenario::RecordMemory(_) => "record-memory",
            Scenario::OrgChurn(_) => "org-churn",
            Scenario::SchemaSoak(_) => "schema-soak",
            Scenario::ClusterOrgs(_) => "cluster-orgs",
        }
    }

    /// The config the started server needs.
    fn server_config(&self) -> String {
        match self {
            Scenario::BayeuxFanout(a) => a.server_config(),
            Scenario::Replay(a) => a.server_config(),
            Scenario::SchemaSoak(a) => a.server_config(),
            Scenario::ClusterOrgs(a) => a.server_config(),
            _ => String::new(),
        }
    }
}

/// The one JSON document a run prints.
#[derive(Debug, Serialize)]
struct Report<'a> {
    scenario: &'static str,
    parameters: &'a Scenario,
    /// The started server's durability; `null` for a peer.
    durability: Option<&'a str>,
    server: &'static str,
    /// The store the server keeps its data in; `null` for a peer.
    store: Option<&'static str>,
    machine: report::Machine,
    commit: Option<String>,
    result: Value,
    server_rss_bytes: Option<u64>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    server::log_to(cli.server_log.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let config = cli.scenario.server_config();
    let peer = match &cli.scenario {
        Scenario::BayeuxFanout(a) if a.faye.is_some() => Some("faye"),
        Scenario::PubsubPublish(a) if a.nats.is_some() => Some("nats-jetstream"),
        Scenario::Replay(a) if a.nats.is_some() => Some("nats-jetstream"),
        _ => None,
    };
    let faye = peer.is_some();
    let mut target = target(&cli, &config, faye)?;
    let run = scenarios::Run {
        duration: std::time::Duration::from_secs(cli.duration),
        warmup: std::time::Duration::from_secs(cli.warmup),
    };
    let result = rt.block_on(measure(&cli, &run, &mut target))?;
    let doc = Report {
        scenario: cli.scenario.name(),
        parameters: &cli.scenario,
        durability: (!faye).then_some(cli.durability.as_str()),
        server: peer.unwrap_or("forcebus"),
        store: match (peer, &cli.store) {
            (Some(_), _) => None,
            (None, Some(_)) => Some("postgresql"),
            (None, None) => Some("sqlite"),
        },
        machine: report::machine(),
        commit: report::commit(),
        result,
        server_rss_bytes: target.as_ref().and_then(server::Target::rss),
    };
    println!("{}", serde_json::to_string_pretty(&doc)?);
    drop(target);
    Ok(())
}

/// Runs the chosen scenario against `target` (taken by the scenarios that start servers
/// of their own beside it); its report.
async fn measure(
    cli: &Cli,
    run: &scenarios::Run,
    target: &mut Option<server::Target>,
) -> anyhow::Result<Value> {
    match &cli.scenario {
        Scenario::BayeuxFanout(a) => {
            let pid = target.as_ref().and_then(|t| t.pid).or(cli.pid);
            shown(scenarios::fanout::run(run, target.as_ref(), pid, a).await)
        }
        Scenario::CdcE2e(a) => shown(scenarios::cdc::run(run, server(target.as_ref()), a).await),
        Scenario::Idle(a) => shown(scenarios::idle::run(run, server(target.as_ref()), a).await),
        Scenario::PubsubPublish(
            a @ PublishArgs {
                nats: Some(url), ..
            },
        ) => shown(scenarios::nats::publish(run, url, a).await),
        Scenario::Replay(
            a @ ReplayArgs {
                nats: Some(url), ..
            },
        ) => shown(scenarios::nats::replay(url, a).await),
        Scenario::PubsubPublish(a) => {
            shown(scenarios::pubsub::publish(run, server(target.as_ref()), a).await)
        }
        Scenario::PubsubFanout(a) => {
            shown(scenarios::pubsub::fanout(run, server(target.as_ref()), a).await)
        }
        Scenario::Replay(a) => {
            shown(scenarios::pubsub::replay(run, server(target.as_ref()), a).await)
        }
        Scenario::BulkIngest(a) => shown(scenarios::bulk::run(server(target.as_ref()), a).await),
        Scenario::RecordMemory(a) => {
            shown(scenarios::records::run(target.as_mut().expect("a server"), &cli.bin, a).await)
        }
        Scenario::OrgChurn(a) => shown(scenarios::orgs::run(server(target.as_ref()), a).await),
        Scenario::SchemaSoak(a) => {
            shown(scenarios::schema_soak::run(server(target.as_ref()), a).await)
        }
        Scenario::ClusterOrgs(a) => {
            let first = target.take().expect("a server");
            shown(scenarios::cluster::run(first, &cli.bin, cli.store.as_deref(), a).await)
        }
    }
}

/// The server a scenario needs.
fn server(target: Option<&server::Target>) -> &server::Target {
    target.expect("a server")
}

/// A scenario's report as the `result` of the document.
fn shown(report: anyhow::Result<impl Serialize>) -> anyhow::Result<Value> {
    Ok(serde_json::to_value(report?)?)
}

/// The server measured: none for a peer, the one `--ready` names, or one started here.
fn target(cli: &Cli, config: &str, peer: bool) -> anyhow::Result<Option<server::Target>> {
    Ok(match (&cli.ready, peer) {
        (_, true) => None,
        (Some(ready), _) => Some(server::attach(ready, cli.pid)?),
        (None, _) => {
            let store = match &cli.store {
                Some(url) => format!("store = {}\n", serde_json::to_string(url)?),
                None => String::new(),
            };
            Some(server::spawn(
                &cli.bin,
                &format!("durability = \"{}\"\n{store}{config}", cli.durability),
                false,
            )?)
        }
    })
}
