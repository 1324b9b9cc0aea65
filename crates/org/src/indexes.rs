//! Equality indexes on reference and external-id fields, kept with the committed state:
//! lookups by parent id (child subqueries, cascades) and by external id (upserts, SOQL
//! equality filters) without scanning.

use crate::fields::FieldRef;
use std::collections::{BTreeSet, HashMap};

use forcebus_meta::{FieldDef, FieldType, RecordId, Schema};

use crate::record::Record;

/// Equality indexes: (object, field) → key → ids. Keys are 18-character ids for
/// references and lower-case text for external ids.
#[derive(Debug, Default)]
pub(crate) struct Indexes(HashMap<(String, String), HashMap<String, BTreeSet<RecordId>>>);

/// Whether a field gets an equality index.
pub(crate) fn indexed(f: &FieldDef) -> bool {
    f.ftype == FieldType::Reference || f.external_id
}

/// The index key of a stored value.
pub(crate) fn key_of(f: &FieldDef, v: FieldRef<'_>) -> Option<String> {
    match v {
        FieldRef::Str(s) if f.ftype == FieldType::Reference => {
            RecordId::parse(s).map(|id| id.to18())
        }
        FieldRef::Str(s) => Some(s.to_lowercase()),
        FieldRef::U64(_) | FieldRef::I64(_) | FieldRef::F64(_) => Some(v.to_string()),
        _ => None,
    }
}

impl Indexes {
    pub(crate) fn add(&mut self, schema: &Schema, r: &Record) {
        self.each(schema, r, |set, id| {
            set.insert(id);
        });
    }

    pub(crate) fn remove(&mut self, schema: &Schema, r: &Record) {
        self.each(schema, r, |set, id| {
            set.remove(&id);
        });
    }

    fn each(
        &mut self,
        schema: &Schema,
        r: &Record,
        mut f: impl FnMut(&mut BTreeSet<RecordId>, RecordId),
    ) {
        let Some(object) = schema.object(&r.object) else {
            return;
        };
        for field in object.fields.iter().filter(|f| indexed(f)) {
            if let Some(key) = key_of(field, r.get(&field.name)) {
                let slot = self
                    .0
                    .entry((object.name.clone(), field.name.clone()))
                    .or_default();
                f(slot.entry(key).or_default(), r.id);
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
        let f = schema.object(object)?.field(field).filter(|f| indexed(f))?;
        let ids = self
            .0
            .get(&(object.to_owned(), f.name.clone()))
            .and_then(|m| m.get(key));
        Some(ids.map(|s| s.iter().copied().collect()).unwrap_or_default())
    }
}
