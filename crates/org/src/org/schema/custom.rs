//! Custom objects and fields created and changed while the org runs: the Tooling API's
//! `CustomObject` and `CustomField`, the Metadata API's CRUD calls. A platform event's
//! fields change with its definition instead.

use forcebus_sync::prelude::*;

use crate::Org;
use crate::custom::{FieldConfig, ObjectConfig};
use crate::error::{Code, OrgError};
use crate::meta::{FieldType, Schema};
use crate::runtime_schema::RuntimeSchema;

use super::changed::{Changed, Conversion};

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
            Ok((id, Changed::of_objects(vec![name])))
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
            Ok((id, Changed::of_objects(vec![name.to_owned()])))
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
            let mut changed = Changed::of_objects(vec![canonical.clone()]);
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
