//! Changing the schema while the org runs (`metadata-tooling.md` §12–§14): custom objects
//! and fields created and deleted through the Tooling API. A change is one store commit
//! (the runtime definitions, the new change-event schemas and, for a deleted field, the
//! records it is cleared from), applied under the writer lock so no transaction straddles
//! it; then describe, SOQL and writes see the new schema at once, the changed objects'
//! change events get a new schema id (every old id stays resolvable), and PushTopics are
//! recompiled.

use forcebus_sync::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

use forcebus_events::EventSchema;
use forcebus_store::{Batch, StoreError, StoredRecord, Write};

use crate::Org;
use crate::custom::{FieldConfig, ObjectConfig};
use crate::error::{Code, OrgError};
use crate::meta::{FieldType, Schema};
use crate::org::SCHEMAS;
use crate::runtime_schema::{RuntimeSchema, STORED};

/// What a schema change did, for the change's own writes.
#[derive(Default)]
pub(crate) struct Changed {
    /// Objects whose fields changed (their change-event schemas are renewed).
    pub(crate) objects: Vec<String>,
    /// Records rewritten (a deleted field's values cleared).
    pub(crate) records: Vec<crate::record::Record>,
    /// Platform event definitions made or replaced (stored in the same commit).
    pub(crate) events: Vec<std::sync::Arc<crate::platform::EventDef>>,
    /// Platform events deleted.
    pub(crate) removed_events: Vec<String>,
    /// Objects deleted.
    pub(crate) removed_objects: Vec<String>,
    /// Records removed for good (a deleted object's).
    pub(crate) purged: Vec<crate::id::RecordId>,
    /// Change events a field's conversion publishes (`metadata-tooling.md` §13).
    pub(crate) conversions: Vec<Conversion>,
    /// Metadata components kept (by key) or removed (`None`), in order.
    pub(crate) components: Vec<(String, Option<Arc<crate::components::StoredComponent>>)>,
    /// Where each rewritten record is in `records`.
    rewritten: HashMap<crate::id::RecordId, usize>,
}

impl Changed {
    /// The change's copy of `r`, made on first use, for it to edit: a record two steps
    /// of one change rewrite (two fields deleted by one deploy) is written once.
    pub(crate) fn rewrite(&mut self, r: &crate::record::Record) -> &mut crate::record::Record {
        let at = *self.rewritten.entry(r.id).or_insert_with(|| {
            self.records.push(r.clone());
            self.records.len() - 1
        });
        &mut self.records[at]
    }
}

/// The change events of a field's conversion: `GAP_UPDATE` with the records whose values
/// it changed.
pub(crate) struct Conversion {
    pub(crate) object: String,
    pub(crate) change_type: &'static str,
    pub(crate) ids: Vec<String>,
}

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
    /// The schema changes made at runtime.
    pub fn runtime_schema(&self) -> RuntimeSchema {
        self.runtime_schema.locked().clone()
    }

    /// Adds the custom field `field` to `object`; returns its `CustomField` id.
    pub fn add_custom_field(&self, object: &str, field: FieldConfig) -> Result<String, OrgError> {
        if self.platform_event(object).is_some() {
            // A platform event's field has no CustomField id of its own here.
            return self
                .edit_event_fields(object, |fields| {
                    if fields
                        .iter()
                        .any(|f| f.name.eq_ignore_ascii_case(&field.name))
                    {
                        return Err(OrgError::new(
                            Code::DuplicateDeveloperName,
                            format!("There is already a field named {} on {object}.", field.name),
                        ));
                    }
                    fields.push(field);
                    Ok(true)
                })
                .map(|_| String::new());
        }
        self.change_schema(|schema, runtime, _| {
            let id = runtime.create_field(schema, object, field)?;
            let name = schema
                .object(object)
                .expect("the field was added to it")
                .name
                .clone();
            Ok((
                id,
                Changed {
                    objects: vec![name],
                    ..Changed::default()
                },
            ))
        })
    }

    /// Changes a custom field added at runtime to `field` (its whole new declaration, as
    /// the Metadata API's update replaces a component): allowed when every record keeps
    /// its value ([`forcebus_schema::field_change`]). Returns whether anything changed.
    pub fn update_custom_field(&self, object: &str, field: FieldConfig) -> Result<bool, OrgError> {
        if self.platform_event(object).is_some() {
            return self.edit_event_fields(object, |fields| {
                let known = fields
                    .iter_mut()
                    .find(|f| f.name.eq_ignore_ascii_case(&field.name))
                    .ok_or_else(OrgError::not_found)?;
                let field = FieldConfig {
                    name: known.name.clone(),
                    ..field
                };
                let differs = *known != field;
                *known = field;
                Ok(differs)
            });
        }
        self.change_schema(|schema, runtime, state| {
            let mut changed = Changed::default();
            let differs = change_field(schema, runtime, state, object, &field, &mut changed)?;
            if differs {
                let name = schema
                    .object(object)
                    .map(|o| o.name.clone())
                    .unwrap_or_default();
                changed.objects.push(name);
            }
            Ok((differs, changed))
        })
    }

    /// Creates a custom object (with the standard fields every custom object has); returns
    /// its `CustomObject` id.
    pub fn add_custom_object(&self, name: &str, config: ObjectConfig) -> Result<String, OrgError> {
        self.change_schema(|schema, runtime, _| {
            let fields = config.fields.clone();
            let labels = ObjectConfig {
                fields: Vec::new(),
                ..config
            };
            let id = runtime.create_object(schema, name, labels)?;
            for f in fields {
                runtime.create_field(schema, name, f)?;
            }
            Ok((
                id,
                Changed {
                    objects: vec![name.to_owned()],
                    ..Changed::default()
                },
            ))
        })
    }

    /// Updates a custom object made at runtime as the Metadata API's `updateMetadata`
    /// does (the component replaced): its labels, description, settings and name field,
    /// then its nested fields, made or changed; one schema change. An object the org was
    /// not given at runtime (a standard one, or the config file's) has its fields only.
    pub fn update_custom_object(&self, name: &str, config: ObjectConfig) -> Result<(), OrgError> {
        self.change_schema(|schema, runtime, state| {
            let canonical = schema
                .object(name)
                .map(|o| o.name.clone())
                .ok_or_else(OrgError::not_found)?;
            let mut changed = Changed {
                objects: vec![canonical.clone()],
                ..Changed::default()
            };
            if let Some(rt) = runtime.objects.get_mut(&canonical) {
                rt.config = ObjectConfig {
                    fields: Vec::new(),
                    record_types: rt.config.record_types.clone(),
                    picklists: rt.config.picklists.clone(),
                    ..config.clone()
                };
                if let Some(def) = schema.object_mut(&canonical) {
                    crate::custom::relabel(def, &rt.config);
                }
            }
            for f in config.fields {
                let known = schema
                    .object(&canonical)
                    .is_some_and(|o| o.field(&f.name).is_some());
                if known {
                    change_field(schema, runtime, state, &canonical, &f, &mut changed)?;
                } else {
                    runtime.create_field(schema, &canonical, f)?;
                }
            }
            Ok(((), changed))
        })
    }

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
        let (out, mut changed) = {
            let state = self.read();
            change(&mut schema, &mut runtime, &state)?
        };
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
        crate::org::components::stage(&mut batch, &changed.components);
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

