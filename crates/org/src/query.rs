//! SOQL over the org: the committed state as a [`forcebus_soql::Source`], with indexes on
//! reference and external-id fields.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use forcebus_meta::{FieldDef, FieldType, ObjectDef, RecordId, Schema};
use forcebus_soql::{Context, Output, Record as SoqlRecord, Source};

use crate::Org;
use crate::record::Record;
use crate::state::State;

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

impl Org {
    /// What a query evaluates against: now, the API version of record URLs, and whether
    /// the Recycle Bin counts.
    fn query_context(&self, version: &str, all_rows: bool) -> forcebus_soql::Context {
        forcebus_soql::Context {
            now: self.clock().now(),
            version: version.to_owned(),
            all_rows,
        }
    }

    /// Parses and runs a SOQL query. `all_rows` includes the Recycle Bin (`queryAll`);
    /// `visible` limits the objects that may be queried (the tooling API sees fewer).
    pub fn query(
        &self,
        text: &str,
        version: &str,
        all_rows: bool,
        visible: &dyn Fn(&ObjectDef) -> bool,
    ) -> Result<forcebus_soql::Output, forcebus_soql::SoqlError> {
        let plan = forcebus_soql::prepare(text, self.schema(), visible)?;
        let ctx = self.query_context(version, all_rows);
        let state = self.read();
        Ok(crate::query::run(&state, self.schema(), &plan, &ctx))
    }

    /// Runs a SOQL query for paging: the first `batch` rows shaped, and the ids of all
    /// the rows in order, which is all a cursor needs to keep to shape later pages with
    /// [`Org::query_rows`]. Aggregate queries come back whole, as from [`Org::query`].
    pub fn query_paged(
        &self,
        text: &str,
        version: &str,
        all_rows: bool,
        visible: &dyn Fn(&ObjectDef) -> bool,
        batch: usize,
    ) -> Result<QueryPage, forcebus_soql::SoqlError> {
        let plan = forcebus_soql::prepare(text, self.schema(), visible)?;
        let ctx = self.query_context(version, all_rows);
        let state = self.read();
        if plan.aggregate {
            let out = crate::query::run(&state, self.schema(), &plan, &ctx);
            return Ok(QueryPage {
                total_size: out.total_size,
                aggregate: true,
                first: out.records,
                ids: Vec::new(),
            });
        }
        let ids = crate::query::select_ids(&state, self.schema(), &plan, &ctx);
        let first = crate::query::shape_ids(
            &state,
            self.schema(),
            &plan,
            &ctx,
            &ids[..batch.min(ids.len())],
        );
        Ok(QueryPage {
            total_size: ids.len(),
            aggregate: false,
            first,
            ids,
        })
    }

    /// The rows of `ids` as the query `text` shapes them (a later page of
    /// [`Org::query_paged`]).
    pub fn query_rows(
        &self,
        text: &str,
        version: &str,
        all_rows: bool,
        visible: &dyn Fn(&ObjectDef) -> bool,
        ids: &[RecordId],
    ) -> Result<Vec<serde_json::Value>, forcebus_soql::SoqlError> {
        let plan = forcebus_soql::prepare(text, self.schema(), visible)?;
        let ctx = self.query_context(version, all_rows);
        let state = self.read();
        Ok(crate::query::shape_ids(
            &state,
            self.schema(),
            &plan,
            &ctx,
            ids,
        ))
    }

    /// The `columns=true` description of a query.
    pub fn query_columns(
        &self,
        text: &str,
        visible: &dyn Fn(&ObjectDef) -> bool,
    ) -> Result<serde_json::Value, forcebus_soql::SoqlError> {
        let plan = forcebus_soql::prepare(text, self.schema(), visible)?;
        Ok(forcebus_soql::columns::metadata(&plan))
    }
}

/// A paged query's first page and what later pages need.
#[derive(Debug, Clone)]
pub struct QueryPage {
    /// Rows matched (for `COUNT()`, the count).
    pub total_size: usize,
    /// Aggregate rows, which cannot be paged: `first` holds them all.
    pub aggregate: bool,
    /// The first page of rows (every row for aggregates).
    pub first: Vec<serde_json::Value>,
    /// Every selected record's id in order (empty for aggregates).
    pub ids: Vec<RecordId>,
}
