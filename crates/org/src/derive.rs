//! Fields the org computes on every write: person names, opportunity state, case closure,
//! what an Apex class's or trigger's body says of it (`crate::apex`).
//!
//! These mirror what Salesforce itself maintains so that reads (and later, change events
//! and SOQL filters) see the same values a real org would show.

use crate::fields::FieldRef;
use serde_json::Value;

use crate::fields::Fields;

/// Recomputes the derived fields of a record of `object` in place.
pub(crate) fn derive(object: &str, fields: &mut Fields, now: &str) {
    match object {
        "Contact" | "Lead" | "User" => person_name(fields),
        "Opportunity" => opportunity(fields),
        "Case" => case(fields, now),
        "Task" => task(fields),
        "ApexClass" | "ApexTrigger" => crate::apex::derive(object, fields),
        _ => {}
    }
}

fn text<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .get(name)
        .and_then(FieldRef::as_str)
        .filter(|s| !s.is_empty())
}

fn person_name(fields: &mut Fields) {
    let name = [
        "Salutation",
        "FirstName",
        "MiddleName",
        "LastName",
        "Suffix",
    ]
    .iter()
    .filter_map(|p| text(fields, p))
    .collect::<Vec<_>>()
    .join(" ");
    fields.insert(
        "Name".into(),
        if name.is_empty() {
            Value::Null
        } else {
            Value::String(name)
        },
    );
}

fn opportunity(fields: &mut Fields) {
    let stage = text(fields, "StageName").map(str::to_owned);
    let known = stage.as_deref().and_then(forcebus_meta::standard::stage);
    let (closed, won) = match stage.as_deref() {
        Some("Closed Won") => (true, true),
        Some("Closed Lost") => (true, false),
        _ => (false, false),
    };
    fields.insert("IsClosed".into(), Value::Bool(closed));
    fields.insert("IsWon".into(), Value::Bool(won));
    if let Some((probability, forecast)) = known {
        if fields.get("Probability").is_none_or(FieldRef::is_null) {
            fields.insert("Probability".into(), Value::from(probability));
        }
        fields.insert("ForecastCategory".into(), Value::from(forecast));
        if fields
            .get("ForecastCategoryName")
            .is_none_or(FieldRef::is_null)
        {
            fields.insert("ForecastCategoryName".into(), Value::from(forecast));
        }
    }
    let amount = fields.get("Amount").and_then(FieldRef::as_f64);
    let probability = fields.get("Probability").and_then(FieldRef::as_f64);
    let expected = match (amount, probability) {
        (Some(a), Some(p)) => serde_json::Number::from_f64((a * p / 100.0 * 100.0).round() / 100.0)
            .map_or(Value::Null, Value::Number),
        _ => Value::Null,
    };
    fields.insert("ExpectedRevenue".into(), expected);
    let close = text(fields, "CloseDate").map(str::to_owned);
    if let Some((year, month)) = close.as_deref().and_then(year_month) {
        let quarter = (month - 1) / 3 + 1;
        fields.insert("FiscalYear".into(), Value::from(year));
        fields.insert("FiscalQuarter".into(), Value::from(quarter));
        fields.insert("Fiscal".into(), Value::from(format!("{year} {quarter}")));
    }
}

fn year_month(date: &str) -> Option<(i64, i64)> {
    let year = date.get(..4)?.parse().ok()?;
    let month = date.get(5..7)?.parse().ok()?;
    Some((year, month))
}

fn case(fields: &mut Fields, now: &str) {
    let closed = text(fields, "Status") == Some("Closed");
    fields.insert("IsClosed".into(), Value::Bool(closed));
    match (
        closed,
        fields.get("ClosedDate").is_some_and(|v| !v.is_null()),
    ) {
        (true, false) => {
            fields.insert("ClosedDate".into(), Value::from(now));
        }
        (false, true) => {
            fields.insert("ClosedDate".into(), Value::Null);
        }
        _ => {}
    }
}

fn task(fields: &mut Fields) {
    let closed = text(fields, "Status") == Some("Completed");
    fields.insert("IsClosed".into(), Value::Bool(closed));
    let high = text(fields, "Priority") == Some("High");
    fields.insert("IsHighPriority".into(), Value::Bool(high));
}
