//! Field history: for an object that keeps it, every write leaves rows in its history
//! object (`AccountHistory`, `Invoice__History`): a `created` row for a new record, and a
//! row for each tracked field a change gave a new value (old and new value, data type,
//! who and when), in the same transaction. Deletes and undeletes leave none.

use serde_json::{Map, Value};

use crate::custom::{CREATED, data_type, history_object};
use crate::id::RecordId;
use crate::record::Record;
use crate::txn::Txn;

/// A record of an object that keeps history, as written, and as it stood before (none:
/// new).
pub(super) struct Tracked {
    rec: Record,
    prior: Option<Record>,
}

/// The records among `records` whose writes leave history, each with its prior state;
/// worked out before they are written.
pub(super) fn tracked(txn: &Txn<'_>, records: &[Record]) -> Vec<Tracked> {
    records
        .iter()
        .filter(|r| !r.is_deleted)
        .filter(|r| {
            txn.schema
                .object(&r.object)
                .is_some_and(|o| o.enable_history)
        })
        .filter_map(|r| {
            let prior = txn.current(&r.id).cloned();
            // An undelete is not a change of a field.
            (!prior.as_ref().is_some_and(|p| p.is_deleted)).then(|| Tracked {
                rec: r.clone(),
                prior,
            })
        })
        .collect()
}

/// Writes the history rows of `tracked` into the transaction.
pub(super) fn write(txn: &mut Txn<'_>, tracked: Vec<Tracked>) {
    for Tracked { rec, prior } in tracked {
        let (object, key) = history_object(&rec.object);
        let Some(def) = txn.schema.object(&rec.object) else {
            continue;
        };
        let Some(history) = txn.schema.object(&object) else {
            continue;
        };
        let changes: Vec<(String, &'static str, Value, Value)> = match &prior {
            None => vec![(CREATED.to_owned(), "Text", Value::Null, Value::Null)],
            Some(prior) => def
                .fields
                .iter()
                .filter(|f| f.track_history)
                .filter_map(|f| {
                    let old = prior.get(&f.name).to_value();
                    let new = rec.get(&f.name).to_value();
                    (old != new).then(|| (f.name.clone(), data_type(f), old, new))
                })
                .collect(),
        };
        let prefix = history.key_prefix.clone();
        for (field, kind, old, new) in changes {
            txn.next_id += 1;
            let id = RecordId::mint(&prefix, txn.next_id);
            let mut fields = Map::new();
            fields.insert("Id".into(), Value::from(id.to18()));
            fields.insert("IsDeleted".into(), Value::Bool(false));
            fields.insert(key.clone(), Value::from(rec.id.to18()));
            fields.insert("CreatedById".into(), Value::from(txn.caller.user_id.to18()));
            fields.insert("CreatedDate".into(), Value::from(txn.now.as_str()));
            fields.insert("Field".into(), Value::from(field));
            fields.insert("DataType".into(), Value::from(kind));
            fields.insert("OldValue".into(), old);
            fields.insert("NewValue".into(), new);
            let row = Record {
                id,
                object: object.as_str().into(),
                fields: fields.into(),
                is_deleted: false,
                deleted: None,
            };
            txn.set(id, Some(row));
        }
    }
}
