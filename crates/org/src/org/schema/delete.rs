//! Deleting schema made while the org runs (`metadata-tooling.md` §12): a custom field
//! (its values cleared from every record), a custom object (its records, recycle bin
//! included, and its change-event selection gone with it), a platform event (its topic
//! gone; published events stay in the log until retention takes them). What still names
//! the component elsewhere (a PushTopic's query, a custom channel's member, another
//! object's relationship field) must change first, as on Salesforce.
//!
//! Each removal edits a schema change in progress ([`Org::change_schema`]), so a
//! deploy's destructive manifests and its other components are one commit.

use super::changed::Changed;
use crate::Org;
use crate::error::{Code, OrgError};
use crate::meta::Schema;
use crate::platform::registry::Registry;
use crate::runtime_schema::RuntimeSchema;
use crate::state::State;

/// What names a component, so it cannot go yet (`FIELD_INTEGRITY_EXCEPTION`).
fn referenced(what: &str, by: &str) -> OrgError {
    OrgError::new(
        Code::FieldIntegrityException,
        format!("{what} is referenced by {by}; change or delete that first."),
    )
}

/// The runtime field `object.field`, or why it cannot be `done` (`deleted`, `renamed`).
pub(crate) fn runtime_field(
    schema: &Schema,
    runtime: &RuntimeSchema,
    object: &str,
    field: &str,
    done: &str,
) -> Result<crate::runtime_schema::RuntimeField, OrgError> {
    if let Some(known) = runtime.field(object, field) {
        return Ok(known.clone());
    }
    Err(match schema.object(object).and_then(|o| o.field(field)) {
        Some(_) => OrgError::new(
            Code::InvalidInput,
            format!(
                "{object}.{field} was not created through the API (it is standard, or declared in the config file) and cannot be {done}."
            ),
        ),
        None => OrgError::not_found(),
    })
}

impl Org {
    /// Refuses while a PushTopic's query names `object.field`, or a custom channel
    /// member's filter or enriched fields do.
    pub(crate) fn check_unreferenced(
        &self,
        state: &State,
        schema: &Schema,
        object: &str,
        field: &str,
    ) -> Result<(), OrgError> {
        let what = format!("The field {object}.{field}");
        let topics = self.topics_naming(object, field);
        if !topics.is_empty() {
            return Err(referenced(
                &what,
                &format!("the PushTopic {}", topics.join(", ")),
            ));
        }
        let Some(def) = schema.object(object) else {
            return Ok(());
        };
        let entity = forcebus_events::change::entity_name_of(def);
        let members: Vec<String> = crate::cdc::Member::all(state)
            .into_iter()
            .filter(|m| {
                m.entity == entity && m.enriched.iter().any(|f| f.eq_ignore_ascii_case(field))
            })
            .map(|m| m.channel)
            .collect();
        if members.is_empty() {
            return Ok(());
        }
        Err(referenced(
            &what,
            &format!(
                "the filter or enriched fields of a member of {}",
                members.join(", ")
            ),
        ))
    }

    /// Deletes a custom field added at runtime: it leaves describe, SOQL and writes at
    /// once, and its values are cleared from every record (a field of that name created
    /// later starts empty). A PushTopic whose query names it, or a custom channel member
    /// whose filter or enriched fields do, must be changed first.
    pub fn delete_custom_field(&self, object: &str, field: &str) -> Result<(), OrgError> {
        if self.platform_event(object).is_some() {
            return self
                .edit_event_fields(object, crate::org::platform_events::without_field(field))
                .map(|_| ());
        }
        self.change_schema(|schema, runtime, state| {
            let mut changed = Changed::default();
            self.remove_field(schema, runtime, state, object, field, &mut changed)?;
            Ok(((), changed))
        })
    }

    /// Deletes a custom object created at runtime, with its records (recycle bin
    /// included) and its change-event selection; its key prefix is never given again.
    pub fn delete_custom_object(&self, name: &str) -> Result<(), OrgError> {
        self.change_schema(|schema, runtime, state| {
            let mut changed = Changed::default();
            self.remove_object(schema, runtime, state, name, &mut changed)?;
            Ok(((), changed))
        })
    }

