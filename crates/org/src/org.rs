//! The org: identity, schema, the committed records, and the one writer that turns
//! operations into committed transactions.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::{Map, Value};

use forcebus_store::{Batch, Store, StoreError, StoredRecord, Write};

use crate::clock::Clock;
use crate::error::{OrgError, StatusCode};
use crate::id::{INSTANCE, RecordId};
use crate::meta::{ObjectDef, Schema};
use crate::record::{Body, Record};
use crate::txn::{Op, Outcome, Txn};

/// Which API a change came through, for the change origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// The REST API.
    Rest,
    /// The SOAP partner API.
    Soap,
}

/// Who is making a change, and how.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The acting user.
    pub user_id: RecordId,
    /// The API used.
    pub api: Api,
    /// The API version of the call, e.g. `59.0`.
    pub version: String,
    /// `client=` of `Sforce-Call-Options` (REST) or `CallOptions` (SOAP).
    pub client: Option<String>,
}

impl Caller {
    /// The CDC `changeOrigin`: `com/salesforce/api/rest/59.0;client=etl`.
    pub fn change_origin(&self) -> String {
        let api = match self.api {
            Api::Rest => "rest",
            Api::Soap => "soap",
        };
        match &self.client {
            Some(c) => format!("com/salesforce/api/{api}/{};client={c}", self.version),
            None => format!("com/salesforce/api/{api}/{}", self.version),
        }
    }
}

/// A user to create on first start if no user has its username.
#[derive(Debug, Clone)]
pub struct UserSeed {
    /// Login name.
    pub username: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email address.
    pub email: String,
}

/// What a committed transaction was, for change events to join.
#[derive(Debug, Clone)]
pub struct Committed {
    /// UUID-shaped key shared by everything the transaction changed.
    pub transaction_key: String,
    /// `changeOrigin` of the caller.
    pub change_origin: String,
    /// Commit time.
    pub commit_timestamp: DateTime<Utc>,
    /// Records whose state changed, in first-touch order.
    pub records: Vec<RecordId>,
    /// The change events the transaction appended, in order.
    pub events: Vec<Arc<forcebus_eventlog::Event>>,
}

/// How the org runs: its event log and change data capture.
#[derive(Debug, Clone, Default)]
pub struct OrgOptions {
    /// Event log settings.
    pub log: forcebus_eventlog::LogConfig,
    /// CDC settings.
    pub cdc: crate::cdc::CdcConfig,
    /// Platform events declared in the config file (created or replaced at start).
    pub platform_events: std::collections::BTreeMap<String, crate::platform::EventConfig>,
}

/// The result of [`Org::execute`].
#[derive(Debug)]
pub struct TxnResult {
    /// One result per operation, in request order.
    pub results: Vec<Result<Outcome, OrgError>>,
    /// The committed transaction, when anything was written.
    pub committed: Option<Committed>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) records: HashMap<RecordId, Record>,
    /// Equality indexes on reference and external-id fields.
    pub(crate) indexes: crate::query::Indexes,
    /// Ids per canonical object name, in id (creation) order.
    pub(crate) by_object: HashMap<String, BTreeSet<RecordId>>,
    pub(crate) next_id: u64,
    pub(crate) next_case: u64,
    /// The last transaction's commit number.
    pub(crate) commit_number: i64,
}

impl State {
    fn insert(&mut self, schema: &Schema, r: Record) {
        self.remove(schema, &r.id);
        self.by_object
            .entry(r.object.clone())
            .or_default()
            .insert(r.id);
        self.indexes.add(schema, &r);
        self.records.insert(r.id, r);
    }

    fn remove(&mut self, schema: &Schema, id: &RecordId) {
        if let Some(r) = self.records.remove(id) {
            self.indexes.remove(schema, &r);
            if let Some(ids) = self.by_object.get_mut(&r.object) {
                ids.remove(id);
            }
        }
    }
}

