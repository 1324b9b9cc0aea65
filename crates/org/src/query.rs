//! The committed state as a [`forcebus_soql::Source`]: records as SOQL rows, lookups
//! through the equality indexes ([`crate::indexes`]); optionally with an interactive
//! transaction's uncommitted changes laid over it.

use std::collections::HashMap;

use serde_json::Value;

use forcebus_meta::{RecordId, Schema};
use forcebus_soql::{Context, Output, Source};

use crate::access::sharing::Level;
use crate::record::Record;
use crate::state::State;

/// A transaction's changes: the new state of each touched record (`None`: purged), and
/// the touched ids in first-touch order.
pub(crate) type Overlay<'a> = (&'a crate::Writes, &'a [RecordId]);

/// The committed state, read-locked for one query, with an uncommitted overlay or not.
pub(crate) struct View<'a> {
    pub(crate) state: &'a State,
    pub(crate) schema: &'a Schema,
    pub(crate) overlay: Option<Overlay<'a>>,
    /// The query's "now" (the org's clock, test controls included): what has ended.
    pub(crate) now: chrono::DateTime<chrono::Utc>,
    /// The rows of the activity objects, made when first scanned.
    activities: std::cell::OnceCell<HashMap<&'static str, Vec<Record>>>,
    /// The rows of the picklist-value objects (`LeadStatus`), made when first scanned.
    values: std::cell::OnceCell<HashMap<String, Vec<Record>>>,
    /// The schema's formulas, and who reads (`$User`): formula fields are computed as read.
    pub(crate) reading: Option<Reading<'a>>,
}

/// What formula fields are computed with: the schema's formulas, and the reading user
/// (none: the org's first user, its administrator); and whose access decides which
/// records there are (none: the org's own query, which sees every record).
#[derive(Clone, Copy)]
pub(crate) struct Reading<'a> {
    pub(crate) formulas: &'a crate::formulas::Formulas,
    pub(crate) user: Option<RecordId>,
    pub(crate) access: Option<&'a crate::access::Access>,
    /// The rows of `UserRecordAccess` the query asks for (made for it).
    pub(crate) made: &'a [Record],
}

impl<'a> View<'a> {
    /// A view of `state`, with a transaction's changes laid over it or not, for a query
    /// run in `ctx`.
    pub(crate) fn new(
        state: &'a State,
        schema: &'a Schema,
        overlay: Option<Overlay<'a>>,
        ctx: &Context,
    ) -> Self {
        Self {
            state,
            schema,
            overlay,
            now: ctx.now,
            activities: std::cell::OnceCell::new(),
            values: std::cell::OnceCell::new(),
            reading: None,
        }
    }

    /// The view, computing formula fields with `reading`.
    pub(crate) fn reading(mut self, reading: Reading<'a>) -> Self {
        self.reading = Some(reading);
        self
    }

    /// Whether `object`'s rows are made rather than stored.
    fn made(&self, object: &str) -> bool {
        object == crate::access::record_access::OBJECT
            || crate::activities::is_virtual(object)
            || self
                .schema
                .object(object)
                .is_some_and(|o| o.values_of.is_some())
    }

    /// The rows of every picklist-value object, stamped as made by the org's first user
    /// when it was made.
    fn value_rows(&self) -> &HashMap<String, Vec<Record>> {
        self.values.get_or_init(|| {
            let first = self
                .state
                .by_object
                .get("User")
                .and_then(|ids| ids.iter().next())
                .and_then(|id| self.state.records.get(&id));
            let admin = first.map_or(Value::Null, |u| Value::from(u.id.to18()));
            let created = first.map_or(Value::Null, |u| u.get("CreatedDate").to_value());
            self.schema
                .objects()
                .filter(|o| o.values_of.is_some())
                .map(|o| {
                    let rows = crate::picklists::rows(self.schema, o, &admin, &created);
                    (o.name.clone(), rows)
                })
                .collect()
        })
    }
}

