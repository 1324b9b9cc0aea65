//! A field's value as read from a record: text borrowed from the record, numbers and
//! flags by value, arrays and objects borrowed (only an open map holds them). The same answers as the `serde_json::Value` it stands for.

use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::{Number, Value};

/// A field's value, read from [`super::Fields`]. Copied freely: it borrows.
#[derive(Clone, Copy, Debug)]
pub enum FieldRef<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A non-negative integer.
    U64(u64),
    /// A negative integer.
    I64(i64),
    /// Any other number.
    F64(f64),
    /// Text.
    Str(&'a str),
    /// An array or an object.
    Json(&'a Value),
}

impl<'a> FieldRef<'a> {
    /// The value `v` stands for.
    pub fn of(v: &'a Value) -> Self {
        match v {
            Value::Null => FieldRef::Null,
            Value::Bool(b) => FieldRef::Bool(*b),
            Value::Number(n) => Self::number(n),
            Value::String(s) => FieldRef::Str(s),
            _ => FieldRef::Json(v),
        }
    }

    /// A JSON number, as an integer where it is one (as `serde_json` keeps it).
    pub(super) fn number(n: &Number) -> Self {
        if let Some(u) = n.as_u64() {
            FieldRef::U64(u)
        } else if let Some(i) = n.as_i64() {
            FieldRef::I64(i)
        } else {
            FieldRef::F64(n.as_f64().unwrap_or(0.0))
        }
    }

    /// Whether it is null.
    pub fn is_null(self) -> bool {
        matches!(self, FieldRef::Null)
    }

    /// Whether it is text.
    pub fn is_string(self) -> bool {
        matches!(self, FieldRef::Str(_))
    }

    /// Whether it is a number.
    pub fn is_number(self) -> bool {
        matches!(self, FieldRef::U64(_) | FieldRef::I64(_) | FieldRef::F64(_))
    }

    /// The text, if it is text.
    pub fn as_str(self) -> Option<&'a str> {
        match self {
            FieldRef::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The flag, if it is one.
    pub fn as_bool(self) -> Option<bool> {
        match self {
            FieldRef::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The number as a float, if it is a number.
    pub fn as_f64(self) -> Option<f64> {
        match self {
            FieldRef::U64(u) => Some(u as f64),
            FieldRef::I64(i) => Some(i as f64),
            FieldRef::F64(f) => Some(f),
            _ => None,
        }
    }

    /// The number, if it is an integer that fits.
    pub fn as_i64(self) -> Option<i64> {
        match self {
            FieldRef::U64(u) => i64::try_from(u).ok(),
            FieldRef::I64(i) => Some(i),
            _ => None,
        }
    }

    /// The number, if it is a non-negative integer that fits.
    pub fn as_u64(self) -> Option<u64> {
        match self {
            FieldRef::U64(u) => Some(u),
            _ => None,
        }
    }

    /// The value as an owned `serde_json::Value`.
    pub fn to_value(self) -> Value {
        match self {
            FieldRef::Null => Value::Null,
            FieldRef::Bool(b) => Value::Bool(b),
            FieldRef::U64(u) => Value::from(u),
            FieldRef::I64(i) => Value::from(i),
            FieldRef::F64(f) => Value::from(f),
            FieldRef::Str(s) => Value::String(s.to_owned()),
            FieldRef::Json(v) => v.clone(),
        }
    }
}

impl PartialEq for FieldRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        use FieldRef::*;
        match (*self, *other) {
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (U64(a), U64(b)) => a == b,
            (I64(a), I64(b)) => a == b,
            // Built only as `number` builds them, an integer is one or the other; made by
            // hand, the same integer is equal either way.
            (U64(a), I64(b)) | (I64(b), U64(a)) => i64::try_from(a) == Ok(b),
            (F64(a), F64(b)) => a == b,
            (Str(a), Str(b)) => a == b,
            (Json(a), Json(b)) => a == b,
            _ => false,
        }
    }
}

impl PartialEq<Value> for FieldRef<'_> {
    fn eq(&self, other: &Value) -> bool {
        *self == FieldRef::of(other)
    }
}

impl PartialEq<&Value> for FieldRef<'_> {
    fn eq(&self, other: &&Value) -> bool {
        *self == FieldRef::of(other)
    }
}

impl PartialEq<str> for FieldRef<'_> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for FieldRef<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl PartialEq<bool> for FieldRef<'_> {
    fn eq(&self, other: &bool) -> bool {
        self.as_bool() == Some(*other)
    }
}

/// Numbers compare as `serde_json::Value` compares them with Rust numbers.
macro_rules! eq_numbers {
    ($($as:ident -> $n:ty: $($t:ty),*;)*) => {$($(
        impl PartialEq<$t> for FieldRef<'_> {
            fn eq(&self, other: &$t) -> bool {
                self.$as().is_some_and(|n| n == *other as $n)
            }
        }
    )*)*};
}

eq_numbers! {
    as_i64 -> i64: i8, i16, i32, i64, isize;
    as_u64 -> u64: u8, u16, u32, u64, usize;
    as_f64 -> f64: f64;
}

impl PartialEq<f32> for FieldRef<'_> {
    /// As `serde_json` compares: the number narrowed to an `f32`.
    fn eq(&self, other: &f32) -> bool {
        self.as_f64().is_some_and(|n| n as f32 == *other)
    }
}

impl PartialEq<FieldRef<'_>> for Value {
    fn eq(&self, other: &FieldRef<'_>) -> bool {
        other == self
    }
}

impl PartialEq<FieldRef<'_>> for &Value {
    fn eq(&self, other: &FieldRef<'_>) -> bool {
        other == self
    }
}

impl From<FieldRef<'_>> for Value {
    fn from(v: FieldRef<'_>) -> Self {
        v.to_value()
    }
}

impl Serialize for FieldRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            FieldRef::Null => s.serialize_unit(),
            FieldRef::Bool(b) => s.serialize_bool(b),
            FieldRef::U64(u) => s.serialize_u64(u),
            FieldRef::I64(i) => s.serialize_i64(i),
            FieldRef::F64(f) => s.serialize_f64(f),
            FieldRef::Str(t) => s.serialize_str(t),
            FieldRef::Json(v) => v.serialize(s),
        }
    }
}

impl fmt::Display for FieldRef<'_> {
    /// As JSON, the way `serde_json::Value` shows itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&serde_json::to_string(self).map_err(|_| fmt::Error)?)
    }
}
