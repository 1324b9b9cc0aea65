//! The server's orgs: the default one (the data dir's own database, as a server of one org
//! always had) and every org made through the admin API, each in `orgs/<orgId>/` of the
//! data dir (or in memory) with its own database, users, schema, event log and limits.
//!
//! An org made at run time costs no process and no port: a database, the org (whose
//! schema shares the standard catalogue's objects), its router and services. Its
//! `org.json` (name, creation time, the config sections it was made with) is written
//! before it opens, so a restart opens it again; a deleted org is marked `deleted` before
//! its directory goes, so a crash midway still leaves it deleted.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context;

use forcebus_org::RecordId;

use crate::config::{Config, UserConfig};
use crate::made::{Activity, Made, OrgConfig, OrgInfo, Resting, Slot};
use crate::tenant::{Declared, Home, Identity, Tenant, catalogue};

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
    /// `orgs/` of the data dir; `None` in memory.
    root: Option<PathBuf>,
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
}

impl Tenants {
    /// The default org and every org made before, reopened.
    pub(crate) fn open(
        config: &Config,
        declared: Declared,
        default: Tenant,
        data_dir: Option<PathBuf>,
    ) -> anyhow::Result<Self> {
        let tenants = Self {
            config: config.clone(),
            declared,
            root: data_dir.map(|d| d.join("orgs")),
            default: Arc::new(default),
            orgs: RwLock::default(),
            making: Mutex::default(),
            started: std::sync::atomic::AtomicBool::new(false),
            tasks: Mutex::default(),
            stopping: std::sync::atomic::AtomicBool::new(false),
        };
        tenants.reopen()?;
        Ok(tenants)
    }

