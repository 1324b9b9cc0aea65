//! Building the orgs (the default one, and those made through the admin API before) and
//! their front doors from the configuration, and running them until a shutdown signal:
//! [`run`] builds ([`build`]), reports ([`crate::banner`]), then serves
//! ([`serve_until_shutdown`]). A node of a cluster joins the others first ([`cluster`]).

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::banner::{self, Startup};
use crate::orgs_api::OrgsApi;
use crate::shutdown::ShutdownSignal;
use crate::tenant::{Declared, Home, Tenant, catalogue};
use crate::tenants::{DefaultOrg, Tenants};
use forcebus_config::datadir::{DataDir, shown};
use forcebus_config::{Config, ServeTimes};
use forcebus_listener::tls;

mod cluster;

/// Runs the server until SIGINT or SIGTERM.
pub fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.worker_threads())
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    // On a shared database, every log line says which node wrote it (the requests'
    // and connections' spans sit inside this one; lines logged elsewhere get the node
    // from [`crate::logline`]).
    let span = match &config.store {
        Some(_) => {
            let id = crate::cluster::node_id(config.node_id.as_deref());
            crate::logline::name_node(&id);
            tracing::info_span!("node", %id)
        }
        None => tracing::Span::none(),
    };
    runtime.block_on(tracing::Instrument::instrument(serve(config), span))
}

/// Builds the server, prints the banner and the ready line, then serves until shutdown.
/// The data dir stays locked until everything has stopped.
/// With `--store`, the node joins the others on the database first ([`cluster::join`]),
/// listening as soon as its ports are free.
async fn serve(config: Config) -> anyhow::Result<()> {
    crate::metrics::install()?;
    crate::metrics::runtime_workers();
    let data_dir = DataDir::acquire(&config.data_dir)?;
    let mut signals = ShutdownSignal::listen();
    let joined = match &config.store {
        Some(url) => {
            let db = tokio::select! {
                db = connect(url) => db?,
                () = signals.recv() => return Ok(()),
            };
            let joined = tokio::select! {
                joined = cluster::join(&config, &data_dir, db) => joined?,
                () = signals.recv() => return Ok(()),
            };
            Some(joined)
        }
        None => None,
    };
    let server = tokio::select! {
        server = build(&config, &data_dir, joined) => server?,
        () = signals.recv() => return Ok(()),
    };
    banner::print_banner(&config, &server.startup);
    let ready = banner::ready_line(&config, &server.startup);
    // A server on a full disk still starts and serves reads (its writes are refused with
    // STORAGE_LIMIT_EXCEEDED); only `forcebus env` cannot find it then.
    if let Err(e) = data_dir.write_ready(&ready.to_string()) {
        let full = e
            .chain()
            .filter_map(|c| c.downcast_ref::<std::io::Error>())
            .any(forcebus_store::io_is_full);
        if !full {
            return Err(e);
        }
        tracing::warn!(error = %e, "The data directory is full: `forcebus env` cannot find this server.");
        data_dir.clear_ready();
    }
    banner::print_ready(&ready)?;
    serve_until_shutdown(server, &data_dir, config.serve_times(), signals).await
}

/// A listener bound to its port, with the TLS configuration it serves.
struct Bound {
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
}

/// Everything built, bound and ready to serve.
struct Server {
    /// The admin API, and every other request dispatched to its org's router (REST,
    /// OAuth, SOAP, the Streaming API, the health endpoints).
    router: Router,
    http: Bound,
    grpc: Bound,
    tenants: Arc<Tenants>,
    /// What the banner and the ready line report.
    startup: Startup,
    /// On a shared database: the task keeping this node's lease and orgs.
    keeper: Option<tokio::task::JoinHandle<()>>,
}

/// Connections to the PostgreSQL database at `url`, its tables brought up to date. While
/// the database cannot be reached (not started yet, restarting, the network between) it
/// says so and tries again, every 1, 2, 4 ... up to 10 seconds; any other failure (a wrong
/// password, a database that does not exist or a newer forcebus wrote) ends the start.
async fn connect(url: &str) -> anyhow::Result<Arc<forcebus_store::Database>> {
    let shown = forcebus_store::postgres::shown(url);
    let mut wait = std::time::Duration::from_secs(1);
    loop {
        let owned = url.to_owned();
        let tried = tokio::task::spawn_blocking(move || {
            forcebus_store::Database::connect(&owned, DATABASE_CONNECTIONS)
        })
        .await?;
        match tried {
            Ok(db) => return Ok(db),
            Err(e) if e.is_unavailable() => {
                tracing::warn!(
                    "Cannot reach the PostgreSQL database {shown}: {e}; trying again in {} s.",
                    wait.as_secs()
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(10));
            }
            Err(e) => anyhow::bail!("cannot use the PostgreSQL database {shown}: {e}"),
        }
    }
}

