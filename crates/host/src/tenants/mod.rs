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
//!
//! On a shared database ([`crate::cluster`]) a node knows every org but serves only those
//! whose lease it holds: [`route`] says where a request goes (served here, opened first if
//! it rests; passed on to the node serving it; or taken, when nobody serves it), and
//! [`ownership`] keeps what this node serves in step with the leases (taking the orgs of
//! nodes that died, handing its own over when asked or draining).
//!
//! - [`lifecycle`]: opening, unloading when idle, closing; [`making`]: making and deleting;
//!   [`registry`]: the list of made orgs; [`signins`]: which org a username or client id
//!   signs in to; [`route`], [`ownership`], [`drain`]: orgs across nodes.

mod drain;
mod lifecycle;
mod making;
mod ownership;
mod registry;
mod route;
mod signins;

use forcebus_sync::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context;

use forcebus_org::RecordId;

use crate::cluster::Cluster;
use crate::hosted::{Hosted, Kind, OrgInfo};
use crate::tenant::{Declared, Home, Identity, Tenant, catalogue};
use forcebus_config::Config;

use making::default_user;
pub(crate) use registry::DEFAULT_KEY;
use registry::Registry;
pub(crate) use route::{FRESH, Located, Route};
use signins::SignIns;

/// Most orgs taken over that open at once.
const OPENING_AT_ONCE: usize = 4;

/// Most orgs one server holds besides its default one.
pub(crate) const MAX_ORGS: usize = 10_000;

/// Record ids per block (62⁶ of the 62⁹ a counter spans).
const BLOCK: u64 = 62u64.pow(6);
/// Blocks a counter spans; block 0 is the default org's.
const BLOCKS: u64 = 62u64.pow(3);

/// The orgs listed, and which node serves each (by key).
pub(crate) type Listed = (
    Vec<(RecordId, OrgInfo)>,
    std::collections::HashMap<String, String>,
);

/// The default org as the server starts with it.
pub(crate) enum DefaultOrg {
    /// Open here (always, without a cluster), at its home with the fence it holds.
    Open(Box<Tenant>, Home, forcebus_store::Fence),
    /// Served by another node, or by none yet: its id, its home, the admin key.
    Elsewhere {
        id: RecordId,
        home: Home,
        admin_key: String,
    },
}

/// Every org of the server.
pub(crate) struct Tenants {
    config: Config,
    /// The server's declared schema (describes, project, config file): every org's start.
    declared: Declared,
    /// Where the made orgs are listed.
    registry: Registry,
    default: Arc<Hosted>,
    /// The admin endpoints' key: the config's, or the default org's generated one.
    admin_key: String,
    orgs: RwLock<BTreeMap<String, Arc<Hosted>>>,
    /// Serialises creation (ids and usernames are checked against every org).
    making: Mutex<()>,
    /// Whether the sweeps run (a new org starts its own then).
    started: std::sync::atomic::AtomicBool,
    /// The server's own tasks over every org (unloading idle ones).
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Whether the server is shutting down (no org is opened again then).
    stopping: std::sync::atomic::AtomicBool,
    /// Which org a sign-in by username or client id is for (without a cluster; a
    /// cluster's are in its database).
    signins: Arc<SignIns>,
    /// This node's part in a cluster, on a shared database.
    cluster: Option<Arc<Cluster>>,
    /// Bounds how many orgs taken over open at once (a node taking a dead node's orgs
    /// loads them a few at a time, not all together).
    opening: Arc<tokio::sync::Semaphore>,
}

impl Tenants {
    /// The default org and every org made before: reopened, or, on a shared database,
    /// known (each opens on the node that takes it).
    pub(crate) fn open(
        config: &Config,
        declared: Declared,
        default: DefaultOrg,
        data_dir: Option<PathBuf>,
        cluster: Option<Arc<Cluster>>,
    ) -> anyhow::Result<Self> {
        let default_info = OrgInfo {
            name: config.org_name.clone(),
            created: String::new(),
            config: crate::hosted::OrgConfig::default(),
            block: 0,
            client_id: None,
        };
        let (default, admin_key) = match default {
            DefaultOrg::Open(tenant, home, fence) => {
                let key = tenant.admin_key.clone();
                let id = tenant.org.id();
                let made = Hosted::new(
                    id,
                    Kind::Default,
                    default_info,
                    (home, fence),
                    Arc::from(tenant),
                );
                (made, key)
            }
            DefaultOrg::Elsewhere {
                id,
                home,
                admin_key,
            } => (
                Hosted::resting(id, Kind::Default, default_info, home),
                admin_key,
            ),
        };
        let db = cluster.as_ref().map(|c| c.data.clone());
        let tenants = Self {
            config: config.clone(),
            declared,
            registry: Registry::new(data_dir, db),
            default: Arc::new(default),
            admin_key,
            orgs: RwLock::default(),
            making: Mutex::default(),
            started: std::sync::atomic::AtomicBool::new(false),
            tasks: Mutex::default(),
            stopping: std::sync::atomic::AtomicBool::new(false),
            signins: Arc::default(),
            cluster,
            opening: Arc::new(tokio::sync::Semaphore::new(OPENING_AT_ONCE)),
        };
        if let Some(t) = tenants.default.tenancy.open() {
            tenants.watch_usernames(&tenants.default, &t);
        }
        tenants.reopen()?;
        Ok(tenants)
    }

