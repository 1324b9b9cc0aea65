//! REST API JSON to formula values and back.

use crate::eval::round_half_up;
use crate::{Type, Value};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::str::FromStr;

/// JSON (as the REST API shows a field of type `ty`) to a formula value: numbers from JSON
/// numbers or strings, dates `YYYY-MM-DD`, datetimes `2024-01-31T10:00:00.000+0000`, times
/// `10:00:00.000Z`, checkboxes booleans, multi-select picklists `a;b`. Anything unreadable is
/// `Null`.
pub fn from_json(ty: Type, value: &serde_json::Value) -> Value {
    use serde_json::Value as Json;
    match (ty, value) {
        (_, Json::Null) => Value::Null,
        (Type::Checkbox, Json::Bool(flag)) => Value::Checkbox(*flag),
        (Type::Checkbox, Json::String(text)) => Value::Checkbox(text.eq_ignore_ascii_case("true")),
        (ty, Json::Number(number)) if ty.is_numeric() => parse_decimal(&number.to_string()),
        (ty, Json::String(text)) if ty.is_numeric() => parse_decimal(text.trim()),
        (Type::Date, Json::String(text)) => parse_date(text),
        (Type::DateTime, Json::String(text)) => parse_datetime(text),
        (Type::Time, Json::String(text)) => parse_time(text),
        (Type::Geolocation, Json::Object(map)) => {
            let read = |key: &str| map.get(key).and_then(decimal_of);
            match (read("latitude"), read("longitude")) {
                (Some(latitude), Some(longitude)) => Value::Location {
                    latitude,
                    longitude,
                },
                _ => Value::Null,
            }
        }
        (_, Json::String(text)) => Value::Text(text.clone()),
        (_, Json::Bool(flag)) => Value::Text(flag.to_string()),
        (_, Json::Number(number)) => Value::Text(number.to_string()),
        _ => Value::Null,
    }
}

fn decimal_of(value: &serde_json::Value) -> Option<Decimal> {
    match value {
        serde_json::Value::Number(number) => read_decimal(&number.to_string()),
        serde_json::Value::String(text) => read_decimal(text),
        _ => None,
    }
}

fn read_decimal(text: &str) -> Option<Decimal> {
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .ok()
}

fn parse_decimal(text: &str) -> Value {
    read_decimal(text).map_or(Value::Null, Value::Number)
}

fn parse_date(text: &str) -> Value {
    NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d")
        .map_or(Value::Null, Value::Date)
}

fn parse_datetime(text: &str) -> Value {
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
    ] {
        if let Ok(instant) = DateTime::parse_from_str(text, format) {
            return Value::DateTime(instant.with_timezone(&Utc));
        }
    }
    let bare = text.trim_end_matches('Z');
    chrono::NaiveDateTime::parse_from_str(bare, "%Y-%m-%dT%H:%M:%S%.f")
        .map_or(Value::Null, |naive| Value::DateTime(naive.and_utc()))
}

fn parse_time(text: &str) -> Value {
    NaiveTime::parse_from_str(text.trim_end_matches('Z'), "%H:%M:%S%.f")
        .map_or(Value::Null, Value::Time)
}

/// A formula value to JSON as the REST API shows a field of type `ty`: numbers as JSON numbers
/// rounded half up to `scale`, dates `YYYY-MM-DD`, datetimes `2024-01-31T10:00:00.000+0000`,
/// times `10:00:00.000Z`, checkboxes booleans, blanks `null` (a checkbox's blank `false`).
pub fn to_json(ty: Type, scale: u32, value: &Value) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        Value::Null if ty == Type::Checkbox => Json::Bool(false),
        Value::Null => Json::Null,
        Value::Text(text) if text.is_empty() => Json::Null,
        Value::Text(text) => Json::String(text.clone()),
        Value::Checkbox(flag) => Json::Bool(*flag),
        Value::Number(number) => number_json(round_half_up(*number, scale)),
        Value::Date(date) => Json::String(date.format("%Y-%m-%d").to_string()),
        Value::DateTime(instant) => {
            Json::String(instant.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string())
        }
        Value::Time(time) => Json::String(time.format("%H:%M:%S%.3fZ").to_string()),
        Value::Location {
            latitude,
            longitude,
        } => serde_json::to_value(Location {
            latitude: number_json(*latitude),
            longitude: number_json(*longitude),
        })
        .unwrap_or(Json::Null),
    }
}

/// A geolocation as the REST API shows a location field.
#[derive(serde::Serialize)]
struct Location {
    latitude: serde_json::Value,
    longitude: serde_json::Value,
}

/// A decimal as a JSON number: whole numbers as integers, others as the nearest `f64` (the
/// workspace's serde_json has no arbitrary precision, so trailing zeros are the writer's to add).
fn number_json(number: Decimal) -> serde_json::Value {
    if number.fract().is_zero()
        && let Some(whole) = number.to_i64()
    {
        return whole.into();
    }
    number
        .to_f64()
        .and_then(serde_json::Number::from_f64)
        .map_or(serde_json::Value::Null, Into::into)
}