/// One Salesforce org.
#[derive(Debug)]
pub struct Org {
    id: RecordId,
    name: String,
    pub(crate) schema: &'static Schema,
    pub(crate) store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    state: RwLock<State>,
    /// Serialises transactions: held from validation to the in-memory apply.
    writer: Mutex<()>,
    /// The event log change events go to.
    pub(crate) log: Arc<forcebus_eventlog::EventLog>,
    cdc: crate::cdc::CdcConfig,
    /// Change-event schema id per object.
    schema_ids: HashMap<String, String>,
    /// Every schema written, as JSON text, by id.
    pub(crate) schemas_by_id: RwLock<HashMap<String, String>>,
    /// Schemas read back from `schemas_by_id`, for rendering events published with them.
    pub(crate) parsed_schemas: Mutex<HashMap<String, Arc<forcebus_avro::Schema>>>,
    /// Platform event definitions; replaced whole when one changes.
    pub(crate) platform: RwLock<Arc<crate::platform::Registry>>,
    /// Serialises changes to definitions.
    pub(crate) definer: Mutex<()>,
    /// Active PushTopics, compiled; rebuilt when a `PushTopic` changes.
    topics: RwLock<Arc<crate::pushtopic::Topics>>,
    /// Who is subscribed where (generic streaming's push results).
    pub(crate) presence: RwLock<Option<crate::generic::Presence>>,
    /// Waits for durability on behalf of async callers.
    sync: crate::durable::SyncService,
}

pub(crate) const SCHEMAS: &str = "schema";

/// Commit numbers start here, so they look like Salesforce's system change numbers.
const COMMIT_NUMBER_BASE: i64 = 10_000_000_000_000;

