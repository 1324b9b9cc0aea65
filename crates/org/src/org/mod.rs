//! The org: its identity, its schema, the committed state, and the parts every feature
//! reaches through it (the event log, the event schemas, the platform event definitions,
//! the active PushTopics).
//!
//! This folder is the org's facade: each file one `impl Org` for one concern, over the
//! domain modules of the crate, which know nothing of `Org` (so they import no facade):
//! [`commit`] (the one writer), [`query`] (SOQL), [`channels`] (what a channel name
//! shows), `platform_events` and `publish` (definitions and publishing), `topics`
//! (PushTopics), `generic` (generic streaming), [`users`], [`subscriptions`],
//! [`organization`] (the org's own row), [`control`] (the test controls), [`seen`] (what
//! each user viewed), `record_types` (the record types declared, and an object's first),
//! [`access`] (each user's access, the standard profiles and declared permission sets made
//! at start), [`event_settings`] (channels, their members and managed subscriptions, from their
//! Metadata), `reset` (an org emptied), [`underway`] (writes under way, the org's close,
//! its usernames for a watcher), `blobs` (blob fields' bytes and uploads), [`seeds`] (the
//! records the org makes when it is born).
//!
//! [`schema`] is a room of its own: the schema changed while the org runs (custom objects
//! and fields made, changed, renamed and deleted; a Metadata API [`deploy`], applied
//! whole or not at all; the components a deploy keeps as sent).

pub mod access;
pub(crate) mod blobs;
pub mod channels;
pub mod commit;
pub mod control;
mod declared_access;
pub mod event_settings;
mod generic;
pub mod organization;
pub mod permission_sets;
mod platform_events;
mod publish;
pub mod query;
mod record_types;
mod reset;
pub mod schema;
pub mod seeds;
pub mod seen;
pub mod subscriptions;
mod topics;
pub mod underway;
pub mod users;

pub use schema::deploy;

use forcebus_sync::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use rand::Rng;

use forcebus_events::{EventSchema, Schemas};
use forcebus_store::{Batch, Store, StoreError};

use crate::clock::{Clock, ControlledClock};
use crate::id::{INSTANCE, RecordId};
use crate::meta::{ObjectDef, Schema};
use crate::record::Record;
use crate::state::{ORG, State};
use crate::users::UserSeed;

/// How the org runs: its event log and change data capture.
#[derive(Debug, Clone, Default)]
pub struct OrgOptions {
    /// Event log settings.
    pub log: forcebus_eventlog::LogConfig,
    /// CDC settings.
    pub cdc: crate::cdc::CdcConfig,
    /// Platform events declared in the config file (created or replaced at start).
    pub platform_events: std::collections::BTreeMap<String, crate::platform::EventConfig>,
    /// How the org describes itself (`Organization`).
    pub profile: organization::OrgProfile,
    /// The id to take on first start (a random one when unset); a stored id wins.
    pub id: Option<RecordId>,
    /// Where the record counter starts on first start, so orgs of one server mint
    /// distinct record ids (each its own block of the counter).
    pub first_record: u64,
    /// Record types declared for objects (config, project, mirrored describes): made at
    /// start when the org has none of that developer name.
    pub record_types: std::collections::BTreeMap<String, Vec<crate::custom::RecordTypeConfig>>,
    /// Permission sets declared (config, project): made or brought up to date at start.
    pub permission_sets: Vec<crate::access::declared::PermissionSetConfig>,
    /// Sharing rules declared (a project's `sharingRules/`).
    pub sharing_rules: Vec<crate::access::rules::SharingRuleConfig>,
    /// Profiles declared (a project's `profiles/`), each by its name with what it grants:
    /// a standard profile's own set brought up to date, a custom profile made, at start
    /// (before users are given theirs).
    pub profiles: Vec<crate::access::declared::PermissionSetConfig>,
    /// Permission set groups declared (a project's `permissionsetgroups/`): made with
    /// their components at start, after the permission sets.
    pub permission_set_groups: Vec<crate::access::declared::PermissionSetGroupConfig>,
}

