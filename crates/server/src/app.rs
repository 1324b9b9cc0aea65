//! Building the org and its front doors from the configuration, and running them until a
//! shutdown signal: [`run`] builds ([`build`]), reports ([`crate::banner`]), then serves
//! ([`serve_until_shutdown`]).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use forcebus_auth::{AppConfig, Auth, UserCredentials};
use forcebus_bayeux::Bayeux;
use forcebus_meta::standard;
use forcebus_org::{Org, Schema, SystemClock, UserSeed, custom};
use forcebus_pubsub::PubSub;
use forcebus_rest::AppState;
use forcebus_store::{SqliteStore, Store};

use crate::banner::{self, Startup};
use crate::config::{Config, ServeTimes};
use crate::datadir::{DataDir, shown};
use crate::shutdown::ShutdownSignal;
use crate::{health, secrets, tls};

/// How often Streaming API sessions without a connect are looked for and dropped.
const SESSION_SWEEP: Duration = Duration::from_secs(10);

/// Runs the server until SIGINT or SIGTERM.
pub(crate) fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(serve(config))
}

/// Builds the server, prints the banner and the ready line, then serves until shutdown.
/// The data dir stays locked until everything has stopped.
async fn serve(config: Config) -> anyhow::Result<()> {
    let data_dir = DataDir::acquire(&config.data_dir)?;
    let server = build(&config, &data_dir).await?;
    banner::print_banner(&config, &server.startup);
    let signals = ShutdownSignal::listen();
    let ready = banner::ready_line(&config, &server.startup);
    data_dir.write_ready(&ready.to_string())?;
    banner::print_ready(&ready)?;
    serve_until_shutdown(server, &data_dir, config.serve_times(), signals).await
}

/// A listener bound to its port, with the TLS configuration it serves.
struct Bound {
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
}

/// The org and who may use it.
struct Core {
    org: Arc<Org>,
    auth: Arc<Auth>,
    bulk: Arc<forcebus_bulk::Bulk>,
    /// The connected app, generated id and secret filled in.
    app: AppConfig,
    /// The default user, generated security token filled in.
    admin: UserCredentials,
    /// The default user's id, 18 characters.
    admin_id: String,
    /// An access token of the default user, issued at start.
    access_token: String,
    /// The admin endpoints' key: configured, or generated.
    admin_key: String,
}

/// Everything built, bound and ready to serve.
struct Server {
    /// REST, OAuth, SOAP, the Streaming API and the health endpoints.
    router: Router,
    http: Bound,
    grpc: Bound,
    bayeux: Arc<Bayeux>,
    pubsub: Arc<PubSub>,
    org: Arc<Org>,
    bulk: Arc<forcebus_bulk::Bulk>,
    /// What the banner and the ready line report.
    startup: Startup,
}

/// Builds the org and its front doors from `config` and binds both ports, in this order,
/// so that a mistake is reported before anything listens.
async fn build(config: &Config, data_dir: &DataDir) -> anyhow::Result<Server> {
    let tls_files = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => tls::TlsFiles {
            ca: cert.clone(),
            cert: cert.clone(),
            key: key.clone(),
        },
        _ => tls::ensure_generated(data_dir.path(), &config.tls_names)?,
    };
    let http_tls = tls::server_config(&tls_files, &[b"http/1.1"])?;
    let core = open_core(config, data_dir)?;
    let (router, bayeux) = http_services(config, &core);
    let http = bind(config.listen, "HTTP", "--listen").await?;
    let pubsub = PubSub::new(core.org.clone(), core.auth.clone(), config.pubsub());
    let grpc = bind(config.grpc_listen, "gRPC", "--grpc-listen").await?;
    let startup = Startup {
        http: http.local_addr()?,
        grpc: grpc.local_addr()?,
        org_id: core.org.id().to18(),
        user_id: core.admin_id,
        user: core.admin,
        client_id: core.app.client_id,
        client_secret: core.app.client_secret,
        access_token: core.access_token,
        admin_key: core.admin_key,
        ca: shown(&tls_files.ca),
    };
    let grpc_tls = tls::server_config(&tls_files, &[b"h2"])?;
    Ok(Server {
        router,
        http: Bound {
            listener: http,
            tls: http_tls,
        },
        grpc: Bound {
            listener: grpc,
            tls: grpc_tls,
        },
        bayeux,
        pubsub,
        org: core.org,
        bulk: core.bulk,
        startup,
    })
}

