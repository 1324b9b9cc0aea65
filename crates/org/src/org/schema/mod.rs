//! Schema management: the org's schema changed while it runs (`metadata-tooling.md`
//! §12–§14), a room apart from its records and transactions. A change is one store commit
//! (the runtime definitions, the new change-event schemas and, for a deleted field, the
//! records it is cleared from), applied under the writer lock so no transaction straddles
//! it; then describe, SOQL and writes see the new schema at once, the changed objects'
//! change events get a new schema id (every old id stays resolvable), and PushTopics are
//! recompiled.
//!
//! - here: a change's machinery (`Org::change_schema`: a copy of the schema edited,
//!   stored in one commit with what it rewrote, then installed); `changed`: what a change
//!   did, for its own writes;
//! - `custom`: custom objects and fields created and changed (the Tooling API's and the
//!   Metadata API's CRUD calls); `delete`: deleted; `rename`: renamed; `rules`:
//!   validation rules made, changed and deleted (the Tooling API's);
//! - [`deploy`]: a Metadata API deploy's objects, fields, platform events and components,
//!   applied whole or not at all;
//! - `components`: the components kept as deployed, and the Apex records they stand for;
//! - `formulas`: a change whose formulas do not compile refused (a deploy's component
//!   failed).
//!
//! What a declaration says, and whether a field may change, is `forcebus-schema`'s.

mod changed;
mod components;
mod custom;
mod delete;
pub mod deploy;
mod formulas;
mod rename;
mod rules;

pub(crate) use changed::{Changed, Conversion};
pub(crate) use components::{Components, load as load_components};

use forcebus_sync::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

use forcebus_events::EventSchema;
use forcebus_store::{Batch, StoreError, StoredRecord, Write};

use crate::Org;
use crate::error::{Code, OrgError};
use crate::meta::Schema;
use crate::org::SCHEMAS;
use crate::runtime_schema::{RuntimeSchema, STORED};

/// Most record ids one conversion event lists.
const CONVERSION_IDS: usize = 500;

/// The runtime schema as stored.
pub(crate) fn stored_runtime(
    store: &dyn forcebus_store::Store,
) -> Result<RuntimeSchema, StoreError> {
    match store
        .load_values(STORED.0)?
        .into_iter()
        .find(|(k, _)| k == STORED.1)
    {
        Some((_, text)) => RuntimeSchema::parse(&text).map_err(StoreError::Corrupt),
        None => Ok(RuntimeSchema::default()),
    }
}

impl Org {
    /// Runs a schema change: `change` edits a copy of the schema and of the runtime
    /// definitions (and may read the records); the result is stored in one commit (with
    /// the change events a conversion publishes), then becomes the org's schema.
    pub(crate) fn change_schema<T>(
        &self,
        change: impl FnOnce(
            &mut Schema,
            &mut RuntimeSchema,
            &crate::state::State,
        ) -> Result<(T, Changed), OrgError>,
    ) -> Result<T, OrgError> {
        let definer = self.definer.locked();
        let (_underway, writer) = self.begin_write();
        let mut schema = Schema::clone(&self.schema());
        let mut runtime = self.runtime_schema();
        let before = self.formulas(&self.schema());
        let (out, mut changed) = {
            let state = self.read();
            let (out, mut changed) = change(&mut schema, &mut runtime, &state)?;
            // A roll-up summary this change makes or breaks that does not hold refuses it;
            // one it makes is worked out for every parent at once.
            if let Some(p) = crate::custom::settle(&mut schema).first() {
                return Err(OrgError::new(Code::FieldIntegrityException, p.why.clone()));
            }
            formulas::fill_new_summaries(before.schema(), &schema, &state, &mut changed);
            (out, changed)
        };
        // A formula this change makes or breaks that does not compile refuses it.
        if let Some(p) = formulas::new_problems(&before, &schema).first() {
            return Err(formulas::error(p));
        }
        let (batch, ids) = self.stage_schema(&schema, &runtime, &mut changed);
        let commit = self.commit_schema(&schema, &ids, &changed.conversions, batch)?;
        self.install_schema(schema, runtime, ids, changed);
        drop(writer);
        drop(definer);
        if let Some(commit) = commit {
            commit.wait().map_err(|e| OrgError::storage(&e))?;
        }
        Ok(out)
    }

