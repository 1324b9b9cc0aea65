//! The Java harness's side: its data types, how it builds inputs from the corpus's strings
//! (`FormulaFieldDefinition.createObjectWithGivenValue`, `Utils.getDateObject`), and how it
//! prints results (`BigDecimal.toPlainString`, `java.util.Date.toString` in GMT,
//! `LocalTime.toString`, `null`, a blank checkbox as `false`).

use chrono::{NaiveDate, NaiveTime, Timelike};
use forcebus_formula::{Type, Value};
use rust_decimal::Decimal;
use std::str::FromStr;

/// The formula type of a corpus data type.
pub fn type_of(data_type: &str) -> Type {
    match data_type {
        "Boolean" => Type::Checkbox,
        "Currency" | "currency" => Type::Currency,
        "Percent" | "percent" => Type::Percent,
        "Double" | "number" => Type::Number,
        "DateOnly" => Type::Date,
        "DateTime" => Type::DateTime,
        "TimeOnly" => Type::Time,
        "Text" | "email" | "phone" | "textarea" | "url" => Type::Text,
        other => panic!("the corpus has an unknown data type {other}"),
    }
}

/// An input value as the harness builds it from the corpus's text.
pub fn input(ty: Type, raw: &str) -> Value {
    if raw.is_empty() {
        return Value::Null;
    }
    let trimmed = raw.trim();
    match ty {
        ty if ty.is_numeric() => {
            if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("null") {
                return Value::Null;
            }
            Decimal::from_str(trimmed)
                .or_else(|_| Decimal::from_scientific(trimmed))
                .map_or(Value::Null, Value::Number)
        }
        Type::Date | Type::DateTime => date_input(trimmed, ty == Type::Date),
        Type::Checkbox => Value::Checkbox(trimmed.eq_ignore_ascii_case("true")),
        _ => Value::Text(raw.to_string()),
    }
}

/// `Utils.getDateObject`: `year:month:day[:hour:minute:second]`, in GMT.
fn date_input(text: &str, date_only: bool) -> Value {
    let parts: Vec<i64> = text
        .split(':')
        .map(|p| p.trim().parse().unwrap_or(0))
        .collect();
    let part = |i: usize, default: i64| parts.get(i).copied().unwrap_or(default);
    let year = i32::try_from(part(0, 2004)).unwrap_or(2004);
    let Some(start) = NaiveDate::from_ymd_opt(year, 1, 1) else {
        return Value::Null;
    };
    // Calendar is lenient: months and days past their ends roll over.
    let month = start
        .checked_add_months(chrono::Months::new(
            u32::try_from(part(1, 1) - 1).unwrap_or(0),
        ))
        .expect("month within range");
    let date = month + chrono::Duration::days(part(2, 1) - 1);
    if date_only {
        return Value::Date(date);
    }
    // The seventh part is a time zone; the corpus uses GMT and PST (Pacific, with its
    // daylight saving time, which the corpus's PST dates fall outside of).
    let offset = match text.split(':').nth(6).map(str::trim) {
        Some("PST") => 8 * 3600,
        _ => 0,
    };
    let seconds = part(3, 0) * 3600 + part(4, 0) * 60 + part(5, 0) + offset;
    let instant =
        date.and_hms_opt(0, 0, 0).expect("midnight").and_utc() + chrono::Duration::seconds(seconds);
    Value::DateTime(instant)
}

/// `java.util.Date.toString()` in GMT.
fn java_date(instant: chrono::NaiveDateTime) -> String {
    use chrono::Datelike;
    let year = instant.year();
    let cutover = NaiveDate::from_ymd_opt(1582, 10, 15).expect("the Gregorian cutover");
    if instant.date() >= cutover {
        return format!("{} GMT {year}", instant.format("%a %b %d %H:%M:%S"));
    }
    // java.util.Date is Julian before the cutover: the same year, month and day name another
    // day, so the weekday is the Julian date's.
    let (y, m, d) = (
        i64::from(year),
        i64::from(instant.month()),
        i64::from(instant.day()),
    );
    let julian_day = 367 * y - (7 * (y + 5001 + (m - 9) / 7)) / 4 + (275 * m) / 9 + d + 1_729_777;
    let weekday =
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][(julian_day.rem_euclid(7)) as usize];
    format!("{weekday} {} GMT {year}", instant.format("%b %d %H:%M:%S"))
}

/// `java.time.LocalTime.toString()`.
fn java_time(time: NaiveTime) -> String {
    let mut text = time.format("%H:%M").to_string();
    let millis = time.nanosecond() / 1_000_000;
    if time.second() != 0 || millis != 0 {
        text.push_str(&format!(":{:02}", time.second()));
    }
    if millis != 0 {
        text.push_str(&format!(".{millis:03}"));
    }
    text
}

/// Our result printed as the harness prints its own (numbers are compared apart, by value).
pub fn print(ty: Type, value: &Value) -> String {
    match value {
        Value::Null if ty == Type::Checkbox => "false".to_string(),
        Value::Null => "null".to_string(),
        Value::Text(text) if text.is_empty() => "null".to_string(),
        Value::Text(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Checkbox(flag) => flag.to_string(),
        Value::Date(date) => java_date(date.and_hms_opt(0, 0, 0).expect("midnight")),
        Value::DateTime(instant) => java_date(instant.naive_utc()),
        Value::Time(time) => java_time(*time),
        Value::Location {
            latitude,
            longitude,
        } => format!("{latitude}, {longitude}"),
    }
}

/// Whether our number equals the expected printed one. Java's BigDecimal carries more digits
/// than our 28; both are compared at the digits both have.
pub fn same_number(ours: Decimal, expected: &str) -> bool {
    let Some(theirs) = parse_long_decimal(expected) else {
        return false;
    };
    if ours == theirs {
        return true;
    }
    let their_scale = expected
        .split_once('.')
        .map_or(0, |(_, fraction)| fraction.len());
    let ours_scale = ours.scale() as usize;
    if ours_scale < their_scale.min(20) {
        return false;
    }
    let digits = u32::try_from(their_scale.min(ours_scale).min(26)).unwrap_or(26);
    let significant = digits.saturating_sub(2);
    ours.round_dp(significant) == theirs.round_dp(significant)
}

/// Parses a decimal that may have more digits than `Decimal` holds, dropping the excess.
fn parse_long_decimal(text: &str) -> Option<Decimal> {
    if let Ok(number) = Decimal::from_str(text) {
        return Some(number);
    }
    let (whole, fraction) = text.split_once('.')?;
    let keep = 28usize.saturating_sub(whole.trim_start_matches('-').len());
    let fraction = &fraction[..fraction.len().min(keep)];
    Decimal::from_str(&format!("{whole}.{fraction}")).ok()
}
