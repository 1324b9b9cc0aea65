//! `forcebus`: a self-hosted, wire-compatible Salesforce org for its data and event APIs.
//!
//! This crate stays thin: parse flags, load the configuration, build the org and its
//! front doors, listen, and shut down cleanly on SIGINT or SIGTERM.
//!
//! Layout:
//! - [`config`]: the layered configuration.
//! - [`tls`]: certificate generation and the rustls configuration.
//! - [`listener`]: the HTTP/TLS listener; [`grpc`]: the gRPC (TLS and plaintext HTTP/2) listener.
//! - [`app`]: wiring, the banner and the ready line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// jemalloc: the event paths allocate and free many small buffers; glibc's allocator spent
/// a quarter of the replay profile in malloc and free (see README, Performance).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod app;
mod config;
mod grpc;
mod listener;
mod tls;

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
    /// Print the effective configuration (defaults, file, environment and flags merged) as TOML.
    Config(ServeArgs),
}

#[derive(Debug, Args)]
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
    /// PEM certificate chain to serve instead of the generated one (needs --tls-key).
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Log format on stderr; the level comes from RUST_LOG (default info).
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

impl ServeArgs {
    fn load(&self) -> anyhow::Result<config::Config> {
        let overrides = config::Overrides {
            listen: self.listen,
            grpc_listen: self.grpc_listen,
            data_dir: self.data_dir.clone(),
            in_memory: self.in_memory.then_some(true),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
        };
        config::Config::load(self.config.as_deref(), &overrides)
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Config(args) => args.load().and_then(|c| {
            print!("{}", toml::to_string_pretty(&c)?);
            Ok(())
        }),
        Command::Serve(args) => {
            init_tracing(args.log_format);
            args.load().and_then(app::run)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("forcebus: {e:#}");
            ExitCode::FAILURE
        }
    }
}