    /// The writes of a schema change, and the changed objects' new change-event schema ids.
    fn stage_schema(
        &self,
        schema: &Schema,
        runtime: &RuntimeSchema,
        changed: &mut Changed,
    ) -> (Batch, HashMap<String, String>) {
        let mut batch = Batch::new();
        batch.put(STORED.0, STORED.1, Some(runtime.to_json()));
        let mut ids = HashMap::new();
        // An object changed, then deleted, by one deploy has no new schema.
        for name in &changed.objects {
            // The id it replaces stays resolvable: a client may have seen it (describe,
            // GetTopic) though no event named it.
            if let Some(old) = self.change_schema_id(name)
                && let Some(text) = self.schemas().unstored_text(&old)
            {
                batch.put(SCHEMAS, &old, Some(text.to_string()));
            }
            let Some(object) = schema.object(name) else {
                continue;
            };
            let s = EventSchema::for_change_events(object);
            if let Some(text) = self.schemas().add(&s) {
                batch.put(SCHEMAS, s.id(), Some(text));
            }
            ids.insert(object.name.clone(), s.id().to_owned());
        }
        let purged: std::collections::HashSet<_> = changed.purged.iter().copied().collect();
        changed.records.retain(|r| !purged.contains(&r.id));
        for r in &changed.records {
            batch.writes.push(Write::PutRecord(StoredRecord {
                id: r.id.as15().to_owned(),
                object: r.object.to_string(),
                is_deleted: r.is_deleted,
                body: r.body(),
            }));
        }
        for id in &changed.purged {
            batch.writes.push(Write::PurgeRecord {
                id: id.as15().to_owned(),
            });
        }
        for def in &changed.events {
            self.stage_definition(&mut batch, def);
        }
        for name in &changed.removed_events {
            batch.put(crate::platform::registry::DEFINITIONS, name, None);
        }
        components::stage(&mut batch, &changed.components);
        (batch, ids)
    }

    /// Commits `batch`: through the event log with the change events `conversions`
    /// publish (for objects selected for Change Data Capture), else straight to the store.
    fn commit_schema(
        &self,
        schema: &Schema,
        ids: &HashMap<String, String>,
        conversions: &[Conversion],
        mut batch: Batch,
    ) -> Result<Option<forcebus_eventlog::Commit>, OrgError> {
        let failed = |e: forcebus_store::StoreError| OrgError::storage(&e);
        let now = self.clock().now();
        let mut state = self.write();
        let mut schema_ids = self.change_schema_ids().clone();
        schema_ids.extend(ids.iter().map(|(k, v)| (k.clone(), v.clone())));
        let commit_number = state.commit_number + 1;
        let transaction_key = crate::new_uuid();
        let info = crate::cdc::TxnInfo {
            schema,
            members: crate::cdc::Member::all(&state),
            now,
            transaction_key: &transaction_key,
            change_origin: "",
            commit_timestamp: now.timestamp_millis(),
            commit_number,
            // Schema changes are the administrator's: the org's first user.
            commit_user: state
                .of("User")
                .next()
                .map(|u| u.id.to18())
                .unwrap_or_default(),
        };
        let events: Vec<_> = conversions
            .iter()
            .filter_map(|c| Some((c, schema.object(&c.object)?)))
            .filter(|(_, def)| self.selected_in(&state, def))
            .flat_map(|(c, def)| {
                c.ids
                    .chunks(CONVERSION_IDS)
                    .map(|ids| {
                        crate::cdc::gap_event(def, c.change_type, ids.to_vec(), &info, &schema_ids)
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        if events.is_empty() {
            drop(state);
            self.store.commit(&batch).map_err(failed)?;
            return Ok(None);
        }
        batch.put(
            crate::state::ORG,
            "commit_number",
            Some(commit_number.to_string()),
        );
        let commit = self
            .log
            .commit(events, now.timestamp_millis(), batch)
            .map_err(failed)?;
        state.commit_number = commit_number;
        Ok(Some(commit))
    }

    /// Makes a committed schema change the org's: definitions, schema, schema ids, records,
    /// runtime definitions, PushTopics.
    fn install_schema(
        &self,
        schema: Schema,
        runtime: RuntimeSchema,
        ids: HashMap<String, String>,
        changed: Changed,
    ) {
        self.install_definitions(&changed.events, &changed.removed_events);
        let before = self.schema();
        let schema = Arc::new(schema);
        *self.schema.write_locked() = schema.clone();
        {
            let mut known = self.change_schema_ids.write_locked();
            known.extend(ids);
            for name in &changed.removed_objects {
                known.remove(name);
            }
        }
        {
            // Out of the indexes as the old schema had them, in as the new one has them.
            let mut state = self.write();
            for id in &changed.purged {
                state.remove(&before, id);
            }
            for r in changed.records {
                state.remove(&before, &r.id);
                state.insert(&schema, r);
            }
        }
        *self.runtime_schema.locked() = runtime;
        self.install_components(changed.components);
        self.rebuild_topics();
        tracing::info!(objects = ?changed.objects, removed = ?changed.removed_objects, events = ?changed.removed_events, "Schema changed.");
    }
}
