//! Event schemas: the Avro schema of each event type, its id, and every schema an org
//! ever issued, kept by id so an event renders in the schema it was written with.

use forcebus_sync::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use forcebus_meta::ObjectDef;
use serde_json::Value;

/// One event type's schema and its id (which changes when the type's fields change).
#[derive(Debug, Clone, PartialEq)]
pub struct EventSchema {
    avro: forcebus_avro::Schema,
    id: String,
}

impl EventSchema {
    fn new(avro: forcebus_avro::Schema) -> Self {
        let id = forcebus_avro::schema_id(&avro);
        Self { avro, id }
    }

    /// The schema of an object's change events.
    pub fn for_change_events(object: &ObjectDef) -> Self {
        Self::new(forcebus_avro::change::change_event_schema(object))
    }

    /// The schema of a platform event (COMPACT: the standard fields, then the custom ones).
    pub fn for_platform_event(event: &ObjectDef) -> Self {
        Self::new(forcebus_avro::platform::event_schema(event))
    }

    /// The schema id, 22 characters.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The schema as JSON text, as the schema endpoints return it.
    pub fn json_text(&self) -> String {
        self.avro.to_json().to_string()
    }

    /// The Avro schema, for the protocols.
    pub fn avro(&self) -> &forcebus_avro::Schema {
        &self.avro
    }
}

/// Every schema an org has issued, as JSON text by id, with the parsed form cached.
/// Schemas are only ever added: an event keeps the schema it was written with.
#[derive(Debug, Default)]
pub struct Schemas {
    texts: RwLock<HashMap<String, Arc<str>>>,
    parsed: Mutex<HashMap<String, Arc<forcebus_avro::Schema>>>,
}

impl Schemas {
    /// The schemas read back from storage.
    pub fn new(texts: HashMap<String, String>) -> Self {
        let texts = texts
            .into_iter()
            .map(|(id, text)| {
                let shared = interned(&id, || text);
                (id, shared)
            })
            .collect();
        Self {
            texts: RwLock::new(texts),
            parsed: Mutex::default(),
        }
    }

    /// Whether a schema with this id is known.
    pub fn contains(&self, id: &str) -> bool {
        self.read().contains_key(id)
    }

    /// Adds a schema; its text, for the caller to store, when it was not known.
    pub fn add(&self, schema: &EventSchema) -> Option<String> {
        let mut texts = self.texts.write_locked();
        if texts.contains_key(schema.id()) {
            return None;
        }
        let text = interned(schema.id(), || schema.json_text());
        texts.insert(schema.id().to_owned(), text.clone());
        Some(text.to_string())
    }

    /// A schema as JSON, by id.
    pub fn json(&self, id: &str) -> Option<Value> {
        self.read()
            .get(id)
            .and_then(|t| serde_json::from_str(t).ok())
    }

    /// A schema as Avro, by id, parsed once.
    pub fn avro(&self, id: &str) -> Option<Arc<forcebus_avro::Schema>> {
        let mut cache = self.parsed.locked();
        if let Some(s) = cache.get(id) {
            return Some(s.clone());
        }
        let json: Value = serde_json::from_str(self.read().get(id)?).ok()?;
        let schema = Arc::new(forcebus_avro::Schema::from_json(&json).ok()?);
        cache.insert(id.to_owned(), schema.clone());
        Some(schema)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<str>>> {
        self.texts.read_locked()
    }
}

/// A schema's text, shared by every org holding that id (an id is the schema's
/// fingerprint, so one id is one text): the orgs of a server share the standard objects'
/// change-event schemas instead of holding a copy each. Held weakly here, so a text goes
/// with the last org holding it.
fn interned(id: &str, text: impl FnOnce() -> String) -> Arc<str> {
    use std::sync::{OnceLock, Weak};
    /// The texts by id, and the size past which the ones no org holds are forgotten (a
    /// forgotten text's memory goes with its last weak reference).
    type Interned = (HashMap<String, Weak<str>>, usize);
    static TEXTS: OnceLock<Mutex<Interned>> = OnceLock::new();
    let mut guard = TEXTS
        .get_or_init(|| Mutex::new((HashMap::new(), 1024)))
        .locked();
    let (texts, sweep_at) = &mut *guard;
    if let Some(shared) = texts.get(id).and_then(Weak::upgrade) {
        return shared;
    }
    if texts.len() >= *sweep_at {
        texts.retain(|_, t| t.strong_count() > 0);
        *sweep_at = (texts.len() * 2).max(1024);
    }
    let shared: Arc<str> = Arc::from(text());
    texts.insert(id.to_owned(), Arc::downgrade(&shared));
    shared
}
