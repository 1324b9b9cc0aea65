//! The org's platform event definitions: loaded at start (stored ones, then the config
//! file's), created, replaced and removed at run time; every schema a definition ever had
//! stays resolvable.

use forcebus_sync::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::platform::registry::{DEFINITIONS, Persisted, Registry};
use crate::platform::{EventConfig, EventDef, MAX_EVENT_DEFINITIONS};

impl crate::Org {
    /// Loads stored definitions, then applies those of the config file.
    pub(crate) fn load_platform_events(
        &self,
        declared: &BTreeMap<String, EventConfig>,
    ) -> Result<(), forcebus_store::StoreError> {
        let mut registry = Registry::default();
        for (name, text) in self.store.load_values(DEFINITIONS)? {
            let built = serde_json::from_str::<Persisted>(&text)
                .map_err(|e| e.to_string())
                .and_then(|p| EventDef::build(&name, &p.config, &p.prefix));
            match built {
                Ok(def) => {
                    registry
                        .defs
                        .insert(name.to_ascii_lowercase(), Arc::new(def));
                }
                Err(e) => {
                    tracing::error!(event = %name, error = %e, "Stored platform event is unreadable; skipped.")
                }
            }
        }
        *self.platform.write_locked() = Arc::new(registry);
        for (name, config) in declared {
            let unchanged = self
                .platform_event(name)
                .is_some_and(|d| d.name() == name && &d.config == config);
            if !unchanged && let Err(e) = self.define_platform_event(name, config.clone()) {
                tracing::error!(event = %name, error = %e, "Declared platform event is invalid; skipped.");
            }
        }
        Ok(())
    }

    fn registry(&self) -> Arc<Registry> {
        self.platform.read_locked().clone()
    }

    /// A platform event definition by name (any case).
    pub fn platform_event(&self, name: &str) -> Option<Arc<EventDef>> {
        self.platform.read_locked().get(name).cloned()
    }

    /// Every platform event definition, by name.
    pub fn platform_events(&self) -> Vec<Arc<EventDef>> {
        self.platform.read_locked().defs.values().cloned().collect()
    }

    /// Creates or replaces a definition; `Ok(true)` when it is new. A field change gives a
    /// new schema id; events already published keep theirs, and it stays resolvable.
    pub fn define_platform_event(
        &self,
        name: &str,
        config: EventConfig,
    ) -> Result<(Arc<EventDef>, bool), String> {
        let _definer = self.definer.locked();
        let mut registry = (*self.registry()).clone();
        let existing = registry.get(name).is_some();
        let def = build_definition(&mut registry, &self.schema(), name, config)?;
        let mut batch = forcebus_store::Batch::new();
        self.stage_definition(&mut batch, &def);
        let _underway = self.underway();
        self.store.commit(&batch).map_err(|e| e.to_string())?;
        self.install_definitions(std::slice::from_ref(&def), &[]);
        Ok((def, !existing))
    }

    /// Adds a definition's writes to `batch`: the definition, and its schema if new.
    pub(crate) fn stage_definition(&self, batch: &mut forcebus_store::Batch, def: &EventDef) {
        let persisted = Persisted {
            prefix: def.object.key_prefix.clone(),
            config: def.config.clone(),
        };
        batch.put(
            DEFINITIONS,
            def.name(),
            Some(serde_json::to_string(&persisted).expect("config serialises")),
        );
        if !self.schemas().contains(&def.schema_id) {
            batch.put(
                crate::org::SCHEMAS,
                &def.schema_id,
                Some(def.schema.json_text()),
            );
        }
    }

    /// Makes stored definitions the org's, and forgets removed ones (after their commit).
    pub(crate) fn install_definitions(&self, defs: &[Arc<EventDef>], removed: &[String]) {
        if defs.is_empty() && removed.is_empty() {
            return;
        }
        let mut next = (*self.registry()).clone();
        for name in removed {
            next.defs.remove(&name.to_ascii_lowercase());
        }
        for def in defs {
            self.schemas().add(&def.schema);
            next.defs
                .insert(def.name().to_ascii_lowercase(), def.clone());
            tracing::info!(event = %def.name(), schema_id = %def.schema_id, "Platform event defined.");
        }
        *self.platform.write_locked() = Arc::new(next);
    }