const ORG: &str = "org";

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
        // The schema is fixed for the life of the process; SOQL plans kept across
        // transactions (PushTopic queries) borrow it.
        let schema: &'static Schema = Box::leak(Box::new(schema));
        let mut state = State::default();
        for row in store.load_records()? {
            if let Some(r) = decode(&row) {
                state.insert(schema, r);
            }
        }
        let values: HashMap<String, String> = store.load_values(ORG)?.into_iter().collect();
        state.next_id = values
            .get("next_id")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        state.next_case = values
            .get("next_case")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        state.commit_number = values
            .get("commit_number")
            .and_then(|v| v.parse().ok())
            .unwrap_or(COMMIT_NUMBER_BASE);
        let log = Arc::new(forcebus_eventlog::EventLog::open(
            store.clone(),
            options.log,
        )?);
        let schema_ids = crate::cdc::schema_ids(schema);
        // Every schema ever written stays resolvable by id, across config changes.
        let mut schemas_by_id: HashMap<String, String> =
            store.load_values(SCHEMAS)?.into_iter().collect();
        let mut new_schemas = Batch::new();
        for o in schema.objects() {
            let s = forcebus_avro::change::change_event_schema(o);
            let id = forcebus_avro::schema_id(&s);
            if let std::collections::hash_map::Entry::Vacant(slot) = schemas_by_id.entry(id) {
                let text = s.to_json().to_string();
                new_schemas.put(SCHEMAS, slot.key(), Some(text.clone()));
                slot.insert(text);
            }
        }
        if !new_schemas.is_empty() {
            store.commit(&new_schemas)?;
        }
        let id = match values.get("id").and_then(|v| RecordId::parse(v)) {
            Some(id) => id,
            None => {
                let id = mint_org_id();
                let mut b = Batch::new();
                b.put(ORG, "id", Some(id.to18()));
                store.commit(&b)?;
                id
            }
        };
        let org = Self {
            id,
            name: name.to_owned(),
            schema,
            store,
            clock,
            state: RwLock::new(state),
            writer: Mutex::new(()),
            log,
            cdc: options.cdc,
            schema_ids,
            schemas_by_id: RwLock::new(schemas_by_id),
            parsed_schemas: Mutex::new(HashMap::new()),
            platform: RwLock::new(Arc::default()),
            definer: Mutex::new(()),
            topics: RwLock::new(Arc::default()),
            presence: RwLock::new(None),
            sync: crate::durable::SyncService::default(),
        };
        org.rebuild_topics();
        for seed in users {
            org.ensure_user(seed)?;
        }
        org.load_platform_events(&options.platform_events)?;
        Ok(org)
    }

    /// The event log.
    pub fn log(&self) -> &Arc<forcebus_eventlog::EventLog> {
        &self.log
    }

    /// Whether an object publishes change events: every non-tooling object when the config
    /// selects none, otherwise the configured ones plus those selected at runtime on the
    /// standard channel (a `PlatformEventChannelMember` of `ChangeEvents`).
    pub fn selected(&self, object: &ObjectDef) -> bool {
        self.selected_in(&self.read(), object)
    }

    /// [`Org::selected`] against a state the caller already holds.
    fn selected_in(&self, state: &State, object: &ObjectDef) -> bool {
        if object.tooling || !object.change_events {
            return false;
        }
        let Some(list) = &self.cdc.entities else {
            return true;
        };
        let entity = crate::cdc::entity_name_of(object);
        list.iter().any(|e| e.eq_ignore_ascii_case(&object.name))
            || state
                .by_object
                .get("PlatformEventChannelMember")
                .into_iter()
                .flatten()
                .filter_map(|id| state.records.get(id))
                .any(|m| {
                    !m.is_deleted
                        && m.get_str("EventChannel") == Some("ChangeEvents")
                        && m.get_str("SelectedEntity") == Some(entity.as_str())
                })
    }

    /// The log channel behind a CDC channel name: `/data/ChangeEvents` (every selected
    /// entity) or `/data/<Entity>ChangeEvent` (one selected entity).
    pub fn change_channel(&self, name: &str) -> Option<forcebus_eventlog::Channel> {
        let entity = name.strip_prefix("/data/")?;
        if entity.ends_with("__chn") {
            let members = self.scan("PlatformEventChannelMember", |r| {
                crate::cdc::Member::from_record(r).filter(|m| m.channel == entity)
            });
            if members.is_empty()
                && self
                    .scan("PlatformEventChannel", |r| {
                        (!r.is_deleted
                            && entity.strip_suffix("__chn") == r.get_str("DeveloperName"))
                        .then_some(())
                    })
                    .is_empty()
            {
                return None;
            }
            let channel = entity.to_owned();
            let filter: forcebus_eventlog::Filter =
                std::sync::Arc::new(move |e: &forcebus_eventlog::Event| {
                    let names = e.encoded("channels", |e| {
                        let doc: Option<crate::cdc::ChangeEvent> =
                            serde_json::from_slice(&e.payload).ok();
                        doc.map(|d| d.channels.join("\n"))
                            .unwrap_or_default()
                            .into_bytes()
                            .into()
                    });
                    names
                        .split(|b| *b == b'\n')
                        .any(|n| n == channel.as_bytes())
                });
            return Some(forcebus_eventlog::Channel {
                kinds: members.into_iter().map(|m| m.entity).collect(),
                class: crate::cdc::CLASS_EVENTS,
                filter: Some(filter),
            });
        }
        let selected: Vec<&ObjectDef> = self
            .schema
            .objects()
            .iter()
            .filter(|o| self.selected(o))
            .collect();
        let kinds: std::collections::HashSet<String> = if entity == "ChangeEvents" {
            selected
                .iter()
                .map(|o| crate::cdc::entity_name_of(o))
                .collect()
        } else {
            let o = selected
                .into_iter()
                .find(|o| crate::cdc::entity_name_of(o) == entity)?;
            [crate::cdc::entity_name_of(o)].into()
        };
        Some(forcebus_eventlog::Channel {
            kinds,
            class: crate::cdc::CLASS_EVENTS,
            filter: None,
        })
    }

    /// A schema by id (current or from earlier runs), as JSON.
    pub fn schema_by_id(&self, id: &str) -> Option<serde_json::Value> {
        self.schemas_by_id
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .and_then(|t| serde_json::from_str(t).ok())
    }

    /// The change-event schema id of an object.
    pub fn change_schema_id(&self, object: &str) -> Option<&str> {
        self.schema_ids.get(object).map(String::as_str)
    }

    /// The org id.
    pub fn id(&self) -> RecordId {
        self.id
    }

    /// The org's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The object metadata.
    pub fn schema(&self) -> &Schema {
        self.schema
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A record by id, deleted or not.
    pub fn get(&self, id: RecordId) -> Option<Record> {
        self.read().records.get(&id).cloned()
    }

    /// Applies `f` to every record of `object` (canonical name), in creation order,
    /// collecting what it returns.
    pub fn scan<R>(&self, object: &str, mut f: impl FnMut(&Record) -> Option<R>) -> Vec<R> {
        let state = self.read();
        let Some(ids) = state.by_object.get(object) else {
            return Vec::new();
        };
        ids.iter()
            .filter_map(|id| state.records.get(id))
            .filter_map(&mut f)
            .collect()
    }

    /// Live records of `object` whose `field` equals `value`, as an upsert would match them.
    pub fn find_by_external_id(
        &self,
        object: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<RecordId>, OrgError> {
        let def = self
            .schema
            .object(object)
            .ok_or_else(|| OrgError::no_such_object(object))?;
        let f = def
            .field(field)
            .filter(|f| f.external_id || f.name == "Id")
            .ok_or_else(|| OrgError::not_an_external_id(field))?;
        if f.name == "Id" {
            let live = RecordId::parse(value)
                .and_then(|id| self.get(id))
                .filter(|r| !r.is_deleted && r.object == def.name);
            return Ok(live.map(|r| r.id).into_iter().collect());
        }
        let caller = Caller {
            user_id: self.id,
            api: Api::Rest,
            version: String::new(),
            client: None,
        };
        let state = self.read();
        let txn = Txn::new(self, &state, &caller, self.clock.now());
        Ok(txn.matching(def, f, value))
    }

    /// What a query evaluates against: now, the API version of record URLs, and whether
    /// the Recycle Bin counts.
    fn query_context(&self, version: &str, all_rows: bool) -> forcebus_soql::Context {
        forcebus_soql::Context {
            now: self.clock.now(),
            version: version.to_owned(),
            all_rows,
        }
    }

    /// Parses and runs a SOQL query. `all_rows` includes the Recycle Bin (`queryAll`);
    /// `visible` limits the objects that may be queried (the tooling API sees fewer).
    pub fn query(
        &self,
        text: &str,
        version: &str,
        all_rows: bool,
        visible: &dyn Fn(&ObjectDef) -> bool,
    ) -> Result<forcebus_soql::Output, forcebus_soql::SoqlError> {
        let plan = forcebus_soql::prepare(text, self.schema, visible)?;
        let ctx = self.query_context(version, all_rows);
        let state = self.read();
        Ok(crate::query::run(&state, self.schema, &plan, &ctx))
    }

    /// Runs a SOQL query for paging: the first `batch` rows shaped, and the ids of all
    /// the rows in order, which is all a cursor needs to keep to shape later pages with
    /// [`Org::query_rows`]. Aggregate queries come back whole, as from [`Org::query`].
    pub fn query_paged(
        &self,
        text: &str,
        version: &str,
        all_rows: bool,
        visible: &dyn Fn(&ObjectDef) -> bool,
        batch: usize,
    ) -> Result<QueryPage, forcebus_soql::SoqlError> {
        let plan = forcebus_soql::prepare(text, self.schema, visible)?;
        let ctx = self.query_context(version, all_rows);
        let state = self.read();
        if plan.aggregate {
            let out = crate::query::run(&state, self.schema, &plan, &ctx);
            return Ok(QueryPage {
                total_size: out.total_size,
                aggregate: true,
                first: out.records,
                ids: Vec::new(),
            });
        }
        let ids = crate::query::select_ids(&state, self.schema, &plan, &ctx);
        let first = crate::query::shape_ids(
            &state,
            self.schema,
            &plan,
            &ctx,
            &ids[..batch.min(ids.len())],
        );
        Ok(QueryPage {
            total_size: ids.len(),
            aggregate: false,
            first,
            ids,
        })
    }

    /// The rows of `ids` as the query `text` shapes them (a later page of
    /// [`Org::query_paged`]).
    pub fn query_rows(
        &self,
        text: &str,
        version: &str,
        all_rows: bool,
        visible: &dyn Fn(&ObjectDef) -> bool,
        ids: &[RecordId],
    ) -> Result<Vec<serde_json::Value>, forcebus_soql::SoqlError> {
        let plan = forcebus_soql::prepare(text, self.schema, visible)?;
        let ctx = self.query_context(version, all_rows);
        let state = self.read();
        Ok(crate::query::shape_ids(
            &state,
            self.schema,
            &plan,
            &ctx,
            ids,
        ))
    }

    /// The `columns=true` description of a query.
    pub fn query_columns(
        &self,
        text: &str,
        visible: &dyn Fn(&ObjectDef) -> bool,
    ) -> Result<serde_json::Value, forcebus_soql::SoqlError> {
        let plan = forcebus_soql::prepare(text, self.schema, visible)?;
        Ok(forcebus_soql::columns::metadata(&plan))
    }

    /// The user with this username (case-insensitive), if any.
    pub fn user_by_username(&self, username: &str) -> Option<Record> {
        self.scan("User", |r| {
            r.get_str("Username")
                .filter(|u| u.eq_ignore_ascii_case(username))
                .map(|_| r.clone())
        })
        .into_iter()
        .next()
    }

    /// Runs `ops` as one transaction. With `all_or_none`, one failure fails them all and
    /// nothing is written. A storage failure fails the whole call and changes nothing.
    pub fn execute(
        &self,
        caller: &Caller,
        ops: Vec<Op>,
        all_or_none: bool,
    ) -> Result<TxnResult, StoreError> {
        self.execute_with(caller, ops, all_or_none, false)
    }

    /// [`Org::execute`], optionally in bulk-load mode: changes bypass change tracking and
    /// subscribers get header-only `GAP_*` events instead.
    pub fn execute_with(
        &self,
        caller: &Caller,
        ops: Vec<Op>,
        all_or_none: bool,
        bulk_load: bool,
    ) -> Result<TxnResult, StoreError> {
        let (result, pending) = self.execute_deferred(caller, ops, all_or_none, bulk_load)?;
        self.finish(pending)?;
        Ok(result)
    }

    /// Waits (blocking) until deferred work is durable, then shows its events.
    pub fn finish(&self, pending: crate::Pending) -> Result<(), StoreError> {
        self.durable(pending.ticket, &pending.events)
    }

    /// [`Org::finish`] for async callers: no thread waits, one syncing thread fsyncs for
    /// all of them.
    pub async fn finish_async(&self, pending: crate::Pending) -> Result<(), StoreError> {
        if pending.ticket > 0 {
            self.sync.wait(&self.store, pending.ticket).await?;
        }
        if let Some(last) = pending.events.last() {
            self.log.publish_through(last.replay_id);
        }
        Ok(())
    }

    /// [`Org::execute_with`] in two steps: this one validates, commits and applies (the
    /// next transaction may start at once), and the result may be acknowledged only after
    /// [`Org::finish`] or [`Org::finish_async`] of the returned [`crate::Pending`].
    pub fn execute_deferred(
        &self,
        caller: &Caller,
        ops: Vec<Op>,
        all_or_none: bool,
        bulk_load: bool,
    ) -> Result<(TxnResult, crate::Pending), StoreError> {
        let nothing = || crate::Pending {
            ticket: 0,
            events: Vec::new(),
        };
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now();
        let state = self.read();
        let mut txn = Txn::new(self, &state, caller, now);
        let mut results: Vec<Result<Outcome, OrgError>> =
            ops.into_iter().map(|op| txn.apply(op)).collect();
        if all_or_none && results.iter().any(Result::is_err) {
            for r in &mut results {
                if r.is_ok() {
                    *r = Err(OrgError::new(
                        StatusCode::AllOrNoneOperationRolledBack,
                        "Record rolled back because not all records were valid and the request \
                         was using AllOrNone header",
                    ));
                }
            }
            return Ok((
                TxnResult {
                    results,
                    committed: None,
                },
                nothing(),
            ));
        }
        if txn.order.is_empty() {
            return Ok((
                TxnResult {
                    results,
                    committed: None,
                },
                nothing(),
            ));
        }
        let Txn {
            overlay,
            order,
            next_id,
            next_case,
            ..
        } = txn;
        let mut batch = Batch::new();
        for id in &order {
            batch.writes.push(match &overlay[id] {
                Some(r) => Write::PutRecord(StoredRecord {
                    id: r.id.as15().to_owned(),
                    object: r.object.clone(),
                    is_deleted: r.is_deleted,
                    body: r.body(),
                }),
                None => Write::PurgeRecord {
                    id: id.as15().to_owned(),
                },
            });
        }
        batch.put(ORG, "next_id", Some(next_id.to_string()));
        batch.put(ORG, "next_case", Some(next_case.to_string()));
        let transaction_key = transaction_key();
        let change_origin = caller.change_origin();
        let commit_number = state.commit_number + 1;
        batch.put(ORG, "commit_number", Some(commit_number.to_string()));
        let new_events = {
            let changes: Vec<crate::cdc::Change<'_>> = order
                .iter()
                .filter_map(|id| {
                    let after = overlay[id].as_ref();
                    let before = state.records.get(id);
                    let object = self
                        .schema
                        .object(&after.or(before)?.object)
                        .filter(|o| self.selected_in(&state, o))?;
                    Some(crate::cdc::Change {
                        object,
                        before,
                        after,
                    })
                })
                .collect();
            let members = state
                .by_object
                .get("PlatformEventChannelMember")
                .into_iter()
                .flatten()
                .filter_map(|id| state.records.get(id))
                .filter_map(crate::cdc::Member::from_record)
                .collect();
            let info = crate::cdc::TxnInfo {
                schema: self.schema,
                members,
                now,
                transaction_key: &transaction_key,
                change_origin: &change_origin,
                commit_timestamp: now.timestamp_millis(),
                commit_number,
                commit_user: caller.user_id.to18(),
            };
            let mut events =
                crate::cdc::events(&changes, &info, &self.schema_ids, &self.cdc, bulk_load);
            events.extend(self.topic_notifications(&state, &overlay, &order, now));
            events
        };
        drop(state);
        let topics_changed = order.iter().any(|id| {
            overlay[id]
                .as_ref()
                .is_none_or(|r| r.object == crate::pushtopic::OBJECT)
        });
        let mut ticket = 0;
        let events = self
            .log
            .append_unpublished(new_events, now.timestamp_millis(), |writes| {
                batch.writes.extend(writes);
                ticket = self.store.commit_unsynced(&batch)?;
                Ok::<_, StoreError>(())
            })?;
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        state.next_id = next_id;
        state.next_case = next_case;
        state.commit_number = commit_number;
        let mut overlay = overlay;
        for id in &order {
            match overlay.remove(id).flatten() {
                Some(r) => state.insert(self.schema, r),
                None => state.remove(self.schema, id),
            }
        }
        drop(state);
        if topics_changed {
            self.rebuild_topics();
        }
        // Group commit: the next transaction may start while this one waits for its fsync;
        // it is acknowledged, and its events published, only once durable.
        drop(_writer);
        let pending = crate::Pending {
            ticket,
            events: events.clone(),
        };
        let committed = Committed {
            transaction_key,
            change_origin,
            commit_timestamp: now,
            records: order,
            events,
        };
        tracing::debug!(
            transaction_key = %committed.transaction_key,
            change_origin = %committed.change_origin,
            records = committed.records.len(),
            "Transaction committed."
        );
        Ok((
            TxnResult {
                results,
                committed: Some(committed),
            },
            pending,
        ))
    }

    fn ensure_user(&self, seed: &UserSeed) -> Result<RecordId, StoreError> {
        if let Some(u) = self.user_by_username(&seed.username) {
            return Ok(u.id);
        }
        let alias: String = seed
            .username
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        let mut fields = Map::new();
        for (k, v) in [
            ("Username", &seed.username),
            ("FirstName", &seed.first_name),
            ("LastName", &seed.last_name),
            ("Email", &seed.email),
            ("Alias", &alias),
            ("CommunityNickname", &seed.username),
        ] {
            fields.insert(k.into(), Value::String(v.clone()));
        }
        // The first user creates itself (its id is the next one minted); later seed users are
        // created by the first.
        let prefix = self
            .schema
            .object("User")
            .map_or("005", |o| o.key_prefix.as_str())
            .to_owned();
        let own_id = RecordId::mint(&prefix, self.read().next_id + 1);
        let actor = self
            .scan("User", |r| Some(r.id))
            .into_iter()
            .next()
            .unwrap_or(own_id);
        let caller = Caller {
            user_id: actor,
            api: Api::Rest,
            version: "59.0".into(),
            client: None,
        };
        let result = self.execute(
            &caller,
            vec![Op::Create {
                object: "User".into(),
                fields,
            }],
            true,
        )?;
        let id = match result.results.into_iter().next() {
            Some(Ok(o)) => o.id(),
            other => panic!("seed user {} is invalid: {other:?}", seed.username),
        };
        debug_assert!(
            actor != own_id || id == own_id,
            "the first user's id was predicted"
        );
        Ok(id)
    }
}

fn decode(row: &StoredRecord) -> Option<Record> {
    let body: Body = match serde_json::from_str(&row.body) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(id = %row.id, error = %e, "Stored record is unreadable; skipped.");
            return None;
        }
    };
    Some(Record {
        id: RecordId::parse(&row.id)?,
        object: row.object.clone(),
        fields: body.fields,
        is_deleted: row.is_deleted,
        deleted_at: body.deleted_at,
        deleted_with: body.deleted_with.as_deref().and_then(RecordId::parse),
    })
}