/// One Salesforce org.
#[derive(Debug)]
pub struct Org {
    id: RecordId,
    name: String,
    /// The current schema, swapped whole on a change. A version lives while anything holds
    /// it (a transaction, a compiled PushTopic, a request); a version costs an index, the
    /// objects being shared.
    schema: RwLock<Arc<Schema>>,
    pub(crate) store: Arc<dyn Store>,
    /// The org's clock: `controlled_clock`, as the trait object callers share.
    clock: Arc<dyn Clock>,
    controlled_clock: Arc<ControlledClock>,
    /// The test controls' switches.
    controls: crate::control::Controls,
    state: RwLock<State>,
    /// Serialises transactions: held from validation to the in-memory apply.
    pub(crate) writer: Mutex<()>,
    /// The event log every event goes to.
    log: Arc<forcebus_eventlog::EventLog>,
    pub(crate) cdc: crate::cdc::CdcConfig,
    /// Change-event schema id per object, for the current schema.
    pub(crate) change_schema_ids: RwLock<HashMap<String, String>>,
    /// Every event schema ever issued, by id.
    schemas: Schemas,
    /// Platform event definitions; replaced whole when one changes.
    pub(crate) platform: RwLock<Arc<crate::platform::Registry>>,
    /// Serialises changes to definitions.
    pub(crate) definer: Mutex<()>,
    /// Active PushTopics, compiled; rebuilt when a `PushTopic` changes.
    pub(crate) topics: RwLock<Arc<crate::pushtopic::Topics>>,
    /// What each user has viewed and referenced.
    views: Mutex<seen::Views>,
    /// The schema changes made at runtime, as stored.
    runtime_schema: Mutex<crate::runtime_schema::RuntimeSchema>,
    /// Where this org's range of the id counters starts (`OrgOptions::first_record`): ids
    /// it mints from counters of its own are no other org's.
    id_base: u64,
    /// Writes under way, and who hears when the org closes or its users change.
    lifecycle: underway::Lifecycle,
    /// The Metadata components kept as deployed ([`crate::components`]).
    components: RwLock<schema::Components>,
    /// The schema's formulas, compiled for the version they name (recompiled on the first
    /// use of a new version).
    formulas: RwLock<Arc<crate::formulas::Formulas>>,
    /// Each user's access, worked out when first needed and forgotten when a record it
    /// is read from changes ([`access`]).
    access: RwLock<crate::FastMap<RecordId, Arc<crate::access::Access>>>,
    /// The sharing rules declared at start.
    pub(crate) sharing_rules: Vec<crate::access::rules::SharingRuleConfig>,
    /// The last commit of the org's own access records, not waited for at start; a user
    /// made for a test waits for it before it is answered.
    pub(crate) last_seed: Mutex<Option<forcebus_eventlog::Commit>>,
}

/// Where every event schema ever issued is kept, by id.
pub(crate) const SCHEMAS: &str = "schema";

impl Org {
    /// Loads the org from `store` with default options.
    pub fn open(
        store: Arc<dyn Store>,
        schema: Schema,
        clock: Arc<dyn Clock>,
        name: &str,
        users: &[UserSeed],
    ) -> Result<Self, StoreError> {
        Self::open_with(store, schema, clock, name, users, OrgOptions::default())
    }

