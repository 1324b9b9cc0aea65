//! Roll-up summary fields kept current, in the same transaction as every write of a
//! child: an insert, update, delete, undelete or reparent changes the summaries of the
//! parents the child had and has. A parent whose summary changes is changed like any
//! written record (stamped, its validation rules run), so its change event carries the
//! summary, as Salesforce's do.
//!
//! Each write moves a summary by what the child brought and took away (a count by one, a
//! sum by the value), so a Bulk chunk of a thousand children costs a thousand small steps,
//! not a thousand scans of the parents' children. Only a minimum or maximum that loses its
//! own value is worked out again from the children.

use crate::criteria::{decimal, passes};
use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::Value;

use crate::error::OrgError;
use crate::id::RecordId;
use crate::meta::{FieldType, ObjectDef, SummaryDef, SummaryOp};
use crate::record::Record;
use crate::txn::Txn;

/// What a write does to one summary field of one parent.
#[derive(Debug, Default)]
pub(super) struct Delta {
    /// Children counted in, less those counted out.
    count: i64,
    /// Values summed in, less those summed out.
    sum: Decimal,
    /// Values that came in (a minimum's or maximum's candidates).
    added: Vec<Value>,
    /// Values that went out.
    removed: Vec<Value>,
}

/// The summaries `records` change: by parent object, parent and field, what each write
/// brings and takes away; worked out before the records are written.
pub(super) type Deltas = BTreeMap<(String, RecordId, String), Delta>;

/// The summaries that the writes of `records` move.
pub(super) fn deltas(txn: &Txn<'_>, records: &[Record]) -> Deltas {
    let mut out = Deltas::new();
    for r in records {
        let rollups = txn.formulas.summaries_over(&r.object);
        if rollups.is_empty() {
            continue;
        }
        let before = txn.current(&r.id);
        for crate::formulas::Rollup {
            parent,
            field,
            summary: s,
        } in rollups
        {
            for (rec, sign) in [(before, -1), (Some(r), 1)] {
                let Some((id, value)) = rec.and_then(|c| counted(c, s)) else {
                    continue;
                };
                let d = out.entry((parent.clone(), id, field.clone())).or_default();
                d.count += sign;
                if let Some(n) = decimal(&value) {
                    d.sum += if sign > 0 { n } else { -n };
                }
                if sign > 0 {
                    &mut d.added
                } else {
                    &mut d.removed
                }
                .push(value);
            }
        }
    }
    out
}

/// Where child `c` counts in summary `s`: its parent, and the value it brings (its field's,
/// or `1` for a count); none when it is deleted, has no parent or fails a filter.
fn counted(c: &Record, s: &SummaryDef) -> Option<(RecordId, Value)> {
    if c.is_deleted || !s.filters.iter().all(|f| passes(c, f)) {
        return None;
    }
    let parent = c.get_str(&s.key).and_then(RecordId::parse)?;
    let value = match &s.field {
        None => Value::from(1),
        Some(f) => c.get(f).to_value(),
    };
    Some((parent, value))
}

/// Moves the summaries of `deltas`; writes each parent whose summaries changed.
pub(super) fn apply(txn: &mut Txn<'_>, deltas: &Deltas) -> Result<(), OrgError> {
    let mut by_parent: BTreeMap<(&str, RecordId), Vec<(&str, &Delta)>> = BTreeMap::new();
    for ((object, id, field), d) in deltas {
        by_parent
            .entry((object.as_str(), *id))
            .or_default()
            .push((field.as_str(), d));
    }
    for ((object, id), fields) in by_parent {
        let Some(def) = txn.schema.object(object) else {
            continue;
        };
        let Some(parent) = txn.current(&id).filter(|p| !p.is_deleted) else {
            continue;
        };
        let mut changed = parent.clone();
        let mut differs = false;
        for (field, d) in fields {
            let Some(f) = def.field(field) else { continue };
            let Some(s) = f.summary.as_deref() else {
                continue;
            };
            let known = parent.get(&f.name).to_value();
            let value = moved(txn, f.ftype, s, id, &known, d);
            if known != value {
                changed.fields.set(&f.name, value);
                differs = true;
            }
        }
        if !differs {
            continue;
        }
        stamp(txn, &mut changed);
        let def: &ObjectDef = def;
        super::validation::check(txn, def, &changed, Some(parent))?;
        txn.set(id, Some(changed));
    }
    Ok(())
}

