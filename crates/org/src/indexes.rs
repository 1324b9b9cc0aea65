//! Equality indexes on reference and external-id fields, kept with the committed state:
//! lookups by parent id (child subqueries, cascades) and by external id (upserts, SOQL
//! equality filters) without scanning.

use std::collections::HashMap;

use forcebus_meta::{FieldDef, FieldType, ObjectDef, RecordId, Schema};

use crate::FastMap;
use crate::fields::FieldRef;
use crate::record::Record;
use forcebus_record::IdSet;

/// Equality indexes: object → field → key → ids. A key no record has any more is let go.
#[derive(Debug, Default)]
pub(crate) struct Indexes(FastMap<String, FastMap<String, HashMap<Key, IdSet>>>);

/// An index key: a reference's id, or an external id's lower-case text (a number's
/// decimal text).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Id(RecordId),
    Text(String),
}

impl Key {
    /// The key a lookup names for `f` in text: an id (15 or 18 characters) for a
    /// reference, lower-case text otherwise. `None` for text that is no id.
    pub(crate) fn parse(f: &FieldDef, s: &str) -> Option<Self> {
        if f.ftype == FieldType::Reference {
            RecordId::parse(s).map(Key::Id)
        } else {
            Some(Key::Text(s.to_lowercase()))
        }
    }
}

/// Whether a field gets an equality index.
pub(crate) fn indexed(f: &FieldDef) -> bool {
    f.ftype == FieldType::Reference || f.external_id
}

/// The index key of a stored value.
pub(crate) fn key_of(f: &FieldDef, v: FieldRef<'_>) -> Option<Key> {
    match v {
        FieldRef::Str(s) if f.ftype == FieldType::Reference => RecordId::parse(s).map(Key::Id),
        FieldRef::Str(s) => Some(Key::Text(s.to_lowercase())),
        FieldRef::U64(_) | FieldRef::I64(_) | FieldRef::F64(_) => Some(Key::Text(v.to_string())),
        _ => None,
    }
}

impl Indexes {
    pub(crate) fn add(&mut self, schema: &Schema, r: &Record) {
        let Some(object) = schema.object(&r.object) else {
            return;
        };
        let mut keys = keys(object, r).peekable();
        if keys.peek().is_none() {
            return;
        }
        if !self.0.contains_key(&object.name) {
            self.0.insert(object.name.clone(), FastMap::default());
        }
        let fields = self.0.get_mut(&object.name).expect("added above");
        for (field, key) in keys {
            let by_key = match fields.get_mut(&field.name) {
                Some(by_key) => by_key,
                None => fields.entry(field.name.clone()).or_default(),
            };
            by_key.entry(key).or_default().insert(r.id);
        }
    }

    pub(crate) fn remove(&mut self, schema: &Schema, r: &Record) {
        let Some(object) = schema.object(&r.object) else {
            return;
        };
        let Some(fields) = self.0.get_mut(&object.name) else {
            return;
        };
        for (field, key) in keys(object, r) {
            let Some(by_key) = fields.get_mut(&field.name) else {
                continue;
            };
            if let Some(ids) = by_key.get_mut(&key) {
                ids.remove(&r.id);
                if ids.is_empty() {
                    by_key.remove(&key);
                }
            }
        }
    }

    /// Ids whose `field` has `key`; `None` when the field is not indexed.
    pub(crate) fn get(
        &self,
        schema: &Schema,
        object: &str,
        field: &str,
        key: &str,
    ) -> Option<Vec<RecordId>> {
        let o = schema.object(object)?;
        let f = o.field(field).filter(|f| indexed(f))?;
        let Some(key) = Key::parse(f, key) else {
            return Some(Vec::new());
        };
        Some(self.get_key(&o.name, &f.name, &key))
    }

    /// Ids whose `field` (an indexed field of `object`, both as the schema names them)
    /// has `key`.
    pub(crate) fn get_key(&self, object: &str, field: &str, key: &Key) -> Vec<RecordId> {
        let ids = self
            .0
            .get(object)
            .and_then(|fields| fields.get(field))
            .and_then(|m| m.get(key));
        ids.map(|s| s.iter().collect()).unwrap_or_default()
    }
}

/// The indexed fields of `r` that have a key, and their keys.
fn keys<'o>(object: &'o ObjectDef, r: &Record) -> impl Iterator<Item = (&'o FieldDef, Key)> {
    object
        .fields
        .iter()
        .filter(|f| indexed(f))
        .filter_map(|f| Some((f, key_of(f, r.get(&f.name))?)))
}
