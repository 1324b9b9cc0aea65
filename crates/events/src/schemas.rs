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

    /// [`EventSchema::for_change_events`] of an object of an org's schema: made once per
    /// process for an object of the standard catalogue itself (every org of a server
    /// shares it, and it is never dropped), anew for any other. An org's own objects (a
    /// standard one given a runtime or declared field, a custom one) are copied afresh at
    /// each opening of the org, so a schema kept for one would outlive it: a cache of them
    /// kept about 20 KB (Account's) at each wake of an org with a runtime field.
    pub fn for_shared_object(object: &Arc<ObjectDef>) -> Arc<Self> {
        use std::sync::OnceLock;
        /// A slot for each object of the standard catalogue that has change events, by the
        /// object's address: those objects are never dropped, so their addresses are
        /// never another object's, and the map never grows.
        type Made = HashMap<usize, OnceLock<Arc<EventSchema>>>;
        static MADE: OnceLock<Made> = OnceLock::new();
        let made = MADE.get_or_init(|| {
            forcebus_meta::standard::shared_catalogue()
                .chain(forcebus_meta::standard::shared_tooling_catalogue())
                .filter(|o| o.change_events)
                .map(|o| (Arc::as_ptr(&o) as usize, OnceLock::new()))
                .collect()
        });
        match made.get(&(Arc::as_ptr(object) as usize)) {
            Some(slot) => slot
                .get_or_init(|| Arc::new(Self::for_change_events(object)))
                .clone(),
            None => Arc::new(Self::for_change_events(object)),
        }
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
        self.avro.json_text()
    }

    /// The Avro schema, for the protocols.
    pub fn avro(&self) -> &forcebus_avro::Schema {
        &self.avro
    }
}

/// Every schema an org has issued, as JSON text by id, with the parsed form cached.
/// Schemas are only ever added: an event keeps the schema it was written with.
///
/// A schema is stored by the org either at once ([`Schemas::add`]: its caller stores the
/// text) or with the first event that names it ([`Schemas::add_unstored`], then
/// [`Schemas::take_unstored`] into that event's commit): an org stores the change-event
/// schemas of the standard objects it uses, not of the whole catalogue.
#[derive(Debug, Default)]
pub struct Schemas {
    texts: RwLock<HashMap<String, Arc<str>>>,
    parsed: Mutex<HashMap<String, Arc<forcebus_avro::Schema>>>,
    unstored: Mutex<std::collections::HashSet<String>>,
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
            unstored: Mutex::default(),
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

    /// Adds a schema the store does not hold yet: it is stored with the first event that
    /// names it.
    pub fn add_unstored(&self, schema: &EventSchema) {
        if self.add(schema).is_some() {
            self.unstored.locked().insert(schema.id().to_owned());
        }
    }

    /// The texts among `ids` the store does not hold yet, for the commit that writes the
    /// first events naming them; they count as stored from now on (a commit that fails
    /// gives them back with [`Schemas::give_back`]).
    pub fn take_unstored<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Vec<(String, Arc<str>)> {
        let mut unstored = self.unstored.locked();
        if unstored.is_empty() {
            return Vec::new();
        }
        let texts = self.read();
        let mut out = Vec::new();
        for id in ids {
            if unstored.remove(id)
                && let Some(text) = texts.get(id)
            {
                out.push((id.to_owned(), text.clone()));
            }
        }
        out
    }

    /// The text of `id` when the store does not hold it yet, left unstored (for a write
    /// that may fail, after which storing it again is harmless).
    pub fn unstored_text(&self, id: &str) -> Option<Arc<str>> {
        if !self.unstored.locked().contains(id) {
            return None;
        }
        self.read().get(id).cloned()
    }

    /// Marks taken texts unstored again: the commit that was to store them failed.
    pub fn give_back(&self, taken: &[(String, Arc<str>)]) {
        let mut unstored = self.unstored.locked();
        for (id, _) in taken {
            unstored.insert(id.clone());
        }
    }

    /// Every schema id held, with the name of the record it describes
    /// (`AccountChangeEvent`, `Order_Shipped__e`).
    pub fn named(&self) -> Vec<(String, String)> {
        #[derive(serde::Deserialize)]
        struct Named {
            name: String,
        }
        self.read()
            .iter()
            .filter_map(|(id, text)| {
                let n: Named = serde_json::from_str(text).ok()?;
                Some((id.clone(), n.name))
            })
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catalogue_objects_schema_is_made_once_and_another_objects_is_the_callers_alone() {
        let account = forcebus_meta::standard::shared_catalogue()
            .find(|o| o.name == "Account")
            .unwrap();
        let first = EventSchema::for_shared_object(&account);
        assert!(Arc::ptr_eq(
            &first,
            &EventSchema::for_shared_object(&account)
        ));
        // An org's own copy, as an org opening with a runtime field makes at each opening:
        // its schema and the object are held by nobody else, however often it is asked.
        let own = Arc::new((*account).clone());
        for _ in 0..3 {
            let schema = EventSchema::for_shared_object(&own);
            assert_eq!(schema.id(), first.id());
            assert_eq!(Arc::strong_count(&schema), 1, "nothing keeps the schema");
        }
        assert_eq!(
            Arc::weak_count(&own),
            0,
            "nothing keeps a handle on the object"
        );
        assert_eq!(Arc::strong_count(&own), 1);
    }
}