/// Connections to the PostgreSQL database, shared by every org.
const DATABASE_CONNECTIONS: usize = 8;

/// The certificate to serve: the configured one, else the generated one (shared through
/// the database when there is one).
fn tls_files(
    config: &Config,
    data_dir: &DataDir,
    db: Option<&Arc<forcebus_store::Database>>,
) -> anyhow::Result<tls::TlsFiles> {
    Ok(match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => tls::TlsFiles {
            ca: cert.clone(),
            cert: cert.clone(),
            key: key.clone(),
        },
        _ => match db {
            Some(db) => crate::cluster::shared_tls(db, data_dir.path(), &config.tls_names)?,
            None => tls::ensure_generated(data_dir.path(), &config.tls_names)?,
        },
    })
}

/// Builds the orgs and their front doors from `config` and binds both ports (unless a
/// cluster's node has them already), in this order, so that a mistake is reported before
/// anything listens.
async fn build(
    config: &Config,
    data_dir: &DataDir,
    joined: Option<cluster::Joined>,
) -> anyhow::Result<Server> {
    let (node, listeners, starting) = match joined {
        Some(j) => (Some(j.cluster), Some(j.listeners), Some(j.starting)),
        None => (None, None, None),
    };
    let tls_files = tls_files(config, data_dir, node.as_ref().map(|c| &c.data))?;
    let http_tls = tls::server_config(&tls_files, &[b"http/1.1"])?;
    let declared = declared(config)?;
    let default = match &node {
        Some(c) => cluster::default_org(c, config, data_dir, &declared).await?,
        None => {
            let home = if config.in_memory {
                crate::scratch::remove_stale();
                Home::Memory(crate::scratch::default_org())
            } else {
                Home::Dir(data_dir.path().to_path_buf())
            };
            let tenant = Tenant::open(config, home.clone(), catalogue(), &declared, None)?;
            let fence = forcebus_store::postgres::fence(forcebus_store::UNFENCED);
            DefaultOrg::Open(Box::new(tenant), home, fence)
        }
    };
    let disk = (!config.in_memory).then(|| data_dir.path().to_path_buf());
    let tenants = Arc::new(Tenants::open(
        config,
        declared,
        default,
        disk,
        node.clone(),
    )?);
    let keeper = match starting {
        Some(starting) => Some(cluster::first_round(&tenants, starting).await?),
        None => None,
    };
    let (http, grpc) = match listeners {
        Some(both) => both,
        None => (
            bind(config.listen, "HTTP", "--listen").await?,
            bind(config.grpc_listen, "gRPC", "--grpc-listen").await?,
        ),
    };
    let router = crate::orgs_api::router(Arc::new(OrgsApi {
        tenants: tenants.clone(),
        api_version: format!("{}.0", config.api_version),
    }))
    .merge(forcebus_console::router(config.console_dir.clone()))
    .layer(axum::middleware::from_fn(crate::metrics::count));
    let at = (http.local_addr()?, grpc.local_addr()?);
    let startup = match tenants.default_org() {
        Some(t) => Startup {
            http: at.0,
            grpc: at.1,
            org_id: t.org.id().to18(),
            user_id: t.admin_id.clone(),
            user: t.admin.clone(),
            client_id: t.app.client_id.clone(),
            client_secret: t.app.client_secret.clone(),
            access_token: t.access_token.clone(),
            admin_key: t.admin_key.clone(),
            ca: shown(&tls_files.ca),
        },
        None => cluster::remote_startup(&tenants, config, at, shown(&tls_files.ca)).await?,
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
        tenants,
        startup,
        keeper,
    })
}

