//! `forcebus`: a self-hosted, wire-compatible Salesforce org for its data and event APIs.
//!
//! This crate is the binary and stays thin: parse the command line, load the
//! configuration, start the log, and hand over to the crate that does the work:
//! [`forcebus_host::run`] for `serve` (the orgs, the cluster and the listeners they are
//! served on), [`forcebus_cli::run`] for the client commands. [`logging`]: the log on
//! stderr and the spans exported with OTLP.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// jemalloc: the event paths allocate and free many small buffers; glibc's allocator spent
/// a quarter of the replay profile in malloc and free (see docs/performance.md). Built
/// unprefixed, it serves the C code's malloc too (SQLite's caches), so a deleted org's
/// memory goes back to the system instead of staying in glibc's per-thread arenas.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod logging;

/// forcebus: a local, wire-compatible Salesforce org (REST, OAuth, SOAP login, and the event
/// streaming APIs) in one binary.
#[derive(Debug, Parser)]
#[command(name = "forcebus", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server. Prints a banner on stderr and one JSON "ready" line on stdout once
    /// every listener accepts.
    Serve(ServeArgs),
    /// Print the effective configuration (defaults, file, environment and flags merged) as
    /// TOML; with --example, the commented example file instead.
    Config(ConfigArgs),
    #[command(flatten)]
    Client(forcebus_cli::Command),
    /// Print a shell's completions for forcebus.
    ///
    /// forcebus completions bash > /etc/bash_completion.d/forcebus
    ///
    /// forcebus completions zsh > "${fpath[1]}/_forcebus"
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print forcebus's man page (roff), made from this command line's definition.
    ///
    /// forcebus man > /usr/local/share/man/man1/forcebus.1 && man forcebus
    Man,
}

#[derive(Debug, Args)]
struct ConfigArgs {
    /// Print the commented example configuration (forcebus.example.toml: every key with
    /// its default value and unit) instead of the effective one.
    #[arg(long)]
    example: bool,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Default, Args)]
struct ServeArgs {
    /// TOML configuration file (users, connected app, custom objects, limits, ...).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory for the database and generated certificates [default: ./.forcebus].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// HTTP address for REST, OAuth, SOAP and CometD; plain HTTP and TLS share it. Port 0 picks a free port [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    /// gRPC address for the Pub/Sub API [default: 127.0.0.1:7443].
    #[arg(long, value_name = "ADDR")]
    grpc_listen: Option<std::net::SocketAddr>,
    /// Keep all data in memory; nothing survives a restart.
    #[arg(long)]
    in_memory: bool,
    /// Keep every org's data in this PostgreSQL database instead of the data dir, e.g.
    /// postgres://forcebus:secret@db.internal:5432/forcebus (env FORCEBUS_STORE).
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// An sfdx project (the folder with sfdx-project.json): its custom objects, fields and
    /// platform events are the org's from the start.
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
    /// A folder of sObject describes (`sf sobject describe --sobject X --json > X.json`):
    /// their custom objects and fields are the org's from the start.
    #[arg(long, value_name = "DIR")]
    describes: Option<PathBuf>,
    /// PEM certificate chain to serve instead of the generated one (needs --tls-key).
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// A host name or IP address the generated certificate should also cover (repeatable),
    /// e.g. a container's service name.
    #[arg(long = "tls-name", value_name = "NAME")]
    tls_names: Vec<String>,
    /// Log format on stderr; the level comes from RUST_LOG (default info).
    #[arg(long, value_enum, default_value_t = logging::LogFormat::Human)]
    log_format: logging::LogFormat,
    /// Serve the web console's files from this folder (work on the console).
    #[arg(long, value_name = "DIR", hide = true)]
    console_dir: Option<PathBuf>,
}

impl ServeArgs {
    fn load(&self) -> anyhow::Result<forcebus_config::Config> {
        let overrides = forcebus_config::Overrides {
            listen: self.listen,
            grpc_listen: self.grpc_listen,
            data_dir: self.data_dir.clone(),
            project: self.project.clone(),
            describes: self.describes.clone(),
            in_memory: self.in_memory.then_some(true),
            store: self.store.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            tls_names: (!self.tls_names.is_empty()).then(|| self.tls_names.clone()),
        };
        let mut config = forcebus_config::Config::load(self.config.as_deref(), &overrides)?;
        config.console_dir.clone_from(&self.console_dir);
        Ok(config)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Config(args) if args.example => {
            print!("{}", forcebus_config::EXAMPLE);
            Ok(())
        }
        Command::Config(args) => args.serve.load().and_then(|c| {
            print!("{}", toml::to_string_pretty(&c)?);
            Ok(())
        }),
        Command::Client(command) => forcebus_cli::run(command),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "forcebus", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script).map_err(anyhow::Error::from)
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(command)
                .render(&mut std::io::stdout())
                .map_err(anyhow::Error::from)
        }
        Command::Serve(args) => args.load().and_then(|config| {
            let _exporting = logging::init(args.log_format, config.otlp_endpoint.as_deref())?;
            forcebus_host::run(config)
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("forcebus: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    /// Every subcommand's definition is consistent (clap checks names, groups and
    /// conflicts only when a command is built, which a wrong one panics on at run time).
    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    /// Completions and the man page know every subcommand.
    #[test]
    fn completions_and_the_man_page_name_every_subcommand() {
        let mut command = super::Cli::command();
        let names: Vec<String> = command
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .collect();
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "forcebus", &mut script);
            let script = String::from_utf8(script).unwrap();
            for name in &names {
                assert!(script.contains(name.as_str()), "{shell:?} lacks {name}");
            }
        }
        let mut page = Vec::new();
        clap_mangen::Man::new(super::Cli::command())
            .render(&mut page)
            .unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.starts_with(".ie") && page.contains(".TH forcebus 1"));
        for name in &names {
            assert!(
                page.contains(&format!("forcebus\\-{name}")),
                "man lacks {name}"
            );
        }
    }
}