    /// Loads the org from `store`, creating its identity and seed users on first start.
    pub fn open_with(
        store: Arc<dyn Store>,
        schema: Schema,
        clock: Arc<dyn Clock>,
        name: &str,
        users: &[UserSeed],
        options: OrgOptions,
    ) -> Result<Self, StoreError> {
        Self::drop_stale_uploads(store.as_ref())?;
        let mut runtime = schema::stored_runtime(store.as_ref())?;
        runtime.id_base = options.first_record;
        let mut schema = schema;
        runtime.apply(&mut schema);
        let schema = Arc::new(schema);
        let values: HashMap<String, String> = store.load_values(ORG)?.into_iter().collect();
        let mut state = State::load(store.as_ref(), &schema, &values)?;
        if !values.contains_key("next_id") {
            state.next_id = state.next_id.max(options.first_record);
        }
        let log = Arc::new(forcebus_eventlog::EventLog::open(
            store.clone(),
            forcebus_eventlog::LogConfig {
                family: crate::channels::family,
                ..options.log
            },
        )?);
        let schemas = Schemas::new(store.load_values(SCHEMAS)?.into_iter().collect());
        let change_schema_ids = register_change_schemas(&schema, &schemas);
        let views = seen::Views::load(store.load_values(seen::SEEN)?);
        let kept = schema::load_components(store.as_ref())?;
        let controlled_clock = Arc::new(ControlledClock::new(
            clock,
            control::stored_shift(store.as_ref())?,
        ));
        let org = Self {
            id: identity(store.as_ref(), &values, options.id)?,
            name: name.to_owned(),
            schema: RwLock::new(schema.clone()),
            store,
            clock: controlled_clock.clone(),
            controlled_clock,
            controls: crate::control::Controls::default(),
            state: RwLock::new(state),
            writer: Mutex::new(()),
            log,
            cdc: options.cdc,
            change_schema_ids: RwLock::new(change_schema_ids),
            schemas,
            platform: RwLock::new(Arc::default()),
            definer: Mutex::new(()),
            topics: RwLock::new(Arc::default()),
            views: Mutex::new(views),
            runtime_schema: Mutex::new(runtime),
            id_base: options.first_record,
            lifecycle: underway::Lifecycle::default(),
            components: RwLock::new(kept),
            formulas: RwLock::new(Arc::new(crate::formulas::Formulas::of(schema.clone()))),
            access: RwLock::default(),
            sharing_rules: options.sharing_rules.clone(),
            last_seed: Mutex::new(None),
        };
        org.rebuild_topics();
        for seed in users {
            org.ensure_user(seed)?;
        }
        org.ensure_standard_profiles()?;
        org.ensure_profiles(&options.profiles)?;
        org.ensure_permission_sets(&options.permission_sets)?;
        org.ensure_permission_set_groups(&options.permission_set_groups)?;
        org.ensure_user_access(users)?;
        org.ensure_standard_price_book()?;
        org.ensure_default_business_hours()?;
        org.ensure_record_types(&options.record_types)?;
        org.heal_record_types()?;
        org.load_platform_events(&options.platform_events)?;
        org.install_organization_row(&options.profile);
        // The access records' commits are durable with the next one; nothing waits here.
        org.last_seed.locked().take();
        Ok(org)
    }

    /// The event log.
    pub fn log(&self) -> &Arc<forcebus_eventlog::EventLog> {
        &self.log
    }

    /// Every event schema the org ever issued, by id: events render in theirs.
    pub fn schemas(&self) -> &Schemas {
        &self.schemas
    }

