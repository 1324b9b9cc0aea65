//! A new record completed: the defaults of the fields it was not given (the creating
//! user, the time, an auto number, a declared default, `false`), its required fields
//! checked, an id minted, a custom record's name, the fields Salesforce computes.

use serde_json::{Map, Value};

use crate::derive::derive;
use crate::error::{Code, OrgError};
use crate::fields::{FieldRef, Fields};
use crate::id::RecordId;
use crate::meta::{FieldDef, FieldType, ObjectDef};
use crate::record::Record;
use crate::txn::Txn;

/// A new record of `def` from checked field values: defaults, audit fields and auto
/// numbers filled in, required fields checked, an id minted, its derived fields computed.
pub(super) fn complete(
    txn: &mut Txn<'_>,
    def: &ObjectDef,
    fields: Map<String, Value>,
) -> Result<Record, OrgError> {
    let defaulted = defaulted(txn, def);
    let mut fields = {
        let mut given = Fields::with_capacity(fields.len() + defaulted.len());
        given.extend(fields);
        given
    };
    let user = Value::String(txn.caller.user_id.to18());
    for f in defaulted.iter().map(|&i| &def.fields[i]) {
        if fields.get(&f.name).is_some_and(|v| !v.is_null()) {
            continue;
        }
        let default = match stamp(&f.name) {
            Some(Stamp::Creator) => Some(user.clone()),
            Some(Stamp::Now) => Some(Value::from(txn.now.as_str())),
            None if f.auto_number => {
                // The name field counts under the object's name, any other auto number
                // under its own; a declared starting number is where a new count starts.
                let floor = txn
                    .number_floor
                    .max(f.starting_number.unwrap_or(1).saturating_sub(1));
                let key = if f.name_field {
                    def.name.clone()
                } else {
                    format!("{}.{}", def.name, f.name)
                };
                let n = txn.next_numbers.entry(key).or_insert(floor);
                *n += 1;
                Some(Value::from(match &f.display_format {
                    Some(format) => crate::custom::auto_number(format, *n, &txn.now),
                    None => format!("{:08}", *n),
                }))
            }
            None if f.default_formula.is_some() => txn.formulas.default_value(txn, def, f),
            // A new parent has no children: its counts and sums are zero.
            None if f.summary.is_some() => Some(Value::from(0.0)),
            None => f
                .default_value
                .clone()
                .or_else(|| f.default_picklist.clone().map(Value::from)),
        };
        if let Some(v) = default {
            fields.set(&f.name, v);
        } else if f.ftype == FieldType::Boolean && f.formula.is_none() {
            fields.set(&f.name, Value::Bool(false));
        }
    }
    let missing: Vec<String> = def
        .fields
        .iter()
        .filter(|f| f.required_on_create() && fields.get(&f.name).is_none_or(FieldRef::is_null))
        .map(|f| f.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(OrgError {
            code: Code::RequiredFieldMissing,
            message: format!("Required fields are missing: [{}]", missing.join(", ")),
            fields: missing,
            also: Vec::new(),
        });
    }
    txn.next_id += 1;
    let id = RecordId::mint(&def.key_prefix, txn.next_id);
    if def.custom
        && def.name_field().is_some_and(|f| f.name == "Name")
        && fields.get("Name").is_none_or(FieldRef::is_null)
    {
        // A custom record saved without a name is named after its Id.
        fields.insert("Name".into(), Value::from(id.as15()));
    }
    derive(&def.name, &mut fields, &txn.now);
    Ok(Record {
        id,
        object: (&def.name).into(),
        fields,
        is_deleted: false,
        deleted: None,
    })
}

/// What a new record lacking a field of this name is stamped with.
enum Stamp {
    /// The creating user's id.
    Creator,
    /// The transaction's time.
    Now,
}

/// The stamp a new record lacking field `name` gets, if any.
fn stamp(name: &str) -> Option<Stamp> {
    match name {
        "OwnerId" | "CreatedById" | "LastModifiedById" => Some(Stamp::Creator),
        "CreatedDate" | "LastModifiedDate" | "SystemModstamp" => Some(Stamp::Now),
        _ => None,
    }
}

/// Where in `def.fields` are the fields a new record of `def` may get a value for
/// without being given one ([`may_default`]): worked out once per object in a
/// transaction when `def` is its schema's (which does not change under it), not for
/// every row of a Bulk job (an object has dozens of fields).
fn defaulted(txn: &mut Txn<'_>, def: &ObjectDef) -> std::sync::Arc<[usize]> {
    let work_out = || -> std::sync::Arc<[usize]> {
        let at = def.fields.iter().enumerate();
        at.filter(|(_, f)| may_default(f)).map(|(i, _)| i).collect()
    };
    let schemas = txn
        .schema
        .object(&def.name)
        .is_some_and(|d| std::ptr::eq(d, def));
    if !schemas {
        return work_out();
    }
    if let Some((_, at)) = txn.defaulted.iter().find(|(name, _)| *name == def.name) {
        return at.clone();
    }
    let at = work_out();
    txn.defaulted.push((def.name.clone(), at.clone()));
    at
}

/// Whether a record created without `f` gets a value for it ([`complete`]): a stamp, an
/// auto-number, a default, or `false`. Only these are looked up in a new record's fields
/// (a Bulk row gives a few of an object's dozens).
fn may_default(f: &FieldDef) -> bool {
    stamp(&f.name).is_some()
        || f.auto_number
        || f.default_value.is_some()
        || f.default_formula.is_some()
        || f.summary.as_ref().is_some_and(|s| {
            matches!(
                s.op,
                crate::meta::SummaryOp::Count | crate::meta::SummaryOp::Sum
            )
        })
        || f.default_picklist.is_some()
        || (f.ftype == FieldType::Boolean && f.formula.is_none())
}