fn mint_org_id() -> RecordId {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    let tail: String = (0..9).map(|_| B62[rng.gen_range(0..62)] as char).collect();
    RecordId::parse(&format!("00D{INSTANCE}{tail}")).expect("15 alphanumerics")
}

fn transaction_key() -> String {
    crate::new_uuid()
}

impl Org {
    /// Recompiles the active PushTopics from the committed state.
    fn rebuild_topics(&self) {
        let topics = {
            let state = self.read();
            let records = state
                .by_object
                .get(crate::pushtopic::OBJECT)
                .into_iter()
                .flatten()
                .filter_map(|id| state.records.get(id));
            crate::pushtopic::Topics::build(self.schema, records)
        };
        *self.topics.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(topics);
    }

    /// The PushTopic notifications of a transaction's changes.
    fn topic_notifications(
        &self,
        state: &State,
        overlay: &HashMap<RecordId, Option<Record>>,
        order: &[RecordId],
        now: DateTime<Utc>,
    ) -> Vec<forcebus_eventlog::NewEvent> {
        use crate::pushtopic::{CLASS, Operation, changed_fields, kind, notification};
        let topics = self
            .topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if topics.by_object.is_empty() {
            return Vec::new();
        }
        let created_date = now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        let mut out = Vec::new();
        for id in order {
            let after = overlay[id].as_ref();
            let before = state.records.get(id);
            let Some(object) = after.or(before).map(|r| r.object.as_str()) else {
                continue;
            };
            let Some(list) = topics.by_object.get(object) else {
                continue;
            };
            let Some(op) = Operation::of(before, after) else {
                continue;
            };
            let changed = match (op, before, after) {
                (Operation::Updated, Some(b), Some(a)) => changed_fields(b, a),
                _ => Default::default(),
            };
            for t in list {
                if let Some(sobject) = t.matches(op, before, after, &changed, now) {
                    out.push(forcebus_eventlog::NewEvent {
                        kind: kind(&t.name),
                        class: CLASS,
                        payload: notification(op, &created_date, sobject)
                            .to_string()
                            .into_bytes(),
                    });
                }
            }
        }
        out
    }

