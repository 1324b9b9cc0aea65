//! The client commands of `forcebus`: they talk to a running server as any client does,
//! through its public APIs (REST, Bulk API 2.0, Pub/Sub, the admin API), or read a
//! cluster's database as an operator does. Nothing here runs inside the server.
//!
//! - [`client`]: where a running server is (flags, else its data dir's ready line), one
//!   HTTP/1.1 exchange with it, and the bodies of the APIs it speaks as types; the
//!   commands below share it, and [`table`], the aligned tables they print.
//! - [`control`]: `forcebus control`, the test controls; [`org`]: `forcebus org` and
//!   `status`, the orgs; [`cluster`]: `forcebus cluster status` and `move`.
//! - [`data`]: `forcebus query`, `search`, `publish`; [`bulk`]: `load` and `export`
//!   through Bulk API 2.0; [`tail`]: `forcebus tail`, events over the Pub/Sub API.
//! - [`env`]: `forcebus env`; [`trust`]: `forcebus trust`; [`health`]: the
//!   `forcebus health` probe.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

mod bulk;
mod client;
mod cluster;
pub use cluster::ClusterCommand;
mod control;
mod data;
mod env;
mod health;
mod org;
mod table;
mod tail;
mod trust;

use forcebus_config::configured;

/// The client commands, as `forcebus`'s command line lists them.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the environment that points clients at the server running on a data dir:
    /// `eval "$(forcebus env)"`.
    Env(EnvArgs),
    /// Exit 0 if the server at ADDR answers /forcebus/health (a container HEALTHCHECK).
    Health(HealthArgs),
    /// Trust the data dir's generated CA: add it to the system store (needs root), write
    /// ca-bundle.pem (the system bundle and the CA) into the data dir, and print the
    /// export lines clients read: `eval "$(forcebus trust)"`.
    Trust(TrustArgs),
    /// The test controls of a running server: move its clock, publish gap events, drop
    /// CometD sessions, delay delivery, fail Pub/Sub calls (`/forcebus/v1/control`).
    Control(ControlArgs),
    /// The orgs of a running server: create, list, show, reset, delete
    /// (`/forcebus/v1/orgs`).
    Org(OrgArgs),
    /// A running server's orgs: records, events, event log size, last replay id and
    /// open subscribers (Streaming API sessions, Pub/Sub streams) of each.
    ///
    /// forcebus status
    ///
    /// forcebus status --json --url 127.0.0.1:8080 --key "$ADMIN_KEY"
    Status(StatusArgs),
    /// The nodes on one PostgreSQL database (`--store`): which serves which org; moving one.
    ///
    /// forcebus cluster status --orgs --store postgres://forcebus@db:5432/forcebus
    Cluster(ClusterCommand),
    /// Run a SOQL query on a running server's default org; every page, as a table or
    /// (--json) the API's records.
    ///
    /// forcebus query "SELECT Id, Name, Owner.Name FROM Account ORDER BY Name"
    ///
    /// forcebus query --all-rows --json "SELECT Id FROM Account WHERE IsDeleted = true"
    Query(QueryArgs),
    /// Run a SOSL search on a running server's default org.
    ///
    /// forcebus search "FIND {Acme} RETURNING Account(Name), Contact(Name, Email)"
    Search(SearchArgs),
    /// Publish a platform event on a running server's default org.
    ///
    /// forcebus publish Order_Shipped__e '{"Order_Number__c": "A-1"}'
    Publish(PublishArgs),
    /// Print a running server's events as they arrive, over its Pub/Sub API, decoded:
    /// change events, platform events, custom channels. Without --follow it stops once
    /// no event has come for a second.
    ///
    /// forcebus tail                                  # /data/ChangeEvents, new events
    ///
    /// forcebus tail /data/AccountChangeEvent --replay -2
    ///
    /// forcebus tail /event/Order_Shipped__e --follow --json
    Tail(TailCommand),
    /// Load records into a running server's default org through Bulk API 2.0: a CSV file
    /// (a header row of field names) or a JSON array of records, inserted or upserted.
    ///
    /// forcebus load Account accounts.csv
    ///
    /// forcebus load Contact contacts.json --upsert External_Id__c
    Load(LoadCommand),
    /// Export records of a running server's default org through Bulk API 2.0, as CSV: an
    /// object (every field Bulk can query) or a SOQL query.
    ///
    /// forcebus export Account accounts.csv
    ///
    /// forcebus export "SELECT Id, Name FROM Contact WHERE LastName LIKE 'A%'" > a.csv
    Export(ExportCommand),
}

