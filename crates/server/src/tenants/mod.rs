//! The server's orgs: the default one (the data dir's own database, as a server of one org
//! always had) and every org made through the admin API, each with its own database (in
//! `orgs/<orgId>/` of the data dir, under its id in the PostgreSQL database with
//! `--store`, or in memory), users, schema, event log and limits.
//!
//! An org made at run time costs no process and no port: a database, the org (whose
//! schema shares the standard catalogue's objects), its router and services. It is listed
//! ([`registry`]: name, creation time, the config sections it was made with) before it
//! opens, so a restart opens it again; a deleted org is unlisted before its data goes, so
//! a crash midway still leaves it deleted.

mod lifecycle;
mod making;
mod registry;
mod signins;

use forcebus_sync::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context;

use forcebus_org::RecordId;

use crate::config::Config;
use crate::made::{Made, OrgInfo};
use crate::tenant::{Declared, Home, Identity, Tenant, catalogue};

use making::default_user;
pub(crate) use registry::DEFAULT_KEY;
use registry::Registry;
use signins::SignIns;

/// Most orgs one server holds besides its default one.
pub(crate) const MAX_ORGS: usize = 10_000;

/// Record ids per block (62⁶ of the 62⁹ a counter spans).
const BLOCK: u64 = 62u64.pow(6);
/// Blocks a counter spans; block 0 is the default org's.
const BLOCKS: u64 = 62u64.pow(3);

/// Every org of the server.
pub(crate) struct Tenants {
    config: Config,
    /// The server's declared schema (describes, project, config file): every org's start.
    declared: Declared,
    /// Where the made orgs are listed.
    registry: Registry,
    default: Arc<Tenant>,
    orgs: RwLock<BTreeMap<String, Arc<Made>>>,
    /// Serialises creation (ids and usernames are checked against every org).
    making: Mutex<()>,
    /// Whether the sweeps run (a new org starts its own then).
    started: std::sync::atomic::AtomicBool,
    /// The server's own tasks over every org (unloading idle ones).
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Whether the server is shutting down (no org is opened again then).
    stopping: std::sync::atomic::AtomicBool,
    /// Which org a sign-in by username or client id is for.
    signins: Arc<SignIns>,
}

impl Tenants {
    /// The default org and every org made before, reopened.
    pub(crate) fn open(
        config: &Config,
        declared: Declared,
        default: Tenant,
        data_dir: Option<PathBuf>,
        db: Option<Arc<forcebus_store::Database>>,
    ) -> anyhow::Result<Self> {
        let tenants = Self {
            config: config.clone(),
            declared,
            registry: Registry::new(data_dir, db),
            default: Arc::new(default),
            orgs: RwLock::default(),
            making: Mutex::default(),
            started: std::sync::atomic::AtomicBool::new(false),
            tasks: Mutex::default(),
            stopping: std::sync::atomic::AtomicBool::new(false),
            signins: Arc::default(),
        };
        tenants.reopen()?;
        Ok(tenants)
    }

    /// Opens the orgs listed, finishing any deletion a crash interrupted.
    fn reopen(&self) -> anyhow::Result<()> {
        for (id, info, home) in self.registry.list()? {
            let tenant = self
                .open_tenant(id, &info, home.clone())
                .with_context(|| format!("cannot open the org {}", id.to18()))?;
            self.insert(id, Made::new(id, info, home, Arc::new(tenant)));
        }
        Ok(())
    }

    fn insert(&self, id: RecordId, made: Made) -> Arc<Made> {
        let made = Arc::new(made);
        self.signins.set_client_id(id.as15(), &made.client_id);
        self.orgs
            .write_locked()
            .insert(id.as15().to_owned(), made.clone());
        made
    }

    /// The org's tenant as `info` says to make it.
    fn open_tenant(&self, id: RecordId, info: &OrgInfo, home: Home) -> anyhow::Result<Tenant> {
        let mut config = self.config.clone();
        config.org_name.clone_from(&info.name);
        // The server's admin key reaches every org's test controls
        // (`/forcebus/v1/orgs/{id}/control`).
        config.admin_key = Some(self.default.admin_key.clone());
        config.users = info
            .config
            .users
            .clone()
            .unwrap_or_else(|| vec![default_user(id)]);
        config.app = info.config.app.clone().unwrap_or_default();
        if info.config.cdc_entities.is_some() {
            config.cdc_entities.clone_from(&info.config.cdc_entities);
        }
        let mut declared = self.declared.clone();
        crate::tenant::merge(&mut declared.objects, &info.config.objects);
        declared.events.extend(info.config.platform_events.clone());
        let identity = Identity {
            id,
            first_record: info.block * BLOCK,
        };
        let tenant = Tenant::open(&config, home, catalogue(), &declared, Some(identity))?;
        let (signins, key) = (self.signins.clone(), id.as15().to_owned());
        tenant
            .org
            .watch_usernames(move |names| signins.set_usernames(&key, names));
        Ok(tenant)
    }

    /// The largest request body a route takes.
    pub(crate) fn max_body(&self) -> usize {
        self.config.max_body_bytes
    }

    /// The default org.
    pub(crate) fn default_org(&self) -> &Arc<Tenant> {
        &self.default
    }

    /// The made org with this id (15 or 18 characters); the default one is not among
    /// them ([`Self::is_default`]).
    pub(crate) fn by_id(&self, id: &str) -> Option<Arc<Made>> {
        let id = RecordId::parse(id)?;
        self.orgs.read_locked().get(id.as15()).cloned()
    }

    /// Whether the server holds any org besides its default one.
    pub(crate) fn holds_made(&self) -> bool {
        !self.orgs.read_locked().is_empty()
    }

    /// Every org made at run time, by id.
    pub(crate) fn made(&self) -> Vec<Arc<Made>> {
        self.orgs.read_locked().values().cloned().collect()
    }

    /// Whether `id` is the default org's.
    pub(crate) fn is_default(&self, id: &str) -> bool {
        RecordId::parse(id).is_some_and(|i| i == self.default.org.id())
    }

    /// Starts every open org's sweeps, and those of orgs opened from now on.
    pub(crate) fn start(&self, retention_sweep: Duration) {
        self.started
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.default.start(retention_sweep);
        for t in self.made().iter().filter_map(|m| m.open()) {
            t.start(retention_sweep);
        }
    }

    /// Answers what every org has parked and ends their open streams; resting orgs stay
    /// at rest from now on.
    pub(crate) fn stop_streams(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.default.stop_streams();
        for t in self.made().iter().filter_map(|m| m.open()) {
            t.stop_streams();
        }
    }

    /// Stops every org's sweeps and Bulk workers.
    pub(crate) fn stop(&self) {
        crate::tenant::abort_all(&self.tasks);
        self.default.stop();
        for t in self.made().iter().filter_map(|m| m.open()) {
            t.stop();
        }
    }

    /// The made org a username signs in to: the one with a user of that name.
    pub(crate) fn by_username(&self, username: &str) -> Option<Arc<Made>> {
        self.by_id(&self.signins.by_username(username)?)
    }

    /// The made org whose connected app has this client id.
    pub(crate) fn by_client_id(&self, client_id: &str) -> Option<Arc<Made>> {
        self.by_id(&self.signins.by_client_id(client_id)?)
    }
}
