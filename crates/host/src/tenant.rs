//! One org and its front doors: the store, the org, authentication, Bulk jobs, the REST
//! router, the Streaming API and the Pub/Sub service, with the background sweeps that
//! keep them. The server's default org is one ([`crate::app`]), and so is every org made
//! through the admin API ([`crate::tenants`]); a tenant's data lives in its own directory.

use forcebus_sync::prelude::*;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Router;

use forcebus_auth::{AppConfig, Auth, UserCredentials};
use forcebus_bayeux::Bayeux;
use forcebus_org::platform::EventConfig;
use forcebus_org::{Org, Schema, SystemClock, UserSeed, custom};
use forcebus_pubsub::{Grpc, PubSub};
use forcebus_store::{SqliteStore, Store};

use crate::{health, secrets};
use forcebus_config::Config;
use forcebus_config::datadir::shown;

/// How often Streaming API sessions without a connect are looked for and dropped.
const SESSION_SWEEP: Duration = Duration::from_secs(10);

/// The objects and platform events an org starts with (beyond the standard catalogue).
#[derive(Debug, Clone, Default)]
pub(crate) struct Declared {
    pub(crate) objects: std::collections::BTreeMap<String, custom::ObjectConfig>,
    pub(crate) events: std::collections::BTreeMap<String, EventConfig>,
    /// Permission sets: the project's, then the config file's.
    pub(crate) permission_sets: Vec<forcebus_org::access::declared::PermissionSetConfig>,
    /// Sharing rules: the project's.
    pub(crate) sharing_rules: Vec<forcebus_org::access::rules::SharingRuleConfig>,
    /// The project's profiles, each by its name with what it grants.
    pub(crate) profiles: Vec<forcebus_org::access::declared::PermissionSetConfig>,
    /// The project's permission set groups.
    pub(crate) permission_set_groups: Vec<forcebus_org::access::declared::PermissionSetGroupConfig>,
}

