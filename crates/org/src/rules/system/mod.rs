//! System validation, the first of the org's rules: what Salesforce checks of every
//! record whatever its object. A client's fields are read into the record (`fields`:
//! fields the caller's API version has and may write, values of their field's type,
//! references to live records of an object the field takes, required fields never
//! cleared); a new record is completed (`new_record`: defaults, audit stamps, auto
//! numbers, required fields, its id); a changed one is stamped with who changed it and
//! when; the fields Salesforce computes from others (`crate::derive`) are computed. A
//! converted lead, like a deleted record, takes no change.

mod fields;
mod new_record;

use crate::derive::derive;
use crate::error::OrgError;
use crate::meta::ObjectDef;
use crate::record::Record;
use crate::txn::Txn;

use super::asked::Asked;

/// The record `asked` makes, as system validation leaves it, and its object (the
/// schema's, when it has the record's).
pub(super) fn record<'a>(
    txn: &mut Txn<'a>,
    asked: Asked<'_, 'a>,
) -> Result<(Option<&'a ObjectDef>, Record), OrgError> {
    match asked {
        Asked::Create(def, input) => {
            let fields = fields::for_create(txn, def, input)?;
            let rec = new_record::complete(txn, def, fields)?;
            Ok((Some(def), rec))
        }
        Asked::Make(def, fields) => {
            let rec = new_record::complete(txn, def, fields)?;
            Ok((Some(def), rec))
        }
        Asked::Update { object, id, fields } => {
            let (def, mut rec) = fields::for_update(txn, object, id, fields)?;
            derive(&def.name, &mut rec.fields, &txn.now);
            Ok((Some(def), rec))
        }
        Asked::Change(mut rec) => {
            txn.touch(&mut rec);
            Ok((txn.schema.object(&rec.object), rec))
        }
    }
}
