//! Filter items, as roll-up summaries and criteria-based sharing rules state them: a
//! field, an operation (`equals`, `notEqual`, `lessThan`, `greaterThan`, `lessOrEqual`,
//! `greaterOrEqual`, `contains`, `notContain`, `startsWith`) and a value, met or not by
//! a record.

use rust_decimal::Decimal;
use serde_json::Value;

use crate::meta::SummaryFilter;
use crate::record::Record;

/// A JSON number as a decimal (a stored number is a double; its shortest form is exact).
pub(crate) fn decimal(v: &Value) -> Option<Decimal> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    text.parse()
        .ok()
        .or_else(|| Decimal::from_scientific(&text).ok())
}

/// Whether record `c` meets filter item `f`.
pub(crate) fn passes(c: &Record, f: &SummaryFilter) -> bool {
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
