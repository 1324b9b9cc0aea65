//! Renaming a custom field or object made while the org runs (the Metadata API's
//! `renameMetadata`, `metadata-tooling.md` §3). A field keeps its id, its definition and
//! every record's value under the new API name; the old name leaves describe and SOQL at
//! once, and the object's change events get a new schema id (§13: a rename is a field
//! change). An object keeps its key prefix (so its records keep their ids), its fields and
//! its records, lookups to it follow it, and its change events take the new entity name
//! (`New__ChangeEvent`). What names the component elsewhere (a PushTopic's query, a
//! channel member) must change first, as for a delete.

use super::changed::Changed;
use super::delete::runtime_field;
use crate::Org;
use crate::custom::{FieldConfig, field_def};
use crate::error::{Code, OrgError};
use crate::runtime_schema::check_api_name;
use crate::state::State;

impl Org {
    /// Renames the runtime field `object.old` to `new`.
    pub fn rename_custom_field(&self, object: &str, old: &str, new: &str) -> Result<(), OrgError> {
        self.change_schema(|schema, runtime, state| {
            self.check_unreferenced(state, schema, object, old)?;
            let known = runtime_field(schema, runtime, object, old, "renamed")?;
            check_api_name("Field", new)?;
            let def = schema
                .object(object)
                .expect("runtime fields are on known objects");
            let name = def.name.clone();
            if def.field(new).is_some() {
                return Err(OrgError::new(
                    Code::DuplicateDeveloperName,
                    format!("There is already a field named {new} on {name}."),
                ));
            }
            let config = FieldConfig {
                name: new.to_owned(),
                ..known.config.clone()
            };
            let renamed =
                field_def(&name, &config).map_err(|e| OrgError::new(Code::InvalidInput, e))?;
            let target = schema.object_mut(&name).expect("looked up above");
            target.remove_field(&known.config.name);
            target.push_field(renamed);
            if let Some(f) = runtime
                .fields
                .get_mut(&name)
                .and_then(|list| list.iter_mut().find(|f| f.id == known.id))
            {
                f.config = config;
            }
            let mut changed = Changed::default();
            for r in state
                .of(&name)
                .filter(|r| r.fields.contains_key(&known.config.name))
            {
                let copy = changed.rewrite(r);
                let value = copy.fields.remove(&known.config.name).expect("held");
                copy.fields.insert(new.to_owned(), value);
            }
            changed.objects.push(name);
            Ok(((), changed))
        })
    }

    /// Renames the runtime custom object `old` to `new`.
    pub fn rename_custom_object(&self, old: &str, new: &str) -> Result<(), OrgError> {
        self.change_schema(|schema, runtime, state| {
            let def = schema.object(old).ok_or_else(OrgError::not_found)?;
            let from = def.name.clone();
            let Some(made) = runtime.objects.remove(&from) else {
                return Err(OrgError::new(
                    Code::InvalidInput,
                    format!("{from} was not created through the API (it is standard, or declared in the config file) and cannot be renamed."),
                ));
            };
            check_api_name("Object", new)?;
            if schema.object(new).is_some() || self.platform_event(new).is_some() {
                return Err(OrgError::new(
                    Code::DuplicateDeveloperName,
                    format!("There is already an object named {new}."),
                ));
            }
            self.check_object_unnamed(state, def)?;
            let mut renamed = def.clone();
            renamed.name = new.to_owned();
            schema.remove(&from);
            schema.insert(renamed);
            // Lookups to it (its own included) follow it.
            let referring: Vec<String> = schema
                .child_relationships(&from)
                .into_iter()
                .map(|c| c.child)
                .collect();
            for child in referring {
                let o = schema.object_mut(&child).expect("a child is an object");
                for f in &mut o.fields {
                    for to in &mut f.reference_to {
                        if to.eq_ignore_ascii_case(&from) {
                            *to = new.to_owned();
                        }
                    }
                }
            }
            for f in runtime.fields.values_mut().flatten() {
                if f.config.reference_to.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(&from)) {
                    f.config.reference_to = Some(new.to_owned());
                }
            }
            runtime.objects.insert(new.to_owned(), made);
            if let Some(fields) = runtime.fields.remove(&from) {
                runtime.fields.insert(new.to_owned(), fields);
            }
            let mut changed = Changed::default();
            for r in state.of(&from) {
                changed.rewrite(r).object = new.into();
            }
            changed.objects.push(new.to_owned());
            changed.removed_objects.push(from);
            Ok(((), changed))
        })
    }

    /// Refuses while a PushTopic queries `object` or a channel member (its standard
    /// selection included) selects its change events.
    fn check_object_unnamed(
        &self,
        state: &State,
        object: &crate::meta::ObjectDef,
    ) -> Result<(), OrgError> {
        let what = format!("The object {}", object.name);
        let topics = self.topics_on(&object.name);
        if !topics.is_empty() {
            return Err(OrgError::new(
                Code::FieldIntegrityException,
                format!(
                    "{what} is referenced by the PushTopic {}; change or delete that first.",
                    topics.join(", ")
                ),
            ));
        }
        let entity = forcebus_events::change::entity_name_of(object);
        if let Some(m) = state
            .of("PlatformEventChannelMember")
            .find(|m| !m.is_deleted && m.get_str("SelectedEntity") == Some(entity.as_str()))
        {
            return Err(OrgError::new(
                Code::FieldIntegrityException,
                format!(
                    "{what} is referenced by the channel member {}; change or delete that first.",
                    m.get_str("DeveloperName").unwrap_or_default()
                ),
            ));
        }
        Ok(())
    }
}