    /// Removes the runtime field `object.field` from the change in progress.
    pub(crate) fn remove_field(
        &self,
        schema: &mut Schema,
        runtime: &mut RuntimeSchema,
        state: &State,
        object: &str,
        field: &str,
        changed: &mut Changed,
    ) -> Result<(), OrgError> {
        self.check_unreferenced(state, schema, object, field)?;
        let known = runtime_field(schema, runtime, object, field, "deleted")?;
        let def = schema
            .object(object)
            .expect("runtime fields are on known objects");
        let name = def.name.clone();
        schema
            .object_mut(&name)
            .expect("known")
            .remove_field(&known.config.name);
        if let Some(list) = runtime.fields.get_mut(&name) {
            list.retain(|f| f.id != known.id);
        }
        for r in state.of(&name) {
            if r.get(&known.config.name).is_null() {
                continue;
            }
            changed.rewrite(r).fields.remove(&known.config.name);
        }
        changed.objects.push(name);
        Ok(())
    }

    /// Removes the runtime custom object `name` from the change in progress.
    pub(crate) fn remove_object(
        &self,
        schema: &mut Schema,
        runtime: &mut RuntimeSchema,
        state: &State,
        name: &str,
        changed: &mut Changed,
    ) -> Result<(), OrgError> {
        let Some(def) = schema.object(name) else {
            return Err(OrgError::not_found());
        };
        let canonical = def.name.clone();
        let Some(made) = runtime.objects.get(&canonical).cloned() else {
            return Err(OrgError::new(
                Code::InvalidInput,
                format!(
                    "{canonical} was not created through the API (it is standard, or declared in the config file) and cannot be deleted."
                ),
            ));
        };
        let what = format!("The object {canonical}");
        if let Some(f) = schema
            .child_relationships(&canonical)
            .into_iter()
            .find(|c| !c.child.eq_ignore_ascii_case(&canonical))
        {
            return Err(referenced(
                &what,
                &format!("the field {}.{}", f.child, f.field),
            ));
        }
        let topics = self.topics_on(&canonical);
        if !topics.is_empty() {
            return Err(referenced(
                &what,
                &format!("the PushTopic {}", topics.join(", ")),
            ));
        }
        let entity = forcebus_events::change::entity_name_of(def);
        let members: Vec<String> = crate::cdc::Member::all(state)
            .into_iter()
            .filter(|m| m.entity == entity)
            .map(|m| m.channel)
            .collect();
        if !members.is_empty() {
            return Err(referenced(
                &what,
                &format!("a member of {}", members.join(", ")),
            ));
        }
        // Its selection on the standard channel goes with it.
        let selections = state.of("PlatformEventChannelMember").filter(|m| {
            m.get_str("EventChannel") == Some("ChangeEvents")
                && m.get_str("SelectedEntity") == Some(entity.as_str())
        });
        changed.purged.extend(selections.map(|m| m.id));
        changed.purged.extend(state.of(&canonical).map(|r| r.id));
        schema.remove(&canonical);
        runtime.objects.remove(&canonical);
        runtime.fields.remove(&canonical);
        runtime.retired_prefixes.push(made.key_prefix);
        changed.removed_objects.push(canonical);
        Ok(())
    }

    /// Removes the platform event `name` from the change in progress (`registry` is the
    /// change's copy of the definitions).
    pub(crate) fn remove_event(
        &self,
        registry: &mut Registry,
        state: &State,
        name: &str,
        changed: &mut Changed,
    ) -> Result<(), OrgError> {
        let Some(def) = registry.get(name).cloned() else {
            return Err(OrgError::not_found());
        };
        if let Some(m) = state
            .of("PlatformEventChannelMember")
            .find(|m| !m.is_deleted && m.get_str("SelectedEntity") == Some(def.name()))
        {
            return Err(referenced(
                &format!("The platform event {}", def.name()),
                &format!(
                    "the channel member {}",
                    m.get_str("DeveloperName").unwrap_or_default()
                ),
            ));
        }
        registry.defs.remove(&def.name().to_ascii_lowercase());
        // A change this deploy made to it (a field deleted first) goes with it.
        changed.events.retain(|d| d.name() != def.name());
        changed.removed_events.push(def.name().to_owned());
        Ok(())
    }
}