    /// Opens the orgs listed (on a shared database: knows them), finishing any deletion a
    /// crash interrupted.
    fn reopen(&self) -> anyhow::Result<()> {
        for (id, info, home) in self.registry.list()? {
            if self.cluster.is_some() {
                self.insert(id, Hosted::resting(id, Kind::Made, info, home));
                continue;
            }
            let fence = forcebus_store::postgres::fence(forcebus_store::UNFENCED);
            let tenant = self
                .open_made(id, &info, home.clone())
                .with_context(|| format!("cannot open the org {}", id.to18()))?;
            let made = Hosted::new(id, Kind::Made, info, (home, fence), Arc::new(tenant));
            let made = self.insert(id, made);
            if let Some(t) = made.tenancy.open() {
                self.watch_usernames(&made, &t);
            }
        }
        Ok(())
    }

    fn insert(&self, id: RecordId, made: Hosted) -> Arc<Hosted> {
        let made = Arc::new(made);
        self.orgs
            .write_locked()
            .entry(id.as15().to_owned())
            .or_insert(made)
            .clone()
    }

    /// The org `made` opened at its home of now (the fence it holds now).
    fn open_tenant(&self, made: &Hosted) -> anyhow::Result<Tenant> {
        let home = made.fenced_home();
        let tenant = match made.kind {
            Kind::Default => Tenant::open(&self.config, home, catalogue(), &self.declared, None)?,
            Kind::Made => self.open_made(made.id, &made.info, home)?,
        };
        self.watch_usernames(made, &tenant);
        Ok(tenant)
    }

    /// The made org `id` as `info` says to make it.
    fn open_made(&self, id: RecordId, info: &OrgInfo, home: Home) -> anyhow::Result<Tenant> {
        let mut config = self.config.clone();
        config.org_name.clone_from(&info.name);
        // The server's admin key reaches every org's test controls
        // (`/forcebus/v1/orgs/{id}/control`).
        config.admin_key = Some(self.admin_key.clone());
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
        Tenant::open(&config, home, catalogue(), &declared, Some(identity))
    }

    /// Keeps the sign-in index (or, on a shared database, its names) current with the
    /// org's usernames and client id.
    fn watch_usernames(&self, made: &Hosted, tenant: &Tenant) {
        if self.cluster.is_none() && made.kind == Kind::Made {
            self.signins
                .set_client_id(made.id.as15(), &tenant.app.client_id);
        }
        match &self.cluster {
            Some(cluster) => {
                let (db, key) = (cluster.data.clone(), made.key());
                tenant.org.watch_usernames(move |names| {
                    if let Err(e) = db.set_names(&key, forcebus_store::kinds::USERNAME, &names) {
                        tracing::warn!(error = %e, "Cannot record the org's usernames for sign-ins.");
                    }
                });
            }
            None if made.kind == Kind::Made => {
                let (signins, key) = (self.signins.clone(), made.id.as15().to_owned());
                tenant
                    .org
                    .watch_usernames(move |names| signins.set_usernames(&key, names));
            }
            None => {}
        }
    }

    /// The largest request body a route takes.
    pub(crate) fn max_body(&self) -> usize {
        self.config.max_body_bytes
    }

    /// The default org, if it is open here (always without a cluster).
    pub(crate) fn default_org(&self) -> Option<Arc<Tenant>> {
        self.default.tenancy.open()
    }

    /// The default org as an org of the server.
    pub(crate) fn default_made(&self) -> &Arc<Hosted> {
        &self.default
    }

    /// The server's admin key.
    pub(crate) fn admin_key(&self) -> &str {
        &self.admin_key
    }

    /// This node's part in a cluster, if it is in one.
    pub(crate) fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    /// The made org with this id (15 or 18 characters) this node knows; the default one is
    /// not among them ([`Self::is_default`]).
    pub(crate) fn by_id(&self, id: &str) -> Option<Arc<Hosted>> {
        let id = RecordId::parse(id)?;
        self.orgs.read_locked().get(id.as15()).cloned()
    }

    /// The made org with this id, known here or, on a shared database, made by another
    /// node since this one started.
    pub(crate) async fn find(self: &Arc<Self>, id: &str) -> Option<Arc<Hosted>> {
        if let Some(made) = self.by_id(id) {
            return Some(made);
        }
        self.cluster.as_ref()?;
        let id = RecordId::parse(id)?;
        let tenants = self.clone();
        match tokio::task::spawn_blocking(move || tenants.learn(id)).await {
            Ok(Ok(made)) => made,
            Ok(Err(e)) => {
                tracing::warn!(error = %format!("{e:#}"), org = %id.to18(), "Cannot read the list of orgs.");
                None
            }
            Err(_) => None,
        }
    }

