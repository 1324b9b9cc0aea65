//! The committed state of an org: its records, their indexes, and the counters a
//! transaction advances. Read under the org's lock; changed only by a commit.

use std::collections::HashMap;

use forcebus_store::{Store, StoreError, StoredRecord};

use crate::id::RecordId;
use crate::meta::Schema;
use crate::record::{Body, Deletion, Record};
use forcebus_record::IdSet;

/// Where the org's identity and counters are kept in the store.
pub(crate) const ORG: &str = "org";

/// Commit numbers start here, so they look like Salesforce's system change numbers.
const COMMIT_NUMBER_BASE: i64 = 10_000_000_000_000;

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) records: forcebus_record::RecordSet,
    /// Equality indexes on reference and external-id fields.
    pub(crate) indexes: crate::indexes::Indexes,
    /// Ids per canonical object name, in id (creation) order.
    pub(crate) by_object: crate::FastMap<String, IdSet>,
    pub(crate) next_id: u64,
    /// The last auto number given per object (`CaseNumber`, `OrderNumber`, ...: one
    /// sequence per object, as Salesforce keeps them; stored as `next_number.{Object}`).
    pub(crate) next_numbers: Numbers,
    /// Where every object's sequence starts: the one org-wide sequence earlier versions
    /// kept (`next_case`), so numbers they gave are not given again.
    pub(crate) number_floor: u64,
    /// The last transaction's commit number.
    pub(crate) commit_number: i64,
}

/// The last auto number given, per object.
pub(crate) type Numbers = std::collections::BTreeMap<String, u64>;

/// The stored key of an object's auto-number sequence, before the object's name.
pub(crate) const NUMBER_KEY: &str = "next_number.";

impl State {
    /// Reads the records and counters from `store`; `values` are the org's stored values.
    pub(crate) fn load(
        store: &dyn Store,
        schema: &Schema,
        values: &HashMap<String, String>,
    ) -> Result<Self, StoreError> {
        let mut state = State::default();
        for row in store.load_records()? {
            if let Some(r) = decode(&row) {
                state.insert(schema, r);
            }
        }
        let number = |key: &str| values.get(key).and_then(|v| v.parse().ok());
        state.next_id = number("next_id").unwrap_or(0);
        state.number_floor = number("next_case").unwrap_or(0);
        state.next_numbers = values
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(NUMBER_KEY)?.to_owned(), v.parse().ok()?)))
            .collect();
        state.commit_number = values
            .get("commit_number")
            .and_then(|v| v.parse().ok())
            .unwrap_or(COMMIT_NUMBER_BASE);
        Ok(state)
    }

    pub(crate) fn insert(&mut self, schema: &Schema, mut r: Record) {
        // Every record of the org stays in memory: packed, its names shared.
        r.fields.pack();
        self.remove(schema, &r.id);
        match self.by_object.get_mut(r.object.as_str()) {
            Some(ids) => {
                ids.insert(r.id);
            }
            None => {
                let mut ids = IdSet::default();
                ids.insert(r.id);
                self.by_object.insert(r.object.to_string(), ids);
            }
        }
        self.indexes.add(schema, &r);
        self.records.insert(r);
    }

    pub(crate) fn remove(&mut self, schema: &Schema, id: &RecordId) {
        if let Some(r) = self.records.remove(id) {
            self.indexes.remove(schema, &r);
            if let Some(ids) = self.by_object.get_mut(r.object.as_str()) {
                ids.remove(id);
            }
        }
    }

    /// Every record of `object` (canonical name), deleted or not, in creation order.
    pub(crate) fn of<'s>(&'s self, object: &str) -> impl Iterator<Item = &'s Record> + 's {
        self.by_object
            .get(object)
            .into_iter()
            .flatten()
            .filter_map(|id| self.records.get(&id))
    }
}

fn decode(row: &StoredRecord) -> Option<Record> {
    let body: Body = match serde_json::from_str(&row.body) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(id = %row.id, error = %e, "Stored record is unreadable; skipped.");
            return None;
        }
    };
    Some(Record {
        id: RecordId::parse(&row.id)?,
        object: (&row.object).into(),
        fields: body.fields,
        is_deleted: row.is_deleted,
        deleted: Deletion::of(
            body.deleted_at,
            body.deleted_with.as_deref().and_then(RecordId::parse),
        ),
    })
}