    /// Opens the orgs under `orgs/`, finishing any deletion a crash interrupted.
    fn reopen(&self) -> anyhow::Result<()> {
        let Some(root) = &self.root else {
            return Ok(());
        };
        let Ok(entries) = std::fs::read_dir(root) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let dir = entry.path();
            if dir.join("deleted").exists() {
                let _ = std::fs::remove_dir_all(&dir);
                continue;
            }
            let Some(id) = dir
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(RecordId::parse)
            else {
                continue;
            };
            let info: OrgInfo = match std::fs::read(dir.join("org.json"))
                .map_err(anyhow::Error::from)
                .and_then(|b| serde_json::from_slice(&b).map_err(Into::into))
            {
                Ok(info) => info,
                Err(e) => {
                    tracing::error!(org = %id.to18(), error = %e, "An org's org.json is unreadable; it is not served.");
                    continue;
                }
            };
            let tenant = self
                .open_tenant(id, &info, Home::Dir(dir.clone()))
                .with_context(|| format!("cannot open the org in {}", dir.display()))?;
            self.insert(id, Made::new(id, info, Home::Dir(dir), Arc::new(tenant)));
        }
        Ok(())
    }

    fn insert(&self, id: RecordId, made: Made) {
        self.orgs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.as15().to_owned(), Arc::new(made));
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
        Tenant::open(&config, home, catalogue(), &declared, Some(identity))
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
        self.orgs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id.as15())
            .cloned()
    }

    /// Whether the server holds any org besides its default one.
    pub(crate) fn holds_made(&self) -> bool {
        !self
            .orgs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Every org made at run time, by id.
    pub(crate) fn made(&self) -> Vec<Arc<Made>> {
        self.orgs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
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

    /// The tenant a username signs in to: the org with a user of that name.
    pub(crate) fn by_username(&self, username: &str) -> Option<Arc<Made>> {
        self.made().into_iter().find(|m| m.has_username(username))
    }

    /// The tenant whose connected app has this client id.
    pub(crate) fn by_client_id(&self, client_id: &str) -> Option<Arc<Made>> {
        self.made().into_iter().find(|m| m.client_id == client_id)
    }

    /// The org to serve a request with (the default one for `None`), opened if it rests,
    /// and the request's activity on it. An org that cannot be opened (its files damaged
    /// or gone) is answered by the default org, which does not know its tokens.
    pub(crate) async fn serve(
        self: &Arc<Self>,
        made: Option<Arc<Made>>,
    ) -> (Arc<Tenant>, Option<Activity>) {
        let Some(made) = made else {
            return (self.default.clone(), None);
        };
        // Marked before opening, so an unload sweep leaves it be from here on.
        let activity = made.activity();
        let tenant = match made.open() {
            Some(t) => Ok(t),
            None => {
                let (tenants, m) = (self.clone(), made.clone());
                tokio::task::spawn_blocking(move || tenants.reopened(&m))
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(|r| r)
            }
        };
        match tenant {
            Ok(t) => (t, Some(activity)),
            Err(e) => {
                tracing::error!(org = %made.id.to18(), error = %format!("{e:#}"), "An org could not be opened.");
                (self.default.clone(), None)
            }
        }
    }

    /// The org `made`, opened (blocking) if it rests: after any close under way.
    pub(crate) fn reopened(&self, made: &Made) -> anyhow::Result<Arc<Tenant>> {
        let _transition = made.transition();
        match &*made.slot() {
            Slot::Open(t) => return Ok(t.clone()),
            Slot::Deleted => anyhow::bail!("the org was deleted"),
            Slot::Resting(_) => {}
        }
        if self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            anyhow::bail!("the server is stopping");
        }
        let tenant = Arc::new(self.open_tenant(made.id, &made.info, made.home.clone())?);
        if self.started.load(std::sync::atomic::Ordering::SeqCst) {
            tenant.start(self.config.serve_times().retention_sweep);
        }
        *made.slot() = Slot::Open(tenant.clone());
        tracing::debug!(org = %made.id.to18(), "An idle org was opened again.");
        Ok(tenant)
    }

    /// Unloads every org on disk that has been idle for `idle` with nothing under way
    /// (no request, stream, Streaming API session, Bulk job or test control); how many.
    pub(crate) fn unload_idle(&self, idle: Duration) -> usize {
        let mut unloaded = 0;
        for made in self.made() {
            if matches!(made.home, Home::Memory(_)) || !made.idle_for(idle) {
                continue;
            }
            let _transition = made.transition();
            let tenant = {
                let mut slot = made.slot();
                let Slot::Open(tenant) = &*slot else {
                    continue;
                };
                // Only this slot holds it (a request's copy is taken under the same lock).
                if Arc::strong_count(tenant) > 1 || !made.idle_for(idle) || !tenant.quiet() {
                    continue;
                }
                let resting = Resting::of(tenant);
                let Slot::Open(tenant) = std::mem::replace(&mut *slot, Slot::Resting(resting))
                else {
                    continue;
                };
                tenant
            };
            close(made.id, tenant);
            unloaded += 1;
        }
        if unloaded > 0 {
            tracing::debug!(unloaded, "Idle orgs were unloaded.");
        }
        unloaded
    }

    /// Unloads idle orgs every quarter of `idle` (at least every second, at most every
    /// minute), while the server runs.
    pub(crate) fn unload_when_idle(self: &Arc<Self>, idle: Duration) {
        let every = (idle / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
        let tenants = self.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let t = tenants.clone();
                let _ = tokio::task::spawn_blocking(move || t.unload_idle(idle)).await;
            }
        });
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
    }

    /// Makes an org named `name` (its id when none) from `config`.
    pub(crate) fn create(
        &self,
        name: Option<String>,
        config: OrgConfig,
    ) -> Result<(Arc<Made>, Arc<Tenant>), String> {
        let _making = self.making.lock().unwrap_or_else(|e| e.into_inner());
        if self.orgs.read().unwrap_or_else(|e| e.into_inner()).len() >= MAX_ORGS {
            return Err(format!(
                "This server holds the most orgs it may ({MAX_ORGS}); delete one first."
            ));
        }
        let id = forcebus_org::org::new_org_id();
        let name = name.unwrap_or_else(|| id.to18());
        if name.trim().is_empty() || name.chars().count() > 80 {
            return Err("name must have 1 to 80 characters".into());
        }
        // A generated user is written down, so its password holds after a restart.
        let users = config
            .users
            .clone()
            .unwrap_or_else(|| vec![default_user(id)]);
        let info = OrgInfo {
            name,
            created: forcebus_org::clock::format_datetime(self.default.org.clock().now()),
            config: OrgConfig {
                users: Some(users.clone()),
                ..config
            },
            block: self.free_block(),
        };
        if users.is_empty() {
            return Err("config.users must name at least one user".into());
        }
        for u in &users {
            let taken = self.default.org.user_by_username(&u.username).is_some()
                || self.by_username(&u.username).is_some();
            if taken {
                return Err(format!(
                    "The username {} is taken by another org: usernames are unique across the server.",
                    u.username
                ));
            }
        }
        let home = match &self.root {
            Some(root) => {
                let dir = root.join(id.to18());
                write_info(&dir, &info)
                    .map_err(|e| format!("cannot write the org's directory: {e:#}"))?;
                Home::Dir(dir)
            }
            None => Home::Memory(std::env::temp_dir().join(format!(
                "forcebus-bulk-{}-{}",
                std::process::id(),
                id.to18()
            ))),
        };
        let tenant = self
            .open_tenant(id, &info, home.clone())
            .and_then(|mut t| {
                let user = RecordId::parse(&t.admin_id).context("the default user's id")?;
                t.access_token = t.auth.issue(user, false)?.access_token;
                Ok(t)
            })
            .map_err(|e| {
                if let Home::Dir(dir) = &home {
                    let _ = std::fs::remove_dir_all(dir);
                }
                format!("{e:#}")
            })?;
        if self.started.load(std::sync::atomic::Ordering::SeqCst) {
            tenant.start(self.config.serve_times().retention_sweep);
        }
        let tenant = Arc::new(tenant);
        self.insert(id, Made::new(id, info, home, tenant.clone()));
        Ok((self.by_id(id.as15()).expect("just inserted"), tenant))
    }

    /// A block of the record counter no org holds.
    fn free_block(&self) -> u64 {
        use rand::Rng as _;
        let taken: std::collections::HashSet<u64> =
            self.made().iter().map(|m| m.info.block).collect();
        let mut rng = rand::thread_rng();
        loop {
            let b = rng.gen_range(1..BLOCKS);
            if !taken.contains(&b) {
                return b;
            }
        }
    }

    /// Deletes the org `id`: its tokens stop working at once, its streams end, its data
    /// leaves the disk. `Ok(false)` when there is no such org made at run time.
    pub(crate) fn delete(&self, id: &str) -> anyhow::Result<bool> {
        let Some(key) = RecordId::parse(id).map(|i| i.as15().to_owned()) else {
            return Ok(false);
        };
        let Some(made) = self
            .orgs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key)
        else {
            return Ok(false);
        };
        // Never opened again, even by a request that found it before.
        let transition = made.transition();
        let open = std::mem::replace(&mut *made.slot(), Slot::Deleted);
        let tenant = match open {
            Slot::Open(t) => Some(t),
            Slot::Resting(_) | Slot::Deleted => None,
        };
        if let Some(t) = &tenant {
            t.stop_streams();
        }
        if let Home::Dir(dir) = &made.home {
            crate::datadir::private_options()
                .write(true)
                .create(true)
                .truncate(true)
                .open(dir.join("deleted"))
                .and_then(|f| f.sync_all())
                .context("cannot mark the org deleted")?;
        }
        if let Some(t) = &tenant {
            t.stop();
        }
        let home = made.home.clone();
        drop(transition);
        drop((tenant, made));
        match home {
            Home::Dir(dir) | Home::Memory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        Ok(true)
    }
}

