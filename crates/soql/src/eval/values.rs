//! Values as SOQL compares them: stored JSON and literals turned into comparable values,
//! with SOQL's ordering, operators and LIKE patterns.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value as Json;

use forcebus_meta::{FieldDef, FieldType, RecordId};

use crate::ast::CmpOp;
use crate::bind::{Value, plain};
use crate::lexer::{ESCAPED_PERCENT, ESCAPED_UNDERSCORE};

/// A comparable value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Cv {
    Null,
    Bool(bool),
    Num(f64),
    Text(String),
    Id(RecordId),
    Date(NaiveDate),
    Time(DateTime<Utc>),
}

pub(super) fn parse_stored_datetime(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub(super) fn cv(field: &FieldDef, v: &Json) -> Cv {
    match (field.ftype, v) {
        // A text that holds `''` is null to SOQL, as on Salesforce, which stores none.
        (_, Json::Null) => Cv::Null,
        (_, Json::String(s)) if s.is_empty() => Cv::Null,
        (FieldType::Id | FieldType::Reference, Json::String(s)) => {
            RecordId::parse(s).map_or_else(|| Cv::Text(s.to_lowercase()), Cv::Id)
        }
        (FieldType::Date, Json::String(s)) => {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_or(Cv::Null, Cv::Date)
        }
        (FieldType::Datetime, Json::String(s)) => {
            parse_stored_datetime(s).map_or(Cv::Null, Cv::Time)
        }
        (_, Json::Bool(b)) => Cv::Bool(*b),
        (_, Json::Number(n)) => n.as_f64().map_or(Cv::Null, Cv::Num),
        (_, Json::String(s)) => Cv::Text(s.to_lowercase()),
        (_, other) => Cv::Text(other.to_string()),
    }
}

pub(super) fn lit(v: &Value) -> Cv {
    match v {
        Value::Null | Value::Range(..) => Cv::Null,
        Value::Bool(b) => Cv::Bool(*b),
        Value::Num(n) => Cv::Num(*n),
        Value::Str(s) => Cv::Text(plain(s).to_lowercase()),
        Value::Id(id) => Cv::Id(*id),
        Value::Date(d) => Cv::Date(*d),
        Value::DateTime(t) => Cv::Time(*t),
    }
}

pub(super) fn instant(v: &Cv) -> Option<DateTime<Utc>> {
    match v {
        Cv::Time(t) => Some(*t),
        Cv::Date(d) => d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()),
        _ => None,
    }
}

pub(super) fn compare(a: &Cv, b: &Cv) -> Option<Ordering> {
    match (a, b) {
        (Cv::Bool(x), Cv::Bool(y)) => Some(x.cmp(y)),
        (Cv::Num(x), Cv::Num(y)) => x.partial_cmp(y),
        (Cv::Text(x), Cv::Text(y)) => Some(x.cmp(y)),
        (Cv::Id(x), Cv::Id(y)) => Some(x.cmp(y)),
        (Cv::Id(x), Cv::Text(y)) | (Cv::Text(y), Cv::Id(x)) => Some(x.to18().to_lowercase().cmp(y)),
        (Cv::Date(x), Cv::Date(y)) => Some(x.cmp(y)),
        _ => Some(instant(a)?.cmp(&instant(b)?)),
    }
}

/// Sort order: nulls by the caller, everything else by [`compare`], mismatches by text.
pub(super) fn order(a: &Cv, b: &Cv) -> Ordering {
    compare(a, b).unwrap_or_else(|| format!("{a:?}").cmp(&format!("{b:?}")))
}

pub(super) fn apply_op(op: CmpOp, ord: Ordering) -> bool {
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

/// `LIKE`: `%` any run, `_` one character, case-insensitive; escaped wildcards are literal.
pub fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let (mut ti, mut pi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        let literal = |c: char| match c {
            ESCAPED_PERCENT => Some('%'),
            ESCAPED_UNDERSCORE => Some('_'),
            '%' | '_' => None,
            c => Some(c),
        };
        if pi < p.len() && p[pi] == '_' {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && literal(p[pi]) == Some(t[ti]) {
            ti += 1;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '%')
}

pub(super) fn cv_of_json(v: Json) -> Cv {
    match v {
        Json::Null => Cv::Null,
        Json::Number(n) => n.as_f64().map_or(Cv::Null, Cv::Num),
        Json::Bool(b) => Cv::Bool(b),
        Json::String(s) => parse_stored_datetime(&s)
            .map(Cv::Time)
            .or_else(|| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok().map(Cv::Date))
            .unwrap_or(Cv::Text(s.to_lowercase())),
        other => Cv::Text(other.to_string()),
    }
}