/// The arguments of `forcebus load`.
#[derive(Debug, Args)]
pub struct LoadCommand {
    #[command(flatten)]
    load: bulk::LoadArgs,
    /// TOML configuration file, to find the data dir the way `serve` does.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory of the running server [default: ./.forcebus].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// The arguments of `forcebus export`.
#[derive(Debug, Args)]
pub struct ExportCommand {
    #[command(flatten)]
    export: bulk::ExportArgs,
    /// TOML configuration file, to find the data dir the way `serve` does.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory of the running server [default: ./.forcebus].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// The arguments of `forcebus tail`.
#[derive(Debug, Args)]
pub struct TailCommand {
    #[command(flatten)]
    tail: tail::TailArgs,
    /// TOML configuration file, to find the data dir the way `serve` does.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory of the running server [default: ./.forcebus].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// Where a data command finds the running server.
#[derive(Debug, Args)]
pub struct Running {
    #[command(flatten)]
    target: data::DataTarget,
    /// TOML configuration file, to find the data dir the way `serve` does.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory of the running server [default: ./.forcebus].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// The arguments of `forcebus query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SOQL query.
    soql: String,
    /// Include deleted records (queryAll).
    #[arg(long)]
    all_rows: bool,
    #[command(flatten)]
    running: Running,
}

/// The arguments of `forcebus search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The SOSL search.
    sosl: String,
    #[command(flatten)]
    running: Running,
}

/// The arguments of `forcebus publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The platform event's API name, e.g. Order_Shipped__e.
    event: String,
    /// Its fields, as a JSON object.
    fields: String,
    #[command(flatten)]
    running: Running,
}

/// The arguments of `forcebus org`.
#[derive(Debug, Args)]
pub struct OrgArgs {
    #[command(subcommand)]
    command: org::OrgCommand,
    #[command(flatten)]
    target: client::Target,
    /// TOML configuration file, to find the data dir the way `serve` does.
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Data directory of the running server [default: ./.forcebus].
    #[arg(long, value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
}

/// The arguments of `forcebus status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    target: client::Target,
    /// The orgs API's answer as JSON.
    #[arg(long)]
    json: bool,
    /// TOML configuration file, to find the data dir the way `serve` does.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory of the running server [default: ./.forcebus].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// The arguments of `forcebus control`.
#[derive(Debug, Args)]
pub struct ControlArgs {
    #[command(subcommand)]
    control: control::Control,
    #[command(flatten)]
    target: client::Target,
    /// The org whose controls to use (an org made with `forcebus org create`) [default:
    /// the server's default org].
    #[arg(long, value_name = "ORG_ID", global = true)]
    org: Option<String>,
    /// TOML configuration file, to find the data dir the way `serve` does.
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Data directory of the running server [default: ./.forcebus].
    #[arg(long, value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
}

/// The arguments of `forcebus trust`.
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// TOML configuration file, to find the data dir the way `serve` does.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory whose CA to trust [default: ./.forcebus].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Leave the system store alone: only write the bundle and print the exports.
    #[arg(long)]
    no_system: bool,
    /// Take the CA out of the system store again.
    #[arg(long)]
    uninstall: bool,
    /// Put the certificate in this directory instead of the system store (tests).
    #[arg(long, value_name = "DIR", hide = true)]
    system_dir: Option<PathBuf>,
    /// Start the bundle from this file instead of the system bundle (tests).
    #[arg(long, value_name = "FILE", hide = true)]
    system_bundle: Option<PathBuf>,
}

/// The arguments of `forcebus env`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// TOML configuration file, to find the data dir the way `serve` does.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory of the running server [default: ./.forcebus].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// `sh`: export lines; `dotenv`: NAME=value lines (docker --env-file, $GITHUB_ENV).
    #[arg(long, value_enum, default_value_t = env::EnvFormat::Sh)]
    format: env::EnvFormat,
}

/// The arguments of `forcebus health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The server's HTTP address.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    addr: String,
    /// Seconds to wait for the answer.
    #[arg(long, value_name = "SECS", default_value_t = 3)]
    timeout: u64,
}

/// Runs one client command.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Env(args) => {
            let serve = configured(args.config, args.data_dir);
            serve.and_then(|c| env::print(&c.data_dir, args.format))
        }
        Command::Control(args) => {
            let serve = configured(args.config, args.data_dir);
            serve.and_then(|c| {
                let org = args.org.as_deref();
                control::run(&args.control, org, &args.target, &c.data_dir)
            })
        }
        Command::Org(args) => {
            let serve = configured(args.config, args.data_dir);
            serve.and_then(|c| org::run(&args.command, &args.target, &c.data_dir))
        }
        Command::Cluster(args) => cluster::run(&args),
        Command::Status(args) => configured(args.config, args.data_dir)
            .and_then(|c| org::status(&args.target, &c.data_dir, args.json)),
        Command::Health(args) => health::probe(&args.addr, Duration::from_secs(args.timeout)),
        Command::Trust(args) => {
            let serve = configured(args.config, args.data_dir);
            let options = trust::Options {
                no_system: args.no_system,
                uninstall: args.uninstall,
                system_dir: args.system_dir,
                system_bundle: args.system_bundle,
            };
            serve.and_then(|c| trust::trust(&c.data_dir, &options))
        }
        Command::Query(args) => {
            let r = &args.running;
            configured(r.config.clone(), r.data_dir.clone())
                .and_then(|c| data::query(&args.soql, args.all_rows, &r.target, &c.data_dir))
        }
        Command::Search(args) => {
            let r = &args.running;
            configured(r.config.clone(), r.data_dir.clone())
                .and_then(|c| data::search(&args.sosl, &r.target, &c.data_dir))
        }
        Command::Publish(args) => {
            let r = &args.running;
            configured(r.config.clone(), r.data_dir.clone())
                .and_then(|c| data::publish(&args.event, &args.fields, &r.target, &c.data_dir))
        }
        Command::Tail(args) => configured(args.config.clone(), args.data_dir.clone())
            .and_then(|c| tail::run(&args.tail, &c.data_dir)),
        Command::Load(args) => configured(args.config.clone(), args.data_dir.clone())
            .and_then(|c| bulk::load(&args.load, &c.data_dir)),
        Command::Export(args) => configured(args.config.clone(), args.data_dir.clone())
            .and_then(|c| bulk::export(&args.export, &c.data_dir)),
    }
}
