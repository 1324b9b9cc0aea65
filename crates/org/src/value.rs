//! Turning client JSON into stored field values, field type by field type.
//!
//! Stored values use the REST wire formats, so reads need no conversion: text as strings,
//! numbers as JSON numbers, datetimes as `2024-05-01T12:34:56.000+0000`, dates as
//! `2024-05-01`, times as `12:34:56.000Z`, references as 18-character ids. Like Salesforce
//! (whose JSON binding coerces scalars), a number given for a text field becomes text and a
//! numeric string given for a number field becomes a number; a structure where a scalar is
//! expected is a `JSON_PARSER_ERROR`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::Value;

use crate::error::{Code, OrgError};
use crate::id::RecordId;
use crate::meta::{FieldDef, FieldType};

/// Converts `v` to the stored form for `field`, checking type, length, range and picklist.
/// Reference targets are checked against the org by the caller.
pub fn coerce(field: &FieldDef, v: &Value) -> Result<Value, OrgError> {
    use FieldType as T;
    if v.is_null() {
        return Ok(match field.ftype {
            T::Boolean => Value::Bool(false),
            _ => Value::Null,
        });
    }
    match field.ftype {
        t if t.is_text() => coerce_text(field, v),
        T::Boolean => match v {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(cannot_deserialize("boolean", v)),
        },
        T::Int | T::Long => coerce_int(field, v),
        T::Double | T::Currency | T::Percent => coerce_double(field, v),
        T::Date => {
            let s = scalar_text(v).ok_or_else(|| cannot_deserialize("date", v))?;
            parse_date(&s)
                .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
                .ok_or_else(|| cannot_deserialize("date", v))
        }
        T::Datetime => {
            let s = scalar_text(v).ok_or_else(|| cannot_deserialize("datetime", v))?;
            parse_datetime(&s)
                .map(|t| Value::String(crate::clock::format_datetime(t)))
                .ok_or_else(|| cannot_deserialize("datetime", v))
        }
        T::Time => {
            let s = scalar_text(v).ok_or_else(|| cannot_deserialize("time", v))?;
            parse_time(&s)
                .map(|t| Value::String(t.format("%H:%M:%S%.3fZ").to_string()))
                .ok_or_else(|| cannot_deserialize("time", v))
        }
        T::Reference | T::Id => {
            let s = scalar_text(v).ok_or_else(|| cannot_deserialize("id", v))?;
            if s.is_empty() {
                return Ok(Value::Null);
            }
            RecordId::parse(&s)
                .map(|id| Value::String(id.to18()))
                .ok_or_else(|| {
                    OrgError::field(
                        Code::MalformedId,
                        format!("{}: id value of incorrect type: {s}", field.label),
                        &field.name,
                    )
                })
        }
        T::Base64 => match v {
            Value::String(s) => {
                use base64_check::is_base64;
                if is_base64(s) {
                    Ok(v.clone())
                } else {
                    Err(cannot_deserialize("base64", v))
                }
            }
            _ => Err(cannot_deserialize("base64", v)),
        },
        T::Address | T::Location | T::AnyType => Err(not_writable(field)),
        _ => Err(not_writable(field)),
    }
}

/// `INVALID_FIELD_FOR_INSERT_UPDATE` for a field that cannot be written.
pub fn not_writable(field: &FieldDef) -> OrgError {
    OrgError::field(
        Code::InvalidFieldForInsertUpdate,
        format!(
            "Unable to create/update fields: {}. Please check the security settings of this \
             field and verify that it is read/write for your profile or permission set.",
            field.name
        ),
        &field.name,
    )
}

