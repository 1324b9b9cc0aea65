//! The org's platform event definitions: loaded at start (stored ones, then the config
//! file's), created, replaced and removed at run time; every schema a definition ever had
//! stays resolvable.

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
        *self.platform.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(registry);
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
        self.platform
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A platform event definition by name (any case).
    pub fn platform_event(&self, name: &str) -> Option<Arc<EventDef>> {
        self.platform
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Every platform event definition, by name.
    pub fn platform_events(&self) -> Vec<Arc<EventDef>> {
        self.platform
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .defs
            .values()
            .cloned()
            .collect()
    }

    /// Creates or replaces a definition; `Ok(true)` when it is new. A field change gives a
    /// new schema id; events already published keep theirs, and it stays resolvable.
    pub fn define_platform_event(
        &self,
        name: &str,
        config: EventConfig,
    ) -> Result<(Arc<EventDef>, bool), String> {
        let _definer = self.definer.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.registry();
        let existing = current.get(name).cloned();
        if let Some(e) = &existing
            && e.name() != name
        {
            return Err(format!(
                "platform_events.{name}: names differ only by case from {}",
                e.name()
            ));
        }
        if self.schema().object(name).is_some() {
            return Err(format!("platform_events.{name}: an object has that name"));
        }
        if existing.is_none() && current.defs.len() >= MAX_EVENT_DEFINITIONS {
            return Err(format!(
                "platform_events.{name}: an org has at most {MAX_EVENT_DEFINITIONS} platform \
                 event definitions"
            ));
        }
        let prefix = match &existing {
            Some(e) => e.object.key_prefix.clone(),
            None => current
                .next_prefix()
                .ok_or_else(|| "too many platform events".to_owned())?,
        };
        let def = Arc::new(EventDef::build(name, &config, &prefix)?);
        let mut batch = forcebus_store::Batch::new();
        let persisted = Persisted { prefix, config };
        batch.put(
            DEFINITIONS,
            name,
            Some(serde_json::to_string(&persisted).expect("config serialises")),
        );
        let new_schema = !self.schemas().contains(&def.schema_id);
        if new_schema {
            batch.put(
                crate::org::SCHEMAS,
                &def.schema_id,
                Some(def.schema.json_text()),
            );
        }
        self.store.commit(&batch).map_err(|e| e.to_string())?;
        if new_schema {
            self.schemas().add(&def.schema);
        }
        let mut next = (*current).clone();
        next.defs.insert(name.to_ascii_lowercase(), def.clone());
        *self.platform.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        tracing::info!(event = %name, schema_id = %def.schema_id, "Platform event defined.");
        Ok((def, existing.is_none()))
    }

    /// Removes a definition; its events stay in the log until retention takes them, but no
    /// channel shows them. `Ok(false)` when there was none.
    pub fn remove_platform_event(&self, name: &str) -> Result<bool, forcebus_store::StoreError> {
        let _definer = self.definer.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.registry();
        let Some(def) = current.get(name).cloned() else {
            return Ok(false);
        };
        let mut batch = forcebus_store::Batch::new();
        batch.put(DEFINITIONS, def.name(), None);
        self.store.commit(&batch)?;
        let mut next = (*current).clone();
        next.defs.remove(&name.to_ascii_lowercase());
        *self.platform.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        Ok(true)
    }
}