    /// Every object's change-event schema id, in the current schema.
    pub(crate) fn change_schema_ids(&self) -> RwLockReadGuard<'_, HashMap<String, String>> {
        self.change_schema_ids.read_locked()
    }

    /// The change-event schema id of an object, in the current schema.
    pub fn change_schema_id(&self, object: &str) -> Option<String> {
        self.change_schema_ids.read_locked().get(object).cloned()
    }

    /// The org id.
    pub fn id(&self) -> RecordId {
        self.id
    }

    /// The `n`-th id with `prefix` of a counter of the caller's (Bulk jobs, deploys): in
    /// this org's range, so no other org of the server mints the same id.
    pub fn mint(&self, prefix: &str, n: u64) -> RecordId {
        RecordId::mint(prefix, self.id_base + n)
    }

    /// The org's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The object metadata, as it is now (a schema change makes a new version; the one
    /// returned stays valid while it is held).
    pub fn schema(&self) -> Arc<Schema> {
        self.schema.read_locked().clone()
    }

    /// The formulas of `schema` (a version from [`Org::schema`]), compiled once for it.
    pub fn formulas(&self, schema: &Arc<Schema>) -> Arc<crate::formulas::Formulas> {
        let known = self.formulas.read_locked().clone();
        if Arc::ptr_eq(known.schema(), schema) {
            return known;
        }
        let compiled = Arc::new(crate::formulas::Formulas::of(schema.clone()));
        let mut slot = self.formulas.write_locked();
        // The newest version wins the slot; an older one is compiled for its caller alone.
        if Arc::ptr_eq(&self.schema(), schema) {
            *slot = compiled.clone();
        }
        compiled
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read_locked()
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write_locked()
    }

    /// A record by id, deleted or not.
    pub fn get(&self, id: RecordId) -> Option<Record> {
        self.read().records.get(&id).cloned()
    }

    /// How many records the org holds (the recycle bin's left out).
    pub fn record_count(&self) -> usize {
        self.read()
            .records
            .values()
            .filter(|r| !r.is_deleted)
            .count()
    }

    /// Applies `f` to every record of `object` (canonical name), in creation order,
    /// collecting what it returns.
    pub fn scan<R>(&self, object: &str, f: impl FnMut(&Record) -> Option<R>) -> Vec<R> {
        self.read().of(object).filter_map(f).collect()
    }

    /// Whether an object publishes change events: every non-tooling object when the config
    /// selects none, otherwise the configured ones plus those selected at runtime on the
    /// standard channel (a `PlatformEventChannelMember` of `ChangeEvents`).
    pub fn selected(&self, object: &ObjectDef) -> bool {
        self.selected_in(&self.read(), object)
    }

    /// [`Org::selected`] against a state the caller already holds.
    pub(crate) fn selected_in(&self, state: &State, object: &ObjectDef) -> bool {
        if object.tooling || !object.change_events {
            return false;
        }
        let Some(list) = &self.cdc.entities else {
            return true;
        };
        let entity = forcebus_events::change::entity_name_of(object);
        list.iter().any(|e| e.eq_ignore_ascii_case(&object.name))
            || state.of("PlatformEventChannelMember").any(|m| {
                !m.is_deleted
                    && m.get_str("EventChannel") == Some("ChangeEvents")
                    && m.get_str("SelectedEntity") == Some(entity.as_str())
            })
    }
}

/// The org id: stored on first start, read back after.
fn identity(
    store: &dyn Store,
    values: &HashMap<String, String>,
    wanted: Option<RecordId>,
) -> Result<RecordId, StoreError> {
    if let Some(id) = values.get("id").and_then(|v| RecordId::parse(v)) {
        return Ok(id);
    }
    let id = wanted.unwrap_or_else(new_org_id);
    let mut b = Batch::new();
    b.put(ORG, "id", Some(id.to18()));
    store.commit(&b)?;
    Ok(id)
}

/// A new org id: `00D`, the instance, nine random characters.
#[must_use]
pub fn new_org_id() -> RecordId {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    let tail: String = (0..9).map(|_| B62[rng.gen_range(0..62)] as char).collect();
    RecordId::parse(&format!("00D{INSTANCE}{tail}")).expect("15 alphanumerics")
}

/// The change-event schema id of every object that has change events. The texts are
/// known at once and stored with the first event that names them (a schema ever written
/// with an event stays resolvable by id, across config changes).
fn register_change_schemas(schema: &Schema, schemas: &Schemas) -> HashMap<String, String> {
    let mut ids = HashMap::new();
    for o in schema.objects().filter(|o| o.change_events && !o.tooling) {
        let Some(shared) = schema.object_shared(&o.name) else {
            continue;
        };
        let s = EventSchema::for_shared_object(&shared);
        schemas.add_unstored(&s);
        ids.insert(o.name.clone(), s.id().to_owned());
    }
    ids
}
