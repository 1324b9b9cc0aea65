//! Stored field values (JSON) to Avro values of a field's schema.

use forcebus_avro::{Schema as S, Value as A};
use serde_json::Value;

use crate::time;

/// Converts a stored value to the Avro value of `schema` (a field's type or a union
/// branch): datetimes to epoch milliseconds, dates to days since the epoch.
pub(crate) fn avro_scalar(schema: &S, v: &Value) -> Option<A> {
    Some(match (schema, v) {
        (S::String, Value::String(s)) => A::String(s.clone()),
        (S::String, other) => A::String(other.to_string()),
        (S::Boolean, Value::Bool(b)) => A::Boolean(*b),
        (S::Double, Value::Number(n)) => A::Double(n.as_f64()?),
        (S::Long, Value::Number(n)) => A::Long(n.as_i64()?),
        (S::Long, Value::String(s)) => A::Long(time::millis(s)?),
        (S::Int, Value::Number(n)) => A::Int(i32::try_from(n.as_i64()?).ok()?),
        (S::Int, Value::String(s)) => A::Int(time::days(s)?),
        _ => return None,
    })
}

/// `["null", T]` for a value that may be absent or null.
pub(crate) fn nullable(schema: &S, v: Option<&Value>) -> A {
    let null = A::Union(0, Box::new(A::Null));
    let (Some(v), S::Union(branches)) = (v.filter(|v| !v.is_null()), schema) else {
        return null;
    };
    let Some(inner) = branches.get(1) else {
        return null;
    };
    let value = match (inner, v) {
        (S::Record(rec), Value::Object(parts)) => A::Record(
            rec.fields
                .iter()
                .map(|f| nullable(&f.schema, parts.get(&f.name)))
                .collect(),
        ),
        (scalar, v) => match avro_scalar(scalar, v) {
            Some(a) => a,
            None => return null,
        },
    };
    A::Union(1, Box::new(value))
}