impl crate::formulas::Reader for View<'_> {
    /// Formulas read every record, whoever reads the formula (they ignore sharing, as
    /// Salesforce's do).
    fn record(&self, id: RecordId) -> Option<&Record> {
        self.get_any(id)
    }

    fn organization(&self) -> Option<&Record> {
        let id = self.state.by_object.get("Organization")?.iter().next()?;
        self.state.records.get(&id)
    }

    fn user(&self) -> Option<RecordId> {
        self.reading.and_then(|r| r.user).or_else(|| {
            // The org's first user, its administrator.
            self.state.by_object.get("User")?.iter().next()
        })
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.now
    }
}

impl Source for View<'_> {
    type Rec = Record;

    fn formula(
        &self,
        r: &Record,
        object: &forcebus_meta::ObjectDef,
        field: &forcebus_meta::FieldDef,
    ) -> Value {
        match self.reading {
            Some(reading) => reading.formulas.value(self, r, object, field),
            None => Value::Null,
        }
    }

    /// The record `id`, if the reader may read it (an `Id` filter, a parent path).
    fn get(&self, id: RecordId) -> Option<&Record> {
        let r = self.get_any(id)?;
        match self.gate(r.object.as_str()) {
            Some(gate) if gate.level(r, &|id| self.get_any(id)) < Level::Read => None,
            _ => Some(r),
        }
    }

    fn scan<'a>(&'a self, object: &str) -> Box<dyn Iterator<Item = &'a Record> + 'a> {
        if crate::activities::is_virtual(object) {
            let rows = self.activities.get_or_init(|| {
                crate::activities::OBJECTS
                    .into_iter()
                    .map(|o| (o, crate::activities::rows(self, o, self.now)))
                    .collect()
            });
            return Box::new(rows.get(object).into_iter().flatten());
        }
        if object == crate::access::record_access::OBJECT {
            return Box::new(self.reading.map_or(&[][..], |r| r.made).iter());
        }
        if self.made(object) {
            return Box::new(self.value_rows().get(object).into_iter().flatten());
        }
        if let Some(gate) = self.gate(object) {
            if self.overlay.is_none() && gate.by_owner() {
                return Box::new(self.owned_or_shared(object, &gate).into_iter());
            }
            let rows = self.scan_all(object);
            return Box::new(
                rows.filter(move |r| gate.level(r, &|id| self.get(id)) >= Level::Read),
            );
        }
        self.scan_all(object)
    }

    fn lookup(&self, object: &str, field: &str, key: &str) -> Option<Vec<&Record>> {
        let mut rows = self.lookup_all(object, field, key)?;
        if let Some(gate) = self.gate(object) {
            rows.retain(|r| gate.level(r, &|id| self.get_any(id)) >= Level::Read);
        }
        Some(rows)
    }
}

impl<'a> View<'a> {
    /// The record `id`, whoever reads.
    fn get_any(&self, id: RecordId) -> Option<&Record> {
        match self.overlay.and_then(|(o, _)| o.get(&id)) {
            Some(touched) => touched.as_ref(),
            None => self.state.records.get(&id).or_else(|| {
                // A made row: a picklist value's, or one of `UserRecordAccess`.
                let def = self.schema.object_by_prefix(id.prefix())?;
                if def.name == crate::access::record_access::OBJECT {
                    return self.reading?.made.iter().find(|r| r.id == id);
                }
                def.values_of.as_ref()?;
                self.value_rows().values().flatten().find(|r| r.id == id)
            }),
        }
    }