/// The objects and platform events the org starts with: the describes' (if the config names
/// a folder of them), then the sfdx project's, then the config file's, each adding fields
/// to (or replacing labels of) the ones before.
fn declared(config: &Config) -> anyhow::Result<Declared> {
    let mut objects = match &config.describes {
        Some(dir) => crate::describes::load(dir)
            .with_context(|| format!("cannot load the describes in {}", shown(dir)))?,
        None => std::collections::BTreeMap::new(),
    };
    let mut events = std::collections::BTreeMap::new();
    let mut permission_sets = Vec::new();
    let mut sharing_rules = Vec::new();
    let (mut profiles, mut permission_set_groups) = (Vec::new(), Vec::new());
    if let Some(dir) = &config.project {
        let project = crate::project::load(dir)
            .with_context(|| format!("cannot load the sfdx project {}", shown(dir)))?;
        tracing::info!(
            project = %shown(dir),
            objects = project.objects.len(),
            platform_events = project.platform_events.len(),
            "sfdx project loaded."
        );
        crate::tenant::merge(&mut objects, &project.objects);
        events = project.platform_events;
        permission_sets = project.permission_sets;
        sharing_rules = project.sharing_rules;
        profiles = project.profiles;
        permission_set_groups = project.permission_set_groups;
    }
    crate::tenant::merge(&mut objects, &config.objects);
    events.extend(config.platform_events.clone());
    permission_sets.extend(config.permission_sets.iter().cloned());
    Ok(Declared {
        objects,
        events,
        permission_sets,
        sharing_rules,
        profiles,
        permission_set_groups,
    })
}

/// Serves until the first SIGINT or SIGTERM, then stops taking work, answers what is
/// parked, and lets in-flight requests finish within the grace period. A node of a
/// cluster first hands its orgs to the others, passing their requests on meanwhile.
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
        tenants,
        startup: _,
        keeper,
    } = server;
    let forward_key = tenants.cluster().map(|c| c.forward.key().clone());
    let (tx, rx) = tokio::sync::watch::channel(false);
    tenants.start(times.retention_sweep);
    if let Some(idle) = times.org_idle_unload {
        tenants.unload_when_idle(idle);
    }
    let grpc_server = tokio::spawn(stop_then_drain(forcebus_listener::grpc::serve(
        grpc.listener,
        grpc.tls,
        crate::dispatch::GrpcDispatch {
            tenants: tenants.clone(),
            peer: None,
            forward_key: forward_key.clone(),
        },
        rx.clone(),
        times.shutdown_grace,
    )));
    let handlers = forcebus_listener::Handlers {
        router: router.clone(),
        streaming_api: Some(Arc::new(crate::dispatch::StreamingApi {
            tenants: tenants.clone(),
            router,
        })),
    };
    let http_server = tokio::spawn(stop_then_drain(forcebus_listener::serve(
        http.listener,
        http.tls,
        handlers,
        rx,
        times.shutdown_grace,
        forcebus_listener::BodyBounds {
            timeout: times.request_body_timeout,
            max: times.request_body_max,
        },
        forward_key,
    )));
    signals.recv_then_force_on_second().await;
    tracing::info!("Shutting down.");
    data_dir.clear_ready();
    if tenants.cluster().is_some() {
        let t = tenants.clone();
        if tokio::task::spawn_blocking(move || t.drain()).await? > 0 {
            // Other nodes may still pass this one requests for the orgs it served, as
            // they knew it a moment ago: it passes them on to the new nodes meanwhile.
            tokio::time::sleep(crate::tenants::FRESH).await;
        }
    }
    let _ = tx.send(true);
    // Parked long-polls and open streams are answered now, so the listeners drain at
    // once instead of waiting out the grace period.
    tenants.stop_streams();
    http_server.await.context("listener task failed")?;
    grpc_server.await.context("gRPC listener task failed")?;
    // A bulk job stops after its chunk and resumes at the next start.
    tokio::task::block_in_place(|| tenants.stop());
    crate::scratch::release();
    if let Some(keeper) = keeper {
        keeper.abort();
    }
    if let Some(c) = tenants.cluster() {
        let c = c.clone();
        tokio::task::spawn_blocking(move || c.leave()).await?;
    }
    tracing::info!("Stopped.");
    Ok(())
}

/// Serves until the listener stops, closes it, then lets its connections finish.
async fn stop_then_drain(
    serving: impl std::future::Future<Output = (TcpListener, forcebus_listener::Draining)>,
) {
    let (listener, draining) = serving.await;
    drop(listener);
    draining.finish().await;
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