    /// Edits a platform event's fields (the Metadata API's `CustomField` calls on
    /// `Event__e.Field__c`) as one schema change: changed fields give a new schema id.
    /// `edit` says whether it changed anything.
    pub(crate) fn edit_event_fields(
        &self,
        event: &str,
        edit: impl FnOnce(&mut Vec<crate::custom::FieldConfig>) -> Result<bool, crate::OrgError>,
    ) -> Result<bool, crate::OrgError> {
        self.change_schema(|schema, _, _| {
            let mut registry = self.definitions();
            let mut changed = crate::org::schema::Changed::default();
            let edited = edit_fields(&mut registry, schema, event, edit)?;
            let differs = edited.is_some();
            changed.events.extend(edited);
            Ok((differs, changed))
        })
    }

    /// The definitions as they are now, to build changes on ([`build_definition`]).
    pub(crate) fn definitions(&self) -> Registry {
        (*self.registry()).clone()
    }

    /// Deletes a definition (a channel member selecting it must go first); its events
    /// stay in the log until retention takes them, but no channel shows them.
    pub fn delete_platform_event(&self, name: &str) -> Result<(), crate::OrgError> {
        self.change_schema(|_, _, state| {
            let mut registry = self.definitions();
            let mut changed = crate::org::schema::Changed::default();
            self.remove_event(&mut registry, state, name, &mut changed)?;
            Ok(((), changed))
        })
    }
}

/// Builds the definition `name` (new, or replacing the one of that name) against
/// `registry` and the object `schema`, and enters it in `registry`, so several built in a
/// row get distinct key prefixes. Nothing is stored.
pub(crate) fn build_definition(
    registry: &mut Registry,
    schema: &crate::meta::Schema,
    name: &str,
    config: EventConfig,
) -> Result<Arc<EventDef>, String> {
    let existing = registry.get(name).cloned();
    if let Some(e) = &existing
        && e.name() != name
    {
        return Err(format!(
            "platform_events.{name}: names differ only by case from {}",
            e.name()
        ));
    }
    if schema.object(name).is_some() {
        return Err(format!("platform_events.{name}: an object has that name"));
    }
    if existing.is_none() && registry.defs.len() >= MAX_EVENT_DEFINITIONS {
        return Err(format!(
            "platform_events.{name}: an org has at most {MAX_EVENT_DEFINITIONS} platform \
             event definitions"
        ));
    }
    let prefix = match &existing {
        Some(e) => e.object.key_prefix.clone(),
        None => registry
            .next_prefix()
            .ok_or_else(|| "too many platform events".to_owned())?,
    };
    let def = Arc::new(EventDef::build(name, &config, &prefix)?);
    registry.defs.insert(name.to_ascii_lowercase(), def.clone());
    Ok(def)
}

/// `event`'s definition with its fields edited by `edit` (which says whether it changed
/// anything), entered in `registry`; `None` when nothing changed. Nothing is stored.
pub(crate) fn edit_fields(
    registry: &mut Registry,
    schema: &crate::meta::Schema,
    event: &str,
    edit: impl FnOnce(&mut Vec<crate::custom::FieldConfig>) -> Result<bool, crate::OrgError>,
) -> Result<Option<Arc<EventDef>>, crate::OrgError> {
    let def = registry
        .get(event)
        .cloned()
        .ok_or_else(|| crate::OrgError::no_such_object(event))?;
    let mut config = def.config.clone();
    if !edit(&mut config.fields)? {
        return Ok(None);
    }
    let name = def.name().to_owned();
    build_definition(registry, schema, &name, config)
        .map(Some)
        .map_err(|e| crate::OrgError::new(crate::Code::InvalidInput, e))
}

/// An [`edit_fields`] edit removing `field` (`NOT_FOUND` when the event has none).
pub(crate) fn without_field(
    field: &str,
) -> impl FnOnce(&mut Vec<crate::custom::FieldConfig>) -> Result<bool, crate::OrgError> + '_ {
    move |fields| {
        let before = fields.len();
        fields.retain(|f| !f.name.eq_ignore_ascii_case(field));
        if fields.len() == before {
            return Err(crate::OrgError::not_found());
        }
        Ok(true)
    }
}