/// Changes the runtime field `object.field` in `schema` and `runtime` to the declaration
/// `field`, checked against the records; whether it differs from what it was.
pub(crate) fn change_field(
    schema: &mut Schema,
    runtime: &mut RuntimeSchema,
    state: &crate::state::State,
    object: &str,
    field: &FieldConfig,
    changed: &mut Changed,
) -> Result<bool, OrgError> {
    let def = schema
        .object(object)
        .ok_or_else(|| OrgError::no_such_object(object))?;
    let old = def
        .field(&field.name)
        .cloned()
        .ok_or_else(OrgError::not_found)?;
    let name = def.name.clone();
    let Some(known) = runtime.field(&name, &old.name).cloned() else {
        return Err(OrgError::new(
            Code::InvalidInput,
            format!(
                "{name}.{} was not created through the API (it is standard, or declared in the config file) and cannot be changed.",
                old.name
            ),
        ));
    };
    let config = FieldConfig {
        name: old.name.clone(),
        ..field.clone()
    };
    let new = crate::custom::field_def(&name, &config).map_err(|e| {
        let why = e.split_once(": ").map_or(e.as_str(), |(_, why)| why);
        OrgError::new(Code::InvalidInput, format!("{name}.{}: {why}", old.name))
    })?;
    if new == old {
        return Ok(false);
    }
    forcebus_schema::field_change::check(&old, &new, state.of(&name))?;
    if old.ftype == FieldType::Picklist && new.ftype == FieldType::Multipicklist {
        to_multiselect(&name, &new, state, changed);
    }
    schema
        .object_mut(&name)
        .expect("looked up above")
        .push_field(new);
    if let Some(list) = runtime.fields.get_mut(&name)
        && let Some(f) = list.iter_mut().find(|f| f.id == known.id)
    {
        f.config = config;
    }
    Ok(true)
}

/// A picklist become a multi-select picklist (`metadata-tooling.md` §12–§13): values in
/// the new value set stay, the others are cleared, and the records that held a value are
/// announced by `GAP_UPDATE` events.
fn to_multiselect(
    object: &str,
    new: &crate::meta::FieldDef,
    state: &crate::state::State,
    changed: &mut Changed,
) {
    let mut ids = Vec::new();
    for r in state.of(object) {
        let Some(value) = r.get(&new.name).as_str() else {
            continue;
        };
        if !r.is_deleted {
            ids.push(r.id.to18());
        }
        if new.picklist.iter().any(|p| p == value) {
            continue;
        }
        changed.rewrite(r).fields.remove(&new.name);
    }
    if !ids.is_empty() {
        changed.conversions.push(Conversion {
            object: object.to_owned(),
            change_type: "GAP_UPDATE",
            ids,
        });
    }
}