/// Summary `s` (of a field of type `ftype`) of parent `id`, which was `known`, moved by
/// `d`.
fn moved(
    txn: &Txn<'_>,
    ftype: FieldType,
    s: &SummaryDef,
    id: RecordId,
    known: &Value,
    d: &Delta,
) -> Value {
    let dated = matches!(ftype, FieldType::Date | FieldType::Datetime);
    match s.op {
        SummaryOp::Count => number(decimal(known).unwrap_or_default() + Decimal::from(d.count)),
        SummaryOp::Sum => number(decimal(known).unwrap_or_default() + d.sum),
        SummaryOp::Min | SummaryOp::Max => {
            // The extreme lost its own value: work it out again from the children.
            if !known.is_null() && d.removed.iter().any(|v| same_value(v, known, dated)) {
                return extreme(txn, s, id, dated);
            }
            let candidates = d.added.iter().chain(std::iter::once(known));
            best(s.op, candidates, dated)
        }
    }
}

/// The minimum or maximum of `values` (blanks aside), as dates (text) or numbers.
fn best<'v>(op: SummaryOp, values: impl Iterator<Item = &'v Value>, dated: bool) -> Value {
    let values = values.filter(|v| !v.is_null());
    if dated {
        let texts = values.filter_map(Value::as_str);
        let found = if op == SummaryOp::Min {
            texts.min()
        } else {
            texts.max()
        };
        return found.map_or(Value::Null, Value::from);
    }
    let numbers = values.filter_map(decimal);
    let found = if op == SummaryOp::Min {
        numbers.min()
    } else {
        numbers.max()
    };
    found.map_or(Value::Null, number)
}

/// Whether `a` and `b` are the same value (numbers by value).
fn same_value(a: &Value, b: &Value, dated: bool) -> bool {
    if dated {
        return a == b;
    }
    decimal(a).is_some_and(|x| decimal(b) == Some(x))
}

/// Summary `s` (a minimum or maximum) of parent `id` from its live children.
fn extreme(txn: &Txn<'_>, s: &SummaryDef, id: RecordId, dated: bool) -> Value {
    let ftype = if dated {
        FieldType::Date
    } else {
        FieldType::Double
    };
    summarize(s, ftype, txn.children(&s.child, &s.key, id).into_iter())
}

/// Summary `s` (of a field of type `ftype`) of `children`, one parent's, worked out
/// whole: those deleted or failing a filter left out.
pub(crate) fn summarize<'r>(
    s: &SummaryDef,
    ftype: FieldType,
    children: impl Iterator<Item = &'r Record>,
) -> Value {
    let values: Vec<Value> = children
        .filter_map(|c| counted(c, s).map(|(_, v)| v))
        .collect();
    let dated = matches!(ftype, FieldType::Date | FieldType::Datetime);
    match s.op {
        SummaryOp::Count => Value::from(values.len() as f64),
        SummaryOp::Sum => number(values.iter().filter_map(decimal).sum()),
        SummaryOp::Min | SummaryOp::Max => best(s.op, values.iter(), dated),
    }
}

/// A changed parent's audit fields: who changed it, and when (left as they are when this
/// transaction stamped it already).
fn stamp(txn: &Txn<'_>, rec: &mut Record) {
    if rec.get_str("SystemModstamp") == Some(txn.now.as_str()) {
        return;
    }
    let user = Value::String(txn.caller.user_id.to18());
    let now = Value::String(txn.now.clone());
    rec.fields.set("LastModifiedById", user);
    rec.fields.set("LastModifiedDate", now.clone());
    rec.fields.set("SystemModstamp", now);
}

/// A decimal as a stored number (a double).
fn number(d: Decimal) -> Value {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64().map_or(Value::Null, Value::from)
}