    /// The log channel behind `/topic/{Name}`, optionally with a filter
    /// (`/topic/{Name}?Field=value&...`, fields of the topic's SELECT).
    pub fn topic_channel(&self, channel: &str) -> Option<forcebus_eventlog::Channel> {
        let rest = channel.strip_prefix("/topic/")?;
        let (name, query) = match rest.split_once('?') {
            Some((n, q)) => (n, Some(q)),
            None => (rest, None),
        };
        let topic = self
            .scan(crate::pushtopic::OBJECT, |r| {
                (!r.is_deleted && r.get_str("Name") == Some(name)).then(|| r.clone())
            })
            .into_iter()
            .next()?;
        let mut channel = forcebus_eventlog::Channel::of(
            &[crate::pushtopic::kind(name).as_str()],
            crate::pushtopic::CLASS,
        );
        if let Some(q) = query {
            let compiled = crate::pushtopic::compile(self.schema, &topic).ok()?;
            let mut pairs = Vec::new();
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                let field = compiled.selected_field(&k)?;
                pairs.push((field, v.into_owned()));
            }
            if pairs.is_empty() {
                return None;
            }
            let filter: forcebus_eventlog::Filter = Arc::new(move |e| {
                let Ok(doc) = serde_json::from_slice::<Value>(&e.payload) else {
                    return false;
                };
                pairs.iter().all(|(f, want)| match doc["sobject"].get(f) {
                    Some(Value::String(s)) => s == want,
                    Some(Value::Null) | None => want == "null",
                    Some(other) => serde_json::to_string(other).is_ok_and(|s| s == *want),
                })
            });
            channel.filter = Some(filter);
        }
        Some(channel)
    }
}

impl Org {
    /// Waits until the commit of `ticket` is durable, then publishes its events.
    pub(crate) fn durable(
        &self,
        ticket: u64,
        events: &[Arc<forcebus_eventlog::Event>],
    ) -> Result<(), StoreError> {
        if let Err(e) = self.store.sync(ticket) {
            tracing::error!(error = %e, "A committed transaction could not be made durable.");
            return Err(e);
        }
        if let Some(last) = events.last() {
            self.log.publish_through(last.replay_id);
        }
        Ok(())
    }
}

/// A paged query's first page and what later pages need.
#[derive(Debug, Clone)]
pub struct QueryPage {
    /// Rows matched (for `COUNT()`, the count).
    pub total_size: usize,
    /// Aggregate rows, which cannot be paged: `first` holds them all.
    pub aggregate: bool,
    /// The first page of rows (every row for aggregates).
    pub first: Vec<serde_json::Value>,
    /// Every selected record's id in order (empty for aggregates).
    pub ids: Vec<RecordId>,
}
