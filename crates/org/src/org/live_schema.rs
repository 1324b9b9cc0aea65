//! Changing the schema while the org runs (`metadata-tooling.md` §12–§14): custom objects
//! and fields created and deleted through the Tooling API. A change is one store commit
//! (the runtime definitions, the new change-event schemas and, for a deleted field, the
//! records it is cleared from), applied under the writer lock so no transaction straddles
//! it; then describe, SOQL and writes see the new schema at once, the changed objects'
//! change events get a new schema id (every old id stays resolvable), and PushTopics are
//! recompiled.

use std::collections::HashMap;

use forcebus_events::EventSchema;
use forcebus_store::{Batch, StoreError, StoredRecord, Write};

use crate::Org;
use crate::custom::{FieldConfig, ObjectConfig};
use crate::error::{OrgError, StatusCode};
use crate::meta::Schema;
use crate::org::SCHEMAS;
use crate::runtime_schema::{RuntimeSchema, STORED};

/// What a schema change did, for the change's own writes.
pub(crate) struct Changed {
    /// Objects whose fields changed (their change-event schemas are renewed).
    pub(crate) objects: Vec<String>,
    /// Records rewritten (a deleted field's values cleared).
    pub(crate) records: Vec<crate::record::Record>,
}

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
        self.runtime_schema
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Adds the custom field `field` to `object`; returns its `CustomField` id.
    pub fn add_custom_field(&self, object: &str, field: FieldConfig) -> Result<String, OrgError> {
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
                    records: Vec::new(),
                },
            ))
        })
    }

    /// Changes a custom field added at runtime to `field` (its whole new declaration, as
    /// the Metadata API's update replaces a component): allowed when every record keeps
    /// its value ([`crate::field_change`]). Returns whether anything changed.
    pub fn update_custom_field(&self, object: &str, field: FieldConfig) -> Result<bool, OrgError> {
        self.change_schema(|schema, runtime, state| {
            let changed = change_field(schema, runtime, state, object, &field)?;
            let name = schema
                .object(object)
                .map(|o| o.name.clone())
                .unwrap_or_default();
            let objects = if changed { vec![name] } else { Vec::new() };
            Ok((
                changed,
                Changed {
                    objects,
                    records: Vec::new(),
                },
            ))
        })
    }

    /// Deletes a custom field added at runtime: it leaves describe, SOQL and writes at
    /// once, and its values are cleared from every record (a field of that name created
    /// later starts empty). A PushTopic whose query names it, or a custom channel member
    /// whose filter or enriched fields do, must be changed first.
    pub fn delete_custom_field(&self, object: &str, field: &str) -> Result<(), OrgError> {
        let topics = self.topics_naming(object, field);
        if !topics.is_empty() {
            return Err(OrgError::new(
                StatusCode::FieldIntegrityException,
                format!(
                    "The field {object}.{field} is referenced by the PushTopic {}; change its query first.",
                    topics.join(", ")
                ),
            ));
        }
        self.change_schema(|schema, runtime, state| {
            // A custom channel member filtering on it, or enriching with it, likewise.
            if let Some(def) = schema.object(object) {
                let entity = forcebus_events::change::entity_name_of(def);
                let members: Vec<String> = crate::cdc::Member::all(state)
                    .into_iter()
                    .filter(|m| m.entity == entity && m.enriched.iter().any(|f| f.eq_ignore_ascii_case(field)))
                    .map(|m| m.channel)
                    .collect();
                if !members.is_empty() {
                    return Err(OrgError::new(
                        StatusCode::FieldIntegrityException,
                        format!(
                            "The field {object}.{field} is named by the filter or enriched fields of a member of {}; change the member first.",
                            members.join(", ")
                        ),
                    ));
                }
            }
            let Some(known) = runtime.field(object, field).cloned() else {
                return Err(match schema.object(object).and_then(|o| o.field(field)) {
                    Some(_) => OrgError::new(
                        StatusCode::InvalidInput,
                        format!("{object}.{field} was not created through the API (it is standard, or declared in the config file) and cannot be deleted."),
                    ),
                    None => OrgError::not_found(),
                });
            };
            let def = schema.object(object).expect("runtime fields are on known objects");
            let name = def.name.clone();
            schema.object_mut(&name).expect("known").remove_field(&known.config.name);
            if let Some(list) = runtime.fields.get_mut(&name) {
                list.retain(|f| f.id != known.id);
            }
            let records = state
                .of(&name)
                .filter(|r| !r.get(&known.config.name).is_null())
                .map(|r| {
                    let mut r = r.clone();
                    r.fields.remove(&known.config.name);
                    r
                })
                .collect();
            Ok(((), Changed { objects: vec![name], records }))
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
                    records: Vec::new(),
                },
            ))
        })
    }

    /// Runs a schema change: `change` edits a copy of the schema and of the runtime
    /// definitions (and may read the records); the result is stored in one commit, then
    /// becomes the org's schema.
    pub(crate) fn change_schema<T>(
        &self,
        change: impl FnOnce(
            &mut Schema,
            &mut RuntimeSchema,
            &crate::state::State,
        ) -> Result<(T, Changed), OrgError>,
    ) -> Result<T, OrgError> {
        let _definer = self.definer.lock().unwrap_or_else(|e| e.into_inner());
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut schema = self.schema().clone();
        let mut runtime = self.runtime_schema();
        let (out, changed) = {
            let state = self.read();
            change(&mut schema, &mut runtime, &state)?
        };
        let mut batch = Batch::new();
        batch.put(STORED.0, STORED.1, Some(runtime.to_json()));
        let mut ids = HashMap::new();
        for name in &changed.objects {
            let object = schema.object(name).expect("changed objects exist");
            let s = EventSchema::for_change_events(object);
            if let Some(text) = self.schemas().add(&s) {
                batch.put(SCHEMAS, s.id(), Some(text));
            }
            ids.insert(object.name.clone(), s.id().to_owned());
        }
        for r in &changed.records {
            batch.writes.push(Write::PutRecord(StoredRecord {
                id: r.id.as15().to_owned(),
                object: r.object.clone(),
                is_deleted: r.is_deleted,
                body: r.body(),
            }));
        }
        self.store
            .commit(&batch)
            .map_err(|e| OrgError::new(StatusCode::UnknownException, e.to_string()))?;
        let schema: &'static Schema = Box::leak(Box::new(schema));
        *self.schema.write().unwrap_or_else(|e| e.into_inner()) = schema;
        self.change_schema_ids
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .extend(ids);
        {
            let mut state = self.write();
            for r in changed.records {
                state.insert(schema, r);
            }
        }
        *self
            .runtime_schema
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = runtime;
        self.rebuild_topics();
        tracing::info!(objects = ?changed.objects, "Schema changed.");
        Ok(out)
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
            StatusCode::InvalidInput,
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
        OrgError::new(
            StatusCode::InvalidInput,
            format!("{name}.{}: {why}", old.name),
        )
    })?;
    if new == old {
        return Ok(false);
    }
    crate::field_change::check(&old, &new, state.of(&name))?;
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
