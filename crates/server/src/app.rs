//! Wiring: storage, org, auth and the router; then the banner, the ready line, and the
//! wait for a shutdown signal.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rand::Rng;
use serde_json::json;

use forcebus_auth::{Auth, AuthConfig};
use forcebus_eventlog::LogConfig;
use forcebus_org::cdc::CdcConfig;
use forcebus_org::{Org, OrgOptions, Schema, SystemClock, UserSeed, custom, standard};
use forcebus_rest::{AppState, RestConfig};
use forcebus_store::{Batch, SqliteStore, Store};

use crate::config::Config;
use crate::datadir::DataDir;
use crate::health;
use crate::shutdown::ShutdownSignal;
use crate::tls;

/// Development secrets generated on first start and kept in the store.
struct Generated {
    client_id: String,
    client_secret: String,
    security_token: String,
}

fn random(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

fn generated(store: &dyn Store) -> anyhow::Result<Generated> {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut values: HashMap<String, String> = store.load_values("setup")?.into_iter().collect();
    let mut batch = Batch::new();
    for (key, make) in [
        (
            "client_id",
            Box::new(|| format!("3MVG9{}", random(ALNUM, 80))) as Box<dyn Fn() -> String>,
        ),
        (
            "client_secret",
            Box::new(|| random(b"0123456789ABCDEF", 64)),
        ),
        ("security_token", Box::new(|| random(ALNUM, 24))),
    ] {
        if !values.contains_key(key) {
            let v = make();
            batch.put("setup", key, Some(v.clone()));
            values.insert(key.to_owned(), v);
        }
    }
    if !batch.is_empty() {
        store.commit(&batch)?;
    }
    Ok(Generated {
        client_id: values.remove("client_id").expect("filled above"),
        client_secret: values.remove("client_secret").expect("filled above"),
        security_token: values.remove("security_token").expect("filled above"),
    })
}

fn absolute(p: &Path) -> String {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// Runs the server until SIGINT or SIGTERM.
pub(crate) fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let data_dir = DataDir::acquire(&config.data_dir)?;
    let tls_files = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => tls::TlsFiles {
            ca: cert.clone(),
            cert: cert.clone(),
            key: key.clone(),
        },
        _ => tls::ensure_generated(data_dir.path(), &config.tls_names)?,
    };
    let tls = tls::server_config(&tls_files, &[b"http/1.1"])?;

    let store = open_store(&config, &data_dir)?;
    let secrets = generated(store.as_ref())?;
    let mut schema = Schema::new(
        standard::catalogue()
            .into_iter()
            .chain(standard::tooling_catalogue())
            .collect(),
    );
    custom::apply(&mut schema, &config.objects).map_err(anyhow::Error::msg)?;
    let credentials = config.credentials(&secrets.security_token);
    let seeds: Vec<UserSeed> = credentials
        .iter()
        .map(|u| UserSeed {
            username: u.username.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone().unwrap_or_else(|| u.username.clone()),
        })
        .collect();
    let org = Arc::new(
        Org::open_with(
            store.clone(),
            schema,
            Arc::new(SystemClock),
            &config.org_name,
            &seeds,
            org_options(&config),
        )
        .map_err(|e| damaged(&data_dir, e.into()))?,
    );
    let auth_config = AuthConfig {
        users: credentials.clone(),
        app: config.app(&secrets.client_id, &secrets.client_secret)?,
        session_timeout: Duration::from_secs(config.session_timeout_secs),
        trusted_networks: config.networks().map_err(anyhow::Error::msg)?,
    };
    let app_config = auth_config.app.clone();
    let auth = Arc::new(Auth::open(org.clone(), store.clone(), auth_config)?);
    let admin = auth.default_user().context("the default user is missing")?;
    let token = auth.issue(admin, false)?.access_token;

    let streaming = forcebus_bayeux::BayeuxConfig {
        connect_hold: Duration::from_secs(config.streaming_connect_hold_secs),
        session_timeout: Duration::from_secs(config.streaming_session_timeout_secs),
        max_clients: config.streaming_max_clients,
        ..forcebus_bayeux::BayeuxConfig::default()
    };
    let bayeux = forcebus_bayeux::Bayeux::new(org.clone(), auth.clone(), streaming);
    let state = Arc::new(AppState {
        auth: auth.clone(),
        org: org.clone(),
        config: RestConfig {
            latest_version: config.api_version,
            max_body_bytes: config.max_body_bytes,
            daily_api_requests: config.daily_api_requests,
            enforce_api_limit: config.enforce_api_limit,
        },
        usage: Default::default(),
        cursors: forcebus_rest::query::Cursors::new(config.query_cursor_max_bytes),
        presence: bayeux.clone(),
    });
    let router = forcebus_rest::router(state)
        .merge(forcebus_bayeux::router(bayeux.clone()))
        .merge(health::router());
    let listener = bind(config.listen, "HTTP", "--listen").await?;
    let http = listener.local_addr()?;
    let pubsub = forcebus_pubsub::PubSub::new(
        org.clone(),
        auth.clone(),
        forcebus_pubsub::PubSubConfig {
            keepalive: Duration::from_secs(config.pubsub_keepalive_secs),
            idle_timeout: Duration::from_secs(config.pubsub_idle_timeout_secs),
            publish_idle_timeout: Duration::from_secs(config.pubsub_publish_idle_timeout_secs),
            max_event_bytes: config.max_event_bytes,
            max_requested: config.pubsub_max_requested,
            ..forcebus_pubsub::PubSubConfig::default()
        },
    );
    let grpc_listener = bind(config.grpc_listen, "gRPC", "--grpc-listen").await?;
    let grpc = grpc_listener.local_addr()?;
    let grpc_tls = tls::server_config(&tls_files, &[b"h2"])?;

    let admin_creds = &credentials[0];
    let ca = absolute(&tls_files.ca);
    let data = if config.in_memory {
        "in memory".to_owned()
    } else {
        format!("{} (SQLite)", absolute(&config.data_dir))
    };
    eprintln!(
        "\nforcebus {} — a local Salesforce org\n\n  REST, OAuth, SOAP   http://{http}  (TLS on the same port: https://{http})\n  Streaming API       http://{http}/cometd/{v}.0\n  Pub/Sub API (gRPC)  {grpc}  (TLS and plaintext HTTP/2 on the same port)\n  Org id              {org_id}\n  Username            {user}\n  Password            {pw}  (security token {st})\n  Client id           {cid}\n  Client secret       {cs}\n  Access token        {token}\n  CA certificate      {ca}\n  Data                {data}\n\n  Try: curl -H 'Authorization: Bearer {token}' http://{http}/services/data/v{v}.0/sobjects/Account/describe\n  Or:  eval \"$(forcebus env{dir_flag})\"   (exports SF_INSTANCE_URL, SF_ACCESS_TOKEN and the CA for clients)\n",
        env!("CARGO_PKG_VERSION"),
        org_id = org.id().to18(),
        user = admin_creds.username,
        pw = admin_creds.password,
        st = admin_creds.security_token,
        cid = app_config.client_id,
        cs = app_config.client_secret,
        v = config.api_version,
        dir_flag = if config.data_dir == Path::new(".forcebus") {
            String::new()
        } else {
            format!(" --data-dir {}", absolute(&config.data_dir))
        },
    );
    let signals = ShutdownSignal::listen();
    let ready = json!({
        "event": "ready",
        "http": http.to_string(),
        "grpc": grpc.to_string(),
        "instance_url": format!("http://{http}"),
        "org_id": org.id().to18(),
        "user_id": admin.to18(),
        "username": admin_creds.username,
        "password": admin_creds.password,
        "security_token": admin_creds.security_token,
        "client_id": app_config.client_id,
        "client_secret": app_config.client_secret,
        "access_token": token,
        "ca_cert": ca,
        "api_version": format!("{}.0", config.api_version),
    });
    data_dir.write_ready(&ready.to_string())?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{ready}")?;
        out.flush()?;
    }

    let (tx, rx) = tokio::sync::watch::channel(false);
    let sweeper = tokio::spawn(sweep(
        org.clone(),
        Duration::from_secs(config.retention_sweep_secs),
    ));
    let session_sweeper = tokio::spawn({
        let bayeux = bayeux.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tick.tick().await;
                bayeux.sweep();
            }
        }
    });
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let grpc_server = tokio::spawn(crate::grpc::serve(
        grpc_listener,
        grpc_tls,
        pubsub.service(),
        rx.clone(),
        grace,
    ));
    let server = tokio::spawn(crate::listener::serve(
        listener,
        tls,
        router,
        rx,
        grace,
        Duration::from_secs(config.request_body_timeout_secs),
    ));
    signals.recv_then_force_on_second().await;
    tracing::info!("Shutting down.");
    data_dir.clear_ready();
    let _ = tx.send(true);
    // Parked long-polls and open streams are answered now, so the listeners drain at
    // once instead of waiting out the grace period.
    bayeux.shutdown();
    pubsub.shutdown();
    server.await.context("listener task failed")?;
    grpc_server.await.context("gRPC listener task failed")?;
    sweeper.abort();
    session_sweeper.abort();
    tracing::info!("Stopped.");
    Ok(())
}

/// The org's event log, CDC and platform-event settings from the configuration.
fn org_options(config: &Config) -> OrgOptions {
    OrgOptions {
        log: LogConfig {
            retention_ms: [
                (
                    forcebus_events::CLASS_EVENTS,
                    config.event_retention_hours as i64 * 3_600_000,
                ),
                (
                    forcebus_events::CLASS_NOTIFICATIONS,
                    config.pushtopic_retention_hours as i64 * 3_600_000,
                ),
            ]
            .into(),
            max_bytes: config.event_log_max_bytes,
            ..LogConfig::default()
        },
        cdc: CdcConfig {
            merge: config.cdc_merge,
            overflow_threshold: config.cdc_overflow_threshold,
            max_event_bytes: config.max_event_bytes,
            entities: config.cdc_entities.clone(),
        },
        platform_events: config.platform_events.clone(),
    }
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
            absolute(&db),
            e.root_cause()
        )
    } else {
        e.context(format!("cannot open the database {}", absolute(&db)))
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