/// Adds `more`'s objects to `objects`: labels and settings replaced where given, fields
/// and validation rules appended (one of the same name replaces the earlier one when the
/// schema is built).
pub(crate) fn merge(
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
        for (mine, theirs) in [
            (&mut entry.description, &c.description),
            (&mut entry.deployment_status, &c.deployment_status),
            (&mut entry.sharing_model, &c.sharing_model),
        ] {
            if theirs.is_some() {
                mine.clone_from(theirs);
            }
        }
        if c.name_field.is_some() {
            entry.name_field.clone_from(&c.name_field);
        }
        entry.enable_history |= c.enable_history;
        entry.fields.extend(c.fields.iter().cloned());
        entry
            .validation_rules
            .extend(c.validation_rules.iter().cloned());
        entry.record_types.extend(c.record_types.iter().cloned());
        entry
            .picklists
            .extend(c.picklists.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

/// An org made at run time: its id, and where its record counter starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Identity {
    pub(crate) id: forcebus_org::RecordId,
    pub(crate) first_record: u64,
}

/// Where a tenant keeps its data: a directory (`forcebus.db`, `bulk/`), a PostgreSQL
/// database, or memory.
#[derive(Debug, Clone)]
pub(crate) enum Home {
    /// On disk, in this directory.
    Dir(PathBuf),
    /// In a PostgreSQL database under this key; Bulk files in this directory.
    Database {
        /// The database.
        db: Arc<forcebus_store::Database>,
        /// The org's key in it (`default`, or a made org's 18-character id).
        key: String,
        /// Where its Bulk files go.
        dir: PathBuf,
        /// The epoch of the org's lease its commits check ([`crate::hosted::Hosted::fence`]).
        fence: forcebus_store::Fence,
    },
    /// In memory; Bulk files in this temporary directory.
    Memory(PathBuf),
}

impl Home {
    /// The org's store, in `home`, kept in the same place the next time it opens.
    pub(crate) fn store(
        &self,
        durability: forcebus_store::Durability,
    ) -> Option<forcebus_store::PostgresStore> {
        match self {
            Self::Database { db, key, fence, .. } => Some(forcebus_store::PostgresStore::fenced(
                db.clone(),
                key,
                durability,
                fence.clone(),
            )),
            Self::Dir(_) | Self::Memory(_) => None,
        }
    }

    /// The same home, its commits checking `fence`.
    pub(crate) fn with_fence(&self, fence: forcebus_store::Fence) -> Self {
        match self {
            Self::Database { db, key, dir, .. } => Self::Database {
                db: db.clone(),
                key: key.clone(),
                dir: dir.clone(),
                fence,
            },
            other => other.clone(),
        }
    }
}

/// One org, served.
pub(crate) struct Tenant {
    pub(crate) org: Arc<Org>,
    pub(crate) auth: Arc<Auth>,
    pub(crate) bulk: Arc<forcebus_bulk::Bulk>,
    pub(crate) bayeux: Arc<Bayeux>,
    pub(crate) pubsub: Arc<PubSub>,
    /// Both streaming APIs' subscribers (what REST's `/forcebus/v1/subscribers` lists).
    pub(crate) subscribers: Arc<dyn forcebus_org::subscribers::Subscribers>,
    /// REST, OAuth, SOAP, the Streaming API and the health endpoints of this org.
    pub(crate) router: Router,
    /// Its Pub/Sub API.
    pub(crate) grpc: Grpc,
    /// The connected app, generated id and secret filled in.
    pub(crate) app: AppConfig,
    /// The default user, generated security token filled in.
    pub(crate) admin: UserCredentials,
    /// The default user's id, 18 characters.
    pub(crate) admin_id: String,
    /// An access token of the default user: the default org's issued at every open, a
    /// made org's when it is made (empty when it opens again).
    pub(crate) access_token: String,
    /// The admin endpoints' key (the default org's is the server's).
    pub(crate) admin_key: String,
    /// Its background sweeps, once started.
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Tenant {
    /// Opens the org of `config` at `home` with its declared schema, filling in the
    /// generated secrets, and issues the default user's first token.
    pub(crate) fn open(
        config: &Config,
        home: Home,
        schema: &Schema,
        declared: &Declared,
        identity: Option<Identity>,
    ) -> anyhow::Result<Self> {
        let store = open_store(config, &home)?;
        let secrets = secrets::load_or_generate(store.as_ref())?;
        let credentials = config.credentials(&secrets.security_token);
        let admin = credentials[0].clone();
        let org = open_org(
            config,
            &home,
            store.clone(),
            (schema, declared, identity),
            &credentials,
        )?;
        let app = config.app(&secrets.client_id, &secrets.client_secret)?;
        let auth_config = config.auth(credentials, app.clone())?;
        let auth = Arc::new(Auth::open(org.clone(), store.clone(), auth_config)?);
        let admin_id = auth.default_user().context("the default user is missing")?;
        // The default org's token is on the ready line at every start; a made org's is
        // issued once, when it is made (not each time it opens again).
        let access_token = match identity {
            None => auth.issue(admin_id, false)?.access_token,
            Some(_) => String::new(),
        };
        let bulk = forcebus_bulk::Bulk::open(
            org.clone(),
            store,
            forcebus_bulk::BulkConfig {
                temporary: matches!(home, Home::Memory(_)),
                max_upload_bytes: config.bulk_max_upload_bytes,
                start_delay: Duration::from_millis(config.bulk_processing_delay_ms),
                ..forcebus_bulk::BulkConfig::new(bulk_root(&home))
            },
        )?;
        let admin_key = config.admin_key.clone().unwrap_or(secrets.admin_key);
        let bayeux = Bayeux::new(org.clone(), auth.clone(), config.bayeux());
        let pubsub = PubSub::new(org.clone(), auth.clone(), config.pubsub());
        let subscribers: Arc<dyn forcebus_org::subscribers::Subscribers> =
            Arc::new(forcebus_org::subscribers::All(vec![
                bayeux.clone(),
                pubsub.clone(),
            ]));
        let core = Arc::new(forcebus_http::Core {
            auth: auth.clone(),
            org: org.clone(),
            config: forcebus_http::RestConfig {
                admin_key: admin_key.clone(),
                ..config.rest()
            },
            usage: Default::default(),
            presence: bayeux.clone(),
            bulk: bulk.clone(),
            subscribers: subscribers.clone(),
            journal: Arc::default(),
        });
        let router = http_router(core, config.query_cursor_max_bytes)
            .merge(forcebus_bayeux::router(bayeux.clone()))
            .merge(health::router());
        let grpc = pubsub.service();
        Ok(Self {
            org,
            auth,
            bulk,
            bayeux,
            pubsub,
            subscribers,
            router,
            grpc,
            app,
            admin,
            admin_id: admin_id.to18(),
            access_token,
            admin_key,
            tasks: Mutex::default(),
        })
    }

    /// Starts its sweeps: retention every `retention_sweep`, Streaming API sessions.
    pub(crate) fn start(&self, retention_sweep: Duration) {
        let bayeux = self.bayeux.clone();
        let sessions = tokio::spawn(async move {
            let mut tick = tokio::time::interval(SESSION_SWEEP);
            loop {
                tick.tick().await;
                bayeux.sweep();
            }
        });
        let retention = tokio::spawn(sweep(self.org.clone(), retention_sweep));
        let mut tasks = self.tasks.locked();
        tasks.extend([sessions, retention]);
    }

    /// Whether nothing of it lives between requests, as its parts say: no write under way
    /// in its org (a commit or deploy whose client hung up runs on), no Streaming API
    /// session, no Bulk job uploading or running, no test control on but the clock's
    /// (which is stored; the others are kept in memory only).
    pub(crate) fn quiet(&self) -> bool {
        !self.org.busy()
            && self.bayeux.sweep() == 0
            && !self.bulk.busy()
            && !self.org.volatile_controls_on()
    }

    /// Answers what is parked and ends open streams (the listeners then drain).
    pub(crate) fn stop_streams(&self) {
        self.bayeux.shutdown();
        self.pubsub.shutdown();
    }

    /// Stops its sweeps and its Bulk worker (a job stops after its chunk and resumes at
    /// the next start). Blocks while the worker finishes its chunk.
    pub(crate) fn stop(&self) {
        abort_all(&self.tasks);
        self.bulk.shutdown();
    }
}

/// Every HTTP protocol family of one org, merged and layered: the REST data and Tooling
/// APIs, the SOAP APIs, the Bulk APIs' wire, OAuth.
fn http_router(core: Arc<forcebus_http::Core>, cursor_max_bytes: usize) -> Router {
    let cursors = forcebus_rest::Cursors::new(cursor_max_bytes);
    let soap = Arc::new(forcebus_soap::AppState::new(core.clone()));
    let buffered = forcebus_rest::router(core.clone(), cursors)
        .merge(forcebus_soap::router(soap))
        .merge(forcebus_bulk_api::router(core.clone()))
        .merge(forcebus_oauth::router(core.clone()));
    let streamed = forcebus_bulk_api::uploads(core.clone());
    forcebus_http::serve(core, buffered, streamed)
}

/// Aborts every task of `tasks`.
pub(crate) fn abort_all(tasks: &Mutex<Vec<tokio::task::JoinHandle<()>>>) {
    for t in tasks.locked().drain(..) {
        t.abort();
    }
}

/// The org on `store`: `schema` (the standard catalogue) plus the declared objects, its
/// users seeded from `credentials`.
fn open_org(
    config: &Config,
    home: &Home,
    store: Arc<dyn Store>,
    (schema, declared, identity): (&Schema, &Declared, Option<Identity>),
    credentials: &[UserCredentials],
) -> anyhow::Result<Arc<Org>> {
    let mut schema = schema.clone();
    custom::apply(&mut schema, &declared.objects).map_err(anyhow::Error::msg)?;
    // A declared formula (a field's, a validation rule's) that does not compile stops
    // the start, as Salesforce refuses to save it.
    let formulas = forcebus_org::formulas::Formulas::of(Arc::new(schema.clone()));
    if let Some(p) = formulas.problems().first() {
        anyhow::bail!(
            "{} {}.{} does not compile: {}",
            p.kind,
            p.object,
            p.name,
            p.message
        );
    }
    let seeds: Vec<UserSeed> = credentials
        .iter()
        .map(|u| UserSeed {
            username: u.username.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone().unwrap_or_else(|| u.username.clone()),
            profile: u.profile.clone(),
            permission_sets: u.permission_sets.clone(),
        })
        .collect();
    let org = Org::open_with(
        store,
        schema,
        Arc::new(SystemClock),
        &config.org_name,
        &seeds,
        forcebus_org::OrgOptions {
            platform_events: declared.events.clone(),
            record_types: declared
                .objects
                .iter()
                .filter(|(_, o)| !o.record_types.is_empty())
                .map(|(name, o)| (name.clone(), o.record_types.clone()))
                .collect(),
            id: identity.map(|i| i.id),
            first_record: identity.map_or(0, |i| i.first_record),
            permission_sets: declared.permission_sets.clone(),
            sharing_rules: declared.sharing_rules.clone(),
            profiles: declared.profiles.clone(),
            permission_set_groups: declared.permission_set_groups.clone(),
            ..config.org_options()
        },
    )
    .map_err(|e| damaged(home, e.into()))?;
    Ok(Arc::new(org))
}

/// Where Bulk API jobs keep their files: `bulk/` in the tenant's directory, or, in
/// memory, its temporary directory (emptied first).
fn bulk_root(home: &Home) -> PathBuf {
    match home {
        Home::Dir(dir) | Home::Database { dir, .. } => dir.join("bulk"),
        Home::Memory(root) => {
            let _ = std::fs::remove_dir_all(root);
            root.clone()
        }
    }
}

/// The store: in memory, `forcebus.db` in the tenant's directory, or its rows in the
/// database.
fn open_store(config: &Config, home: &Home) -> anyhow::Result<Arc<dyn Store>> {
    match home {
        Home::Memory(_) => Ok(Arc::new(SqliteStore::in_memory()?)),
        Home::Database { .. } => Ok(Arc::new(
            home.store(config.durability).context("a database home")?,
        )),
        Home::Dir(dir) => {
            let store =
                SqliteStore::open(dir, config.durability).map_err(|e| damaged(home, e.into()))?;
            Ok(Arc::new(store))
        }
    }
}

/// A failure to open or load the database, with what to do about it when the file is
/// not a database (or a damaged one).
fn damaged(home: &Home, e: anyhow::Error) -> anyhow::Error {
    let Home::Dir(dir) = home else {
        return e;
    };
    let db = dir.join("forcebus.db");
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
        // A write: under way until done, so closing the org waits for it.
        let underway = org.underway();
        let expire = move || {
            let _underway = underway;
            org.log().expire(now)
        };
        match tokio::task::spawn_blocking(expire).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::debug!(removed = n, "Expired events removed."),
            Ok(Err(e)) => tracing::warn!(error = %e, "Retention sweep failed."),
            Err(e) => tracing::warn!(error = %e, "Retention sweep panicked."),
        }
    }
}

/// The standard catalogue (data and tooling objects), built once and shared by every
/// tenant's schema (objects are reference-counted, so a copy costs an index), its objects
/// those `forcebus_meta::standard` parsed, not copies.
pub(crate) fn catalogue() -> &'static Schema {
    static CATALOGUE: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    CATALOGUE.get_or_init(|| {
        Schema::shared(
            forcebus_meta::standard::shared_catalogue()
                .chain(forcebus_meta::standard::shared_tooling_catalogue()),
        )
    })
}

/// Every streaming subscription of `t`'s org, both protocols.
pub(crate) fn subscribers(t: &Tenant) -> Vec<forcebus_org::subscribers::Subscriber> {
    t.subscribers.subscribers()
}
