//! Roll-up summary fields kept current, in the same transaction as every write of a
//! child: an insert, update, delete, undelete or reparent recomputes the summaries of the
//! parents the child had and has. A parent whose summary changes is changed like any
//! written record (stamped, its validation rules run), so its change event carries the
//! summary, as Salesforce's do.

use rust_decimal::Decimal;
use serde_json::Value;

use crate::error::OrgError;
use crate::id::RecordId;
use crate::meta::{FieldType, ObjectDef, SummaryDef, SummaryFilter, SummaryOp};
use crate::record::Record;
use crate::txn::Txn;

/// The parents whose summaries `records` may change: each child's parent before and
/// after the write, by parent object; worked out before the records are written.
pub(super) fn parents_touched(txn: &Txn<'_>, records: &[Record]) -> Vec<(String, RecordId)> {
    let mut out = Vec::new();
    for r in records {
        let summaries = txn.formulas.summaries_over(&r.object);
        for (parent, field) in summaries {
            let Some(s) = txn
                .schema
                .object(parent)
                .and_then(|o| o.field(field))
                .and_then(|f| f.summary.as_deref())
            else {
                continue;
            };
            for rec in [Some(r), txn.current(&r.id)].into_iter().flatten() {
                if let Some(id) = rec.get_str(&s.key).and_then(RecordId::parse) {
                    out.push((parent.clone(), id));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Recomputes the summaries of `parents` from their children as the transaction now has
/// them; writes each parent whose summaries changed.
pub(super) fn recompute(txn: &mut Txn<'_>, parents: &[(String, RecordId)]) -> Result<(), OrgError> {
    for (object, id) in parents {
        let Some(def) = txn.schema.object(object) else {
            continue;
        };
        let Some(parent) = txn.current(id).filter(|p| !p.is_deleted) else {
            continue;
        };
        let mut changed = parent.clone();
        let mut differs = false;
        for f in def.fields.iter().filter(|f| f.summary.is_some()) {
            let s = f.summary.as_deref().expect("filtered");
            let value = summary_value(txn, f.ftype, s, *id);
            if parent.get(&f.name).to_value() != value {
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
        txn.set(*id, Some(changed));
    }
    Ok(())
}

/// A changed parent's audit fields: who changed it, and when.
fn stamp(txn: &Txn<'_>, rec: &mut Record) {
    let user = Value::String(txn.caller.user_id.to18());
    let now = Value::String(txn.now.clone());
    rec.fields.set("LastModifiedById", user);
    rec.fields.set("LastModifiedDate", now.clone());
    rec.fields.set("SystemModstamp", now);
}

/// The summary `s` (of a field of type `ftype`) of parent `id`'s live children.
fn summary_value(txn: &Txn<'_>, ftype: FieldType, s: &SummaryDef, id: RecordId) -> Value {
    let children = txn.children(&s.child, &s.key, id);
    let counted = children
        .into_iter()
        .filter(|c| s.filters.iter().all(|f| passes(c, f)));
    let Some(field) = &s.field else {
        return Value::from(counted.count() as f64);
    };
    let values = counted
        .map(|c| c.get(field).to_value())
        .filter(|v| !v.is_null());
    match s.op {
        SummaryOp::Count => Value::Null,
        SummaryOp::Sum => {
            let sum: Decimal = values.filter_map(|v| decimal(&v)).sum();
            number(sum)
        }
        SummaryOp::Min | SummaryOp::Max
            if matches!(ftype, FieldType::Date | FieldType::Datetime) =>
        {
            let texts = values.filter_map(|v| v.as_str().map(str::to_owned));
            let best = if s.op == SummaryOp::Min {
                texts.min()
            } else {
                texts.max()
            };
            best.map_or(Value::Null, Value::String)
        }
        SummaryOp::Min | SummaryOp::Max => {
            let numbers = values.filter_map(|v| decimal(&v));
            let best = if s.op == SummaryOp::Min {
                numbers.min()
            } else {
                numbers.max()
            };
            best.map_or(Value::Null, number)
        }
    }
}

/// A JSON number as a decimal (a stored number is a double; its shortest form is exact).
fn decimal(v: &Value) -> Option<Decimal> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    text.parse()
        .ok()
        .or_else(|| Decimal::from_scientific(&text).ok())
}

/// A decimal as a stored number (a double).
fn number(d: Decimal) -> Value {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64().map_or(Value::Null, Value::from)
}

/// Whether child `c` passes filter item `f`.
fn passes(c: &Record, f: &SummaryFilter) -> bool {
    let value = c.get(&f.field).to_value();
    let text = match &value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let order = || match (decimal(&value), f.value.trim().parse::<Decimal>().ok()) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ if !text.is_empty() => Some(text.to_lowercase().cmp(&f.value.to_lowercase())),
        _ => None,
    };
    let one_of = || f.value.split(',').any(|v| same(&value, &text, v.trim()));
    match f.operation.as_str() {
        "equals" => one_of(),
        "notEqual" => !one_of(),
        "lessThan" => order().is_some_and(std::cmp::Ordering::is_lt),
        "greaterThan" => order().is_some_and(std::cmp::Ordering::is_gt),
        "lessOrEqual" => order().is_some_and(std::cmp::Ordering::is_le),
        "greaterOrEqual" => order().is_some_and(std::cmp::Ordering::is_ge),
        "contains" => text.to_lowercase().contains(&f.value.to_lowercase()),
        "notContain" => !text.to_lowercase().contains(&f.value.to_lowercase()),
        "startsWith" => text.to_lowercase().starts_with(&f.value.to_lowercase()),
        _ => false,
    }
}

/// Whether a child's value (and its text) is `wanted`, a filter's value: numbers by
/// value, the rest by text, any case; an empty filter value matches a blank.
fn same(value: &Value, text: &str, wanted: &str) -> bool {
    match (decimal(value), wanted.parse::<Decimal>().ok()) {
        (Some(a), Some(b)) => a == b,
        _ => text.eq_ignore_ascii_case(wanted),
    }
}