fn cannot_deserialize(type_name: &str, v: &Value) -> OrgError {
    let (token, shown) = match v {
        Value::String(s) => ("VALUE_STRING", s.clone()),
        Value::Number(n) if n.is_f64() => ("VALUE_NUMBER_FLOAT", n.to_string()),
        Value::Number(n) => ("VALUE_NUMBER_INT", n.to_string()),
        Value::Bool(b) => (if *b { "VALUE_TRUE" } else { "VALUE_FALSE" }, b.to_string()),
        Value::Object(_) => ("START_OBJECT", "{".to_owned()),
        Value::Array(_) => ("START_ARRAY", "[".to_owned()),
        Value::Null => ("VALUE_NULL", "null".to_owned()),
    };
    OrgError::new(
        Code::JsonParserError,
        format!(
            "Cannot deserialize instance of {type_name} from {token} value {shown} or request \
             may be missing a required field"
        ),
    )
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn coerce_text(field: &FieldDef, v: &Value) -> Result<Value, OrgError> {
    let s = scalar_text(v).ok_or_else(|| cannot_deserialize("string", v))?;
    Ok(if check_text(field, &s)? {
        Value::String(s)
    } else {
        Value::Null
    })
}

/// The checks of text `s` given for text field `field`, which keeps it as given: whether
/// it is stored (`false`: it is empty, which Salesforce stores as null), or why not.
pub(crate) fn check_text(field: &FieldDef, s: &str) -> Result<bool, OrgError> {
    if s.is_empty() {
        return Ok(false);
    }
    if field.length > 0 && s.chars().count() > field.length as usize {
        return Err(OrgError::field(
            Code::StringTooLong,
            format!(
                "{}: data value too large: {s} (max length={})",
                field.label, field.length
            ),
            &field.name,
        ));
    }
    match field.ftype {
        FieldType::Email if !is_email(s) => Err(OrgError::field(
            Code::InvalidEmailAddress,
            format!("{}: invalid email address: {s}", field.label),
            &field.name,
        )),
        FieldType::Picklist
            if field.restricted_picklist && !field.picklist.iter().any(|p| p == s) =>
        {
            Err(bad_picklist(field, s))
        }
        FieldType::Multipicklist if field.restricted_picklist => {
            match s
                .split(';')
                .map(str::trim)
                .find(|p| !field.picklist.iter().any(|v| v == p))
            {
                Some(bad) => Err(bad_picklist(field, bad)),
                None => Ok(true),
            }
        }
        _ => Ok(true),
    }
}

fn bad_picklist(field: &FieldDef, value: &str) -> OrgError {
    OrgError::field(
        Code::InvalidOrNullForRestrictedPicklist,
        format!(
            "{}: bad value for restricted picklist field: {value}",
            field.label
        ),
        &field.name,
    )
}

/// A loose check in the spirit of Salesforce's: one `@`, a non-empty local part, a dotted
/// domain, no spaces.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

fn number_of(v: &Value, type_name: &str) -> Result<f64, OrgError> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| cannot_deserialize(type_name, v)),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .ok_or_else(|| cannot_deserialize(type_name, v)),
        _ => Err(cannot_deserialize(type_name, v)),
    }
}

pub(crate) fn out_of_range(field: &FieldDef, v: &Value) -> OrgError {
    let shown = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    OrgError::field(
        Code::NumberOutsideValidRange,
        format!(
            "{}: value outside of valid range on numeric field: {shown}",
            field.label
        ),
        &field.name,
    )
}

fn coerce_int(field: &FieldDef, v: &Value) -> Result<Value, OrgError> {
    let type_name = if field.ftype == FieldType::Long {
        "long"
    } else {
        "int"
    };
    let n = match v {
        Value::Number(n) if n.is_i64() => n.as_i64().expect("checked"),
        _ => {
            let f = number_of(v, type_name)?;
            if f.fract() != 0.0 || f.abs() > 9.0e15 {
                return Err(cannot_deserialize(type_name, v));
            }
            f as i64
        }
    };
    let digits = if field.digits == 0 { 18 } else { field.digits };
    if n.unsigned_abs().to_string().len() > digits as usize {
        return Err(out_of_range(field, v));
    }
    Ok(Value::from(n))
}

fn coerce_double(field: &FieldDef, v: &Value) -> Result<Value, OrgError> {
    let f = number_of(v, "double")?;
    let factor = 10f64.powi(field.scale as i32);
    let rounded = (f * factor).round() / factor;
    if field.precision > 0 {
        let int_digits = rounded.abs().trunc();
        let max = 10f64.powi((field.precision - field.scale) as i32);
        if int_digits >= max {
            return Err(out_of_range(field, v));
        }
    }
    serde_json::Number::from_f64(rounded)
        .map(Value::Number)
        .ok_or_else(|| out_of_range(field, v))
}

/// Parses `2024-05-01`, or the date of a datetime.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .or_else(|| parse_datetime(s).map(|t| t.date_naive()))
}

/// Parses the datetime forms clients send: RFC 3339 with `Z`, `+00:00` or `+0000`, with or
/// without fractional seconds, or a bare date (midnight UTC).
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.strip_suffix('Z').unwrap_or(s);
    NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
        .ok()
}

