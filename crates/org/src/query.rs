//! The committed state as a [`forcebus_soql::Source`]: records as SOQL rows, lookups
//! through the equality indexes ([`crate::indexes`]).

use serde_json::Value;

use forcebus_meta::{FieldDef, ObjectDef, RecordId, Schema};
use forcebus_soql::{Context, Output, Record as SoqlRecord, Source};

use crate::record::Record;
use crate::state::State;

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