/// Opens the store, the org on it and authentication, filling in the generated secrets,
/// and issues the default user's first token.
fn open_core(config: &Config, data_dir: &DataDir) -> anyhow::Result<Core> {
    let store = open_store(config, data_dir)?;
    let secrets = secrets::load_or_generate(store.as_ref())?;
    let credentials = config.credentials(&secrets.security_token);
    let admin = credentials[0].clone();
    let org = open_org(config, data_dir, store.clone(), &credentials)?;
    let app = config.app(&secrets.client_id, &secrets.client_secret)?;
    let auth_config = config.auth(credentials, app.clone())?;
    let auth = Arc::new(Auth::open(org.clone(), store.clone(), auth_config)?);
    let admin_id = auth.default_user().context("the default user is missing")?;
    let access_token = auth.issue(admin_id, false)?.access_token;
    let bulk = forcebus_bulk::Bulk::open(
        org.clone(),
        store.clone(),
        forcebus_bulk::BulkConfig {
            temporary: config.in_memory,
            max_upload_bytes: config.bulk_max_upload_bytes,
            start_delay: std::time::Duration::from_millis(config.bulk_processing_delay_ms),
            ..forcebus_bulk::BulkConfig::new(bulk_root(config, data_dir))
        },
    )?;
    let admin_key = config.admin_key.clone().unwrap_or(secrets.admin_key);
    Ok(Core {
        org,
        auth,
        bulk,
        app,
        admin,
        admin_id: admin_id.to18(),
        access_token,
        admin_key,
    })
}

/// The org on `store`: the standard catalogue plus the configured objects, its users
/// seeded from `credentials`.
fn open_org(
    config: &Config,
    data_dir: &DataDir,
    store: Arc<dyn Store>,
    credentials: &[UserCredentials],
) -> anyhow::Result<Arc<Org>> {
    let mut schema = Schema::new(
        standard::catalogue()
            .into_iter()
            .chain(standard::tooling_catalogue())
            .collect(),
    );
    let (objects, platform_events) = declared(config)?;
    custom::apply(&mut schema, &objects).map_err(anyhow::Error::msg)?;
    let seeds: Vec<UserSeed> = credentials
        .iter()
        .map(|u| UserSeed {
            username: u.username.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone().unwrap_or_else(|| u.username.clone()),
        })
        .collect();
    let org = Org::open_with(
        store,
        schema,
        Arc::new(SystemClock),
        &config.org_name,
        &seeds,
        forcebus_org::OrgOptions {
            platform_events,
            ..config.org_options()
        },
    )
    .map_err(|e| damaged(data_dir, e.into()))?;
    Ok(Arc::new(org))
}

/// The objects and platform events the org starts with: the describes' (if the config names
/// a folder of them), then the sfdx project's, then the config file's, each adding fields
/// to (or replacing labels of) the ones before.
fn declared(
    config: &Config,
) -> anyhow::Result<(
    std::collections::BTreeMap<String, custom::ObjectConfig>,
    std::collections::BTreeMap<String, forcebus_org::platform::EventConfig>,
)> {
    let mut objects = match &config.describes {
        Some(dir) => crate::describes::load(dir)
            .with_context(|| format!("cannot load the describes in {}", shown(dir)))?,
        None => std::collections::BTreeMap::new(),
    };
    let mut events = std::collections::BTreeMap::new();
    if let Some(dir) = &config.project {
        let project = crate::project::load(dir)
            .with_context(|| format!("cannot load the sfdx project {}", shown(dir)))?;
        tracing::info!(
            project = %shown(dir),
            objects = project.objects.len(),
            platform_events = project.platform_events.len(),
            "sfdx project loaded."
        );
        merge(&mut objects, &project.objects);
        events = project.platform_events;
    }
    merge(&mut objects, &config.objects);
    events.extend(config.platform_events.clone());
    Ok((objects, events))
}

/// Adds `more`'s objects to `objects`: labels replaced where given, fields appended (a
/// field of the same name replaces the earlier one when the schema is built).
fn merge(
    objects: &mut std::collections::BTreeMap<String, custom::ObjectConfig>,
    more: &std::collections::BTreeMap<String, custom::ObjectConfig>,
) {
    for (name, c) in more {
        let entry = objects.entry(name.clone()).or_default();
        if c.label.is_some() {
            entry.label.clone_from(&c.label);
        }
        if c.plural_label.is_some() {
            entry.plural_label.clone_from(&c.plural_label);
        }
        entry.fields.extend(c.fields.iter().cloned());
    }
}

/// The HTTP side: REST, the Streaming API and the health endpoints on one router.
fn http_services(config: &Config, core: &Core) -> (Router, Arc<Bayeux>) {
    let bayeux = Bayeux::new(core.org.clone(), core.auth.clone(), config.bayeux());
    let state = Arc::new(AppState {
        auth: core.auth.clone(),
        org: core.org.clone(),
        config: forcebus_rest::RestConfig {
            admin_key: core.admin_key.clone(),
            ..config.rest()
        },
        usage: Default::default(),
        cursors: forcebus_rest::query::Cursors::new(config.query_cursor_max_bytes),
        presence: bayeux.clone(),
        bulk: core.bulk.clone(),
        deploys: Default::default(),
        retrieves: Default::default(),
    });
    let router = forcebus_rest::router(state)
        .merge(forcebus_bayeux::router(bayeux.clone()))
        .merge(health::router());
    (router, bayeux)
}

