//! The org's validation rules: after the system validation and the standard objects'
//! behaviours (Salesforce's order of execution), each active rule of the record's object
//! is run on the record as it would be saved; every rule whose condition is true refuses
//! the write, each with its own error (`FIELD_CUSTOM_VALIDATION_EXCEPTION`, its message,
//! the field it is shown on).
//!
//! A test control turns an org's rules off for a data load (as teams do with a custom
//! setting); the transaction says whether they run ([`Txn::validating`]).

use crate::error::{Code, OrgError};
use crate::meta::ObjectDef;
use crate::record::Record;
use crate::txn::Txn;

/// Refuses `rec` (of `def`; `before` is the record as it was, none for an insert) when it
/// breaks one of its object's active validation rules.
pub(super) fn check(
    txn: &Txn<'_>,
    def: &ObjectDef,
    rec: &Record,
    before: Option<&Record>,
) -> Result<(), OrgError> {
    if !txn.validating || !txn.formulas.has_rules(&def.name) {
        return Ok(());
    }
    let mut broken = txn
        .formulas
        .broken(txn, def, rec, before)
        .into_iter()
        .map(|r| OrgError {
            code: Code::FieldCustomValidationException,
            message: r.message.clone(),
            fields: r.display_field.iter().cloned().collect(),
            also: Vec::new(),
        });
    let Some(mut first) = broken.next() else {
        return Ok(());
    };
    first.also = broken.collect();
    Err(first)
}