    /// The org `key` (`default` or an 18-character id), known here or learnt from the
    /// database (blocking): `Ok(None)` only when the list says there is no such org (an
    /// error reading it is not that: its data must not be taken for leftovers).
    fn by_key(&self, key: &str) -> anyhow::Result<Option<Arc<Hosted>>> {
        if key == DEFAULT_KEY {
            return Ok(Some(self.default.clone()));
        }
        let Some(id) = RecordId::parse(key) else {
            return Ok(None);
        };
        match self.by_id(id.as15()) {
            Some(made) => Ok(Some(made)),
            None => self.learn(id),
        }
    }

    /// A made org this node did not know, read from the list in the database (blocking).
    fn learn(&self, id: RecordId) -> anyhow::Result<Option<Arc<Hosted>>> {
        let Some((info, home)) = self.registry.lookup(id)? else {
            return Ok(None);
        };
        Ok(Some(
            self.insert(id, Hosted::resting(id, Kind::Made, info, home)),
        ))
    }

    /// On a shared database (blocking): the orgs listed now, this node forgetting those
    /// deleted, and which node holds each org's lease. Listing teaches this node no org:
    /// it learns one when a request for it comes ([`Self::find`]), so a node that lists
    /// ten thousand orgs keeps no entry for those it never serves or passes requests on for.
    pub(crate) fn refresh_list(&self) -> anyhow::Result<Listed> {
        let listed = self.registry.list()?;
        let ids: std::collections::HashSet<&str> =
            listed.iter().map(|(id, ..)| id.as15()).collect();
        for made in self.made() {
            // One this node serves is deleted only here; one it is making now is not
            // listed yet.
            if !ids.contains(made.id.as15()) && !made.ownership.is_here() {
                self.forget(&made);
            }
        }
        let leases = match &self.cluster {
            Some(c) => c
                .data
                .org_leases()?
                .into_iter()
                .map(|(scope, node, ..)| (scope, node))
                .collect(),
            None => std::collections::HashMap::new(),
        };
        Ok((
            listed.into_iter().map(|(id, info, _)| (id, info)).collect(),
            leases,
        ))
    }

    /// Forgets a made org deleted by another node.
    fn forget(&self, made: &Hosted) {
        if made.kind == Kind::Made {
            self.orgs.write_locked().remove(made.id.as15());
            self.signins.forget(made.id.as15());
        }
    }

    /// Whether the server may hold orgs besides its default one (so sign-ins are read
    /// for their username).
    pub(crate) fn holds_made(&self) -> bool {
        self.cluster.is_some() || !self.orgs.read_locked().is_empty()
    }

    /// Every org made at run time this node knows, by id.
    pub(crate) fn made(&self) -> Vec<Arc<Hosted>> {
        self.orgs.read_locked().values().cloned().collect()
    }

    /// Every org this node knows, the default one first.
    pub(crate) fn all(&self) -> Vec<Arc<Hosted>> {
        std::iter::once(self.default.clone())
            .chain(self.made())
            .collect()
    }

    /// Whether `id` is the default org's.
    pub(crate) fn is_default(&self, id: &str) -> bool {
        RecordId::parse(id).is_some_and(|i| i == self.default.id)
    }

    /// Starts every open org's sweeps, and those of orgs opened from now on.
    pub(crate) fn start(&self, retention_sweep: Duration) {
        self.started
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for t in self.all().iter().filter_map(|m| m.tenancy.open()) {
            t.start(retention_sweep);
        }
    }

    /// Answers what every org has parked and ends their open streams; resting orgs stay
    /// at rest from now on.
    pub(crate) fn stop_streams(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for t in self.all().iter().filter_map(|m| m.tenancy.open()) {
            t.stop_streams();
        }
    }

    /// Stops every org's sweeps and Bulk workers.
    pub(crate) fn stop(&self) {
        crate::tenant::abort_all(&self.tasks);
        for t in self.all().iter().filter_map(|m| m.tenancy.open()) {
            t.stop();
        }
    }

    /// The org a username signs in to (`None`: the default org, which knows it or refuses).
    pub(crate) async fn by_username(self: &Arc<Self>, username: &str) -> Option<Arc<Hosted>> {
        match &self.cluster {
            None => self.by_id(&self.signins.by_username(username)?),
            Some(_) => {
                let name = username.to_ascii_lowercase();
                self.by_name(forcebus_store::kinds::USERNAME, name).await
            }
        }
    }

    /// The org whose connected app has this client id (`None`: the default org).
    pub(crate) async fn by_client_id(self: &Arc<Self>, client_id: &str) -> Option<Arc<Hosted>> {
        match &self.cluster {
            None => self.by_id(&self.signins.by_client_id(client_id)?),
            Some(_) => {
                self.by_name(forcebus_store::kinds::CLIENT_ID, client_id.to_owned())
                    .await
            }
        }
    }

    /// The made org a name of the database's is for.
    async fn by_name(self: &Arc<Self>, kind: &'static str, name: String) -> Option<Arc<Hosted>> {
        let cluster = self.cluster.clone()?;
        let key = tokio::task::spawn_blocking(move || cluster.data.name_owner(kind, &name))
            .await
            .ok()?
            .ok()??;
        if key == DEFAULT_KEY {
            return None;
        }
        self.find(&key).await
    }
}
