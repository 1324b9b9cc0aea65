//! Unique values, the last of the org's rules before a record is written, as a database
//! enforces a unique index when the record is saved: no other live record of its object
//! holds the value of one of its unique fields (text compared case-insensitively), nor of
//! a field Salesforce keeps unique beyond what describe says.

use crate::error::{Code, OrgError};
use crate::meta::ObjectDef;
use crate::record::Record;
use crate::txn::Txn;

/// Refuses `rec` (of `def`) when another live record holds one of its unique values.
pub(super) fn check(txn: &Txn<'_>, def: &ObjectDef, rec: &Record) -> Result<(), OrgError> {
    let beyond = forcebus_meta::standard::unique_beyond_describe(&def.name);
    for f in def
        .fields
        .iter()
        .filter(|f| f.unique || beyond.contains(&f.name.as_str()))
    {
        let v = rec.get(&f.name);
        if v.is_null() {
            continue;
        }
        if let Some(other) = txn.equal(def, f, v, Some(rec.id)).first() {
            return Err(OrgError::field(
                Code::DuplicateValue,
                format!(
                    "duplicate value found: {} duplicates value on record with id: {}",
                    f.name,
                    other.id.to18()
                ),
                &f.name,
            ));
        }
    }
    Ok(())
}