    /// The gate of `object`'s records for the reading user, when it hides some of them.
    fn gate(&self, object: &str) -> Option<crate::access::sharing::Gate<'a>> {
        let access = self.reading?.access.filter(|a| !a.is_everything())?;
        let def = self.schema.object(object)?;
        let gate = access.gate(self.schema, def);
        (!gate.reads_all()).then_some(gate)
    }

    /// The records of a Private object the reader owns (or users below them own), and
    /// those shared with them: found through the owner index and the shares, in
    /// creation order, without reading the others.
    fn owned_or_shared(
        &self,
        object: &str,
        gate: &crate::access::sharing::Gate<'_>,
    ) -> Vec<&'a Record> {
        let prefix = self
            .schema
            .object(object)
            .map_or("", |o| o.key_prefix.as_str());
        let mut ids: Vec<RecordId> = gate
            .owners()
            .filter_map(|o| {
                self.state
                    .indexes
                    .get(self.schema, object, "OwnerId", &o.to18())
            })
            .flatten()
            .chain(
                gate.shared()
                    .filter(|(id, l)| id.prefix() == prefix && **l >= Level::Read)
                    .map(|(id, _)| *id),
            )
            .collect();
        // Ids sort as they were made (their bytes are base-62 digits in order).
        ids.sort_unstable();
        ids.dedup();
        let state = self.state;
        ids.into_iter()
            .filter_map(|id| state.records.get(&id))
            .filter(|r| r.object.as_str() == object)
            .collect()
    }

    /// Every record of `object`, the transaction's changes laid over them.
    fn scan_all(&self, object: &str) -> Box<dyn Iterator<Item = &'a Record> + '_> {
        let ids = self.state.by_object.get(object).into_iter().flatten();
        let Some((overlay, order)) = self.overlay else {
            let state = self.state;
            return Box::new(ids.filter_map(move |id| state.records.get(&id)));
        };
        // Committed records in creation order, as the transaction left them; then the
        // ones it created.
        let committed = ids.filter_map(move |id| match overlay.get(&id) {
            Some(touched) => touched.as_ref(),
            None => self.state.records.get(&id),
        });
        let object = object.to_owned();
        let created = order
            .iter()
            .filter(|id| !self.state.records.contains_key(id))
            .filter_map(move |id| overlay.get(id)?.as_ref())
            .filter(move |r| r.object == object);
        Box::new(committed.chain(created))
    }

    /// Every record of `object` whose indexed `field` has `key`.
    fn lookup_all(&self, object: &str, field: &str, key: &str) -> Option<Vec<&'a Record>> {
        if self.made(object) {
            // No index: their rows are made, then filtered.
            return None;
        }
        let ids = self.state.indexes.get(self.schema, object, field, key)?;
        let Some((overlay, order)) = self.overlay else {
            return Some(
                ids.iter()
                    .filter_map(|id| self.state.records.get(id))
                    .collect(),
            );
        };
        // The indexes know only committed values: the records the transaction touched
        // are matched by their new values instead.
        let f = self.schema.object(object)?.field(field)?;
        let key = crate::indexes::Key::parse(f, key);
        let committed = ids
            .iter()
            .filter(|id| !overlay.contains_key(id))
            .filter_map(|id| self.state.records.get(id));
        let touched = order
            .iter()
            .filter_map(|id| overlay.get(id)?.as_ref())
            .filter(|r| {
                r.object == object
                    && key.is_some()
                    && crate::indexes::key_of(f, r.get(&f.name)) == key
            });
        Some(committed.chain(touched).collect())
    }
}

/// Runs a bound plan over a state.
pub(crate) fn run(
    state: &State,
    reading: Reading<'_>,
    plan: &forcebus_soql::Plan<'_>,
    ctx: &Context,
) -> Output {
    let schema = reading.formulas.schema();
    let view = View::new(state, schema, None, ctx).reading(reading);
    forcebus_soql::execute(plan, &view, ctx)
}

/// The ids `plan` selects, in order (non-aggregate plans).
pub(crate) fn select_ids(
    state: &State,
    reading: Reading<'_>,
    plan: &forcebus_soql::Plan<'_>,
    ctx: &Context,
) -> Vec<crate::RecordId> {
    let schema = reading.formulas.schema();
    let view = View::new(state, schema, None, ctx).reading(reading);
    forcebus_soql::select_ids(plan, &view, ctx)
}

/// The rows of `ids` as `plan` shapes them.
pub(crate) fn shape_ids(
    state: &State,
    reading: Reading<'_>,
    plan: &forcebus_soql::Plan<'_>,
    ctx: &Context,
    ids: &[crate::RecordId],
) -> Vec<serde_json::Value> {
    let schema = reading.formulas.schema();
    let view = View::new(state, schema, None, ctx).reading(reading);
    forcebus_soql::shape_ids(plan, &view, ctx, ids)
}