/// Longest an unloaded org's last references (its aborted sweeps, dropped by the runtime)
/// are waited for before the org may open again.
const CLOSE_WAIT: Duration = Duration::from_secs(30);

/// Stops an org taken out of its slot and waits until nothing holds it (its database
/// closed), so the next open is the only one. Blocking.
fn close(id: RecordId, tenant: Arc<Tenant>) {
    tenant.stop_streams();
    tenant.stop();
    let org = Arc::downgrade(&tenant.org);
    drop(tenant);
    let deadline = std::time::Instant::now() + CLOSE_WAIT;
    while org.strong_count() > 0 {
        if std::time::Instant::now() > deadline {
            tracing::warn!(org = %id.to18(), "An unloaded org is still held after {CLOSE_WAIT:?}.");
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The user an org gets when its config names none: `admin@<orgId>.forcebus.local`, a
/// random password.
fn default_user(id: RecordId) -> UserConfig {
    UserConfig {
        username: format!("admin@{}.forcebus.local", id.as15().to_ascii_lowercase()),
        password: crate::secrets::random_text(16),
        security_token: None,
        first_name: "Admin".to_owned(),
        last_name: "User".to_owned(),
        email: None,
    }
}

/// Creates `dir` and writes `org.json` into it (whole, then renamed into place).
fn write_info(dir: &std::path::Path, info: &OrgInfo) -> anyhow::Result<()> {
    crate::datadir::create_private_dir(dir)?;
    let tmp = dir.join("org.json.tmp");
    {
        use std::io::Write as _;
        let mut f = crate::datadir::private_options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(info)?)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join("org.json"))?;
    Ok(())
}