/// Serves until the first SIGINT or SIGTERM, then stops taking work, answers what is
/// parked, and lets in-flight requests finish within the grace period.
async fn serve_until_shutdown(
    server: Server,
    data_dir: &DataDir,
    times: ServeTimes,
    signals: ShutdownSignal,
) -> anyhow::Result<()> {
    let Server {
        router,
        http,
        grpc,
        bayeux,
        pubsub,
        org,
        bulk,
        startup: _,
    } = server;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let sweeper = tokio::spawn(sweep(org, times.retention_sweep));
    let session_sweeper = tokio::spawn({
        let bayeux = bayeux.clone();
        async move {
            let mut tick = tokio::time::interval(SESSION_SWEEP);
            loop {
                tick.tick().await;
                bayeux.sweep();
            }
        }
    });
    let grpc_server = tokio::spawn(crate::grpc::serve(
        grpc.listener,
        grpc.tls,
        pubsub.service(),
        rx.clone(),
        times.shutdown_grace,
    ));
    let http_server = tokio::spawn(crate::listener::serve(
        http.listener,
        http.tls,
        router,
        rx,
        times.shutdown_grace,
        times.request_body_timeout,
    ));
    signals.recv_then_force_on_second().await;
    tracing::info!("Shutting down.");
    data_dir.clear_ready();
    let _ = tx.send(true);
    // Parked long-polls and open streams are answered now, so the listeners drain at
    // once instead of waiting out the grace period.
    bayeux.shutdown();
    pubsub.shutdown();
    http_server.await.context("listener task failed")?;
    grpc_server.await.context("gRPC listener task failed")?;
    sweeper.abort();
    session_sweeper.abort();
    // A bulk job stops after its chunk and resumes at the next start.
    tokio::task::block_in_place(|| bulk.shutdown());
    tracing::info!("Stopped.");
    Ok(())
}

/// Where Bulk API jobs keep their files: `bulk/` in the data dir, or, in memory, a
/// temporary directory of this process (emptied at the next start of one).
fn bulk_root(config: &Config, data_dir: &DataDir) -> std::path::PathBuf {
    if !config.in_memory {
        return data_dir.path().join("bulk");
    }
    let root = std::env::temp_dir().join(format!("forcebus-bulk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    root
}

/// The store: in memory, or `forcebus.db` in the data dir.
fn open_store(config: &Config, data_dir: &DataDir) -> anyhow::Result<Arc<dyn Store>> {
    if config.in_memory {
        return Ok(Arc::new(SqliteStore::in_memory()?));
    }
    let store = SqliteStore::open(data_dir.path(), config.durability)
        .map_err(|e| damaged(data_dir, e.into()))?;
    Ok(Arc::new(store))
}

/// A failure to open or load the database, with what to do about it when the file is
/// not a database (or a damaged one).
fn damaged(data_dir: &DataDir, e: anyhow::Error) -> anyhow::Error {
    let db = data_dir.path().join("forcebus.db");
    let text = format!("{e:#}");
    if text.contains("not a database") || text.contains("malformed") {
        anyhow::anyhow!(
            "the database {} is damaged or not a forcebus database ({}); move it aside, \
             or start with another --data-dir, to begin with an empty org",
            shown(&db),
            e.root_cause()
        )
    } else {
        e.context(format!("cannot open the database {}", shown(&db)))
    }
}

/// Binds `addr`, or fails saying what to change (`flag` is the flag that sets it).
async fn bind(
    addr: std::net::SocketAddr,
    what: &str,
    flag: &str,
) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "port {} is in use (another forcebus?); choose another with {flag} ADDR, \
                 or port 0 for a free one",
                addr.port()
            ),
            std::io::ErrorKind::AddrNotAvailable => format!(
                "{} is not an address of this machine; use {flag} 127.0.0.1:PORT or \
                 0.0.0.0:PORT",
                addr.ip()
            ),
            std::io::ErrorKind::PermissionDenied => format!(
                "not allowed (ports below 1024 need privileges); use {flag} with a port \
                 above 1023"
            ),
            _ => e.to_string(),
        };
        anyhow::anyhow!("cannot listen on {addr} ({what}): {why}")
    })
}

/// Removes events past retention every `every`, and at once whenever the log passes its
/// size cap by a quarter.
async fn sweep(org: Arc<Org>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = org.log().over_cap() => {}
        }
        let org = org.clone();
        let now = org.clock().now().timestamp_millis();
        match tokio::task::spawn_blocking(move || org.log().expire(now)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::debug!(removed = n, "Expired events removed."),
            Ok(Err(e)) => tracing::warn!(error = %e, "Retention sweep failed."),
            Err(e) => tracing::warn!(error = %e, "Retention sweep panicked."),
        }
    }
}
