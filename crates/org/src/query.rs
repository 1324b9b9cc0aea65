//! SOQL over the org: the committed state as a [`forcebus_soql::Source`], with indexes on
//! reference and external-id fields.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use forcebus_meta::{FieldDef, FieldType, ObjectDef, RecordId, Schema};
use forcebus_soql::{Context, Output, Record as SoqlRecord, Source};

use crate::org::State;
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
pub(crate) fn key_of(f: &FieldDef, v: &Value) -> Option<String> {
    match v {
        Value::String(s) if f.ftype == FieldType::Reference => {
            RecordId::parse(s).map(|id| id.to18())
        }
        Value::String(s) => Some(s.to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
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

impl SoqlRecord for Record {
    fn id(&self) -> RecordId {
        self.id
    }

    fn is_deleted(&self) -> bool {
        self.is_deleted
    }

    fn value(&self, object: &ObjectDef, field: &FieldDef) -> Value {
        self.rest_value(object, &field.name)
    }
}

/// The committed state, read-locked for one query.
pub(crate) struct View<'a> {
    pub(crate) state: &'a State,
    pub(crate) schema: &'a Schema,
}

impl Source for View<'_> {
    type Rec = Record;

    fn get(&self, id: RecordId) -> Option<&Record> {
        self.state.records.get(&id)
    }

    fn scan<'a>(&'a self, object: &str) -> Box<dyn Iterator<Item = &'a Record> + 'a> {
        match self.state.by_object.get(object) {
            Some(ids) => Box::new(ids.iter().filter_map(|id| self.state.records.get(id))),
            None => Box::new(std::iter::empty()),
        }
    }

    fn lookup(&self, object: &str, field: &str, key: &str) -> Option<Vec<&Record>> {
        let ids = self.state.indexes.get(self.schema, object, field, key)?;
        Some(
            ids.iter()
                .filter_map(|id| self.state.records.get(id))
                .collect(),
        )
    }
}

/// Runs a bound plan over a state.
pub(crate) fn run(
    state: &State,
    schema: &Schema,
    plan: &forcebus_soql::Plan<'_>,
    ctx: &Context,
) -> Output {
    forcebus_soql::execute(plan, &View { state, schema }, ctx)
}

/// The ids `plan` selects, in order (non-aggregate plans).
pub(crate) fn select_ids(
    state: &State,
    schema: &Schema,
    plan: &forcebus_soql::Plan<'_>,
    ctx: &Context,
) -> Vec<crate::RecordId> {
    forcebus_soql::select_ids(plan, &View { state, schema }, ctx)
}

/// The rows of `ids` as `plan` shapes them.
pub(crate) fn shape_ids(
    state: &State,
    schema: &Schema,
    plan: &forcebus_soql::Plan<'_>,
    ctx: &Context,
    ids: &[crate::RecordId],
) -> Vec<serde_json::Value> {
    forcebus_soql::shape_ids(plan, &View { state, schema }, ctx, ids)
}