mod base64_check {
    /// Standard-alphabet base64 with optional padding; whitespace ignored.
    pub(super) fn is_base64(s: &str) -> bool {
        let clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        let body = clean
            .strip_suffix(b"==")
            .or_else(|| clean.strip_suffix(b"="))
            .unwrap_or(&clean);
        clean.len().is_multiple_of(4)
            && body
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(t: FieldType) -> FieldDef {
        let mut f = FieldDef::new("F__c", "F", t);
        f.precision = 5;
        f.scale = 2;
        f
    }

    #[test]
    fn text_is_length_checked_and_empty_becomes_null() {
        let mut f = field(FieldType::String);
        f.length = 3;
        assert_eq!(coerce(&f, &json!("abc")).unwrap(), json!("abc"));
        assert_eq!(coerce(&f, &json!("")).unwrap(), json!(null));
        assert_eq!(coerce(&f, &json!(12)).unwrap(), json!("12"));
        let e = coerce(&f, &json!("abcd")).unwrap_err();
        assert_eq!(e.code, Code::StringTooLong);
        assert_eq!(e.message, "F: data value too large: abcd (max length=3)");
        assert_eq!(
            coerce(&f, &json!({"a": 1})).unwrap_err().code,
            Code::JsonParserError
        );
    }

    #[test]
    fn numbers_are_rounded_to_scale_and_range_checked() {
        let f = field(FieldType::Currency);
        assert_eq!(coerce(&f, &json!(12.345)).unwrap(), json!(12.35));
        assert_eq!(coerce(&f, &json!("999.994")).unwrap(), json!(999.99));
        assert_eq!(
            coerce(&f, &json!(1000)).unwrap_err().code,
            Code::NumberOutsideValidRange
        );
        assert_eq!(
            coerce(&f, &json!("abc")).unwrap_err().code,
            Code::JsonParserError
        );
        let mut i = field(FieldType::Int);
        i.digits = 3;
        assert_eq!(coerce(&i, &json!("42")).unwrap(), json!(42));
        assert_eq!(
            coerce(&i, &json!(1.5)).unwrap_err().code,
            Code::JsonParserError
        );
        assert_eq!(
            coerce(&i, &json!(1000)).unwrap_err().code,
            Code::NumberOutsideValidRange
        );
    }

    #[test]
    fn datetimes_are_normalised_to_utc_with_millis() {
        let f = field(FieldType::Datetime);
        for input in [
            "2024-05-01T14:34:56+02:00",
            "2024-05-01T12:34:56Z",
            "2024-05-01T12:34:56.000+0000",
        ] {
            assert_eq!(
                coerce(&f, &json!(input)).unwrap(),
                json!("2024-05-01T12:34:56.000+0000")
            );
        }
        assert_eq!(
            coerce(&f, &json!("yesterday")).unwrap_err().code,
            Code::JsonParserError
        );
        let d = field(FieldType::Date);
        assert_eq!(
            coerce(&d, &json!("2024-02-29")).unwrap(),
            json!("2024-02-29")
        );
        assert_eq!(
            coerce(&d, &json!("2023-02-29")).unwrap_err().code,
            Code::JsonParserError
        );
    }

    #[test]
    fn email_picklist_reference_and_boolean_rules() {
        let e = field(FieldType::Email);
        assert!(coerce(&e, &json!("a@b.co")).is_ok());
        assert_eq!(
            coerce(&e, &json!("a@b")).unwrap_err().code,
            Code::InvalidEmailAddress
        );
        let mut p = field(FieldType::Picklist);
        p.picklist = vec!["Hot".into()];
        assert!(
            coerce(&p, &json!("Other")).is_ok(),
            "unrestricted picklists take any value"
        );
        p.restricted_picklist = true;
        assert_eq!(
            coerce(&p, &json!("Other")).unwrap_err().code,
            Code::InvalidOrNullForRestrictedPicklist
        );
        let r = field(FieldType::Reference);
        assert_eq!(
            coerce(&r, &json!("001Fb0000000001")).unwrap(),
            json!("001Fb0000000001IAA")
        );
        assert_eq!(
            coerce(&r, &json!("nope")).unwrap_err().code,
            Code::MalformedId
        );
        let b = field(FieldType::Boolean);
        assert_eq!(coerce(&b, &json!(null)).unwrap(), json!(false));
        assert_eq!(
            coerce(&b, &json!(3)).unwrap_err().code,
            Code::JsonParserError
        );
    }
}
