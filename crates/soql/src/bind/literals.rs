//! Literals checked against what they are compared with, and aggregate arguments
//! against their functions.

use chrono::Utc;

use forcebus_meta::{FieldDef, FieldType, RecordId};

use super::{FieldRef, Operand, Value, invalid_field, is_long_text};
use crate::ast::*;
use crate::error::{ErrorKind, SoqlError};
use crate::lexer::{ESCAPED_PERCENT, ESCAPED_UNDERSCORE};

pub(super) fn check_agg_arg(func: AggFunc, arg: &FieldRef<'_>, at: usize) -> Result<(), SoqlError> {
    let numeric = matches!(
        arg.field.ftype,
        FieldType::Int
            | FieldType::Long
            | FieldType::Double
            | FieldType::Currency
            | FieldType::Percent
    );
    let ok = match func {
        AggFunc::Sum | AggFunc::Avg => numeric,
        AggFunc::Min | AggFunc::Max => {
            !matches!(
                arg.field.ftype,
                FieldType::Boolean
                    | FieldType::Address
                    | FieldType::Location
                    | FieldType::Multipicklist
            ) && !is_long_text(arg.field)
        }
        AggFunc::Count | AggFunc::CountDistinct => {
            !matches!(arg.field.ftype, FieldType::Address | FieldType::Location)
                && !is_long_text(arg.field)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(SoqlError::malformed(
            format!(
                "field {} does not support aggregate operator {}",
                arg.field.name,
                func.name()
            ),
            at,
        ))
    }
}

fn type_error(field: &FieldDef, expected: &str, at: usize) -> SoqlError {
    SoqlError::new(
        ErrorKind::InvalidFilter,
        format!(
            "value of filter criterion for field '{}' must be of type {expected} and should not be enclosed in quotes",
            field.name
        ),
        Some(at),
    )
}

/// Checks a literal against what it is compared with and converts it.
pub(super) fn literal_for(
    operand: &Operand<'_>,
    lit: &Literal,
    at: usize,
) -> Result<Value, SoqlError> {
    if matches!(lit, Literal::Null) {
        return Ok(Value::Null);
    }
    let field = match operand {
        Operand::Field(f) => f.field,
        Operand::DateFn(DateFunc::DayOnly, f) => {
            return match lit {
                Literal::Date(d) => Ok(Value::Date(*d)),
                Literal::DateLiteral(n, k) => Ok(Value::Range(n.clone(), *k)),
                _ => Err(type_error(f.field, "date", at)),
            };
        }
        Operand::DateFn(_, f) | Operand::Agg(AggFunc::Count | AggFunc::CountDistinct, f) => {
            return match lit {
                Literal::Num(n) => n
                    .parse()
                    .map(Value::Num)
                    .map_err(|_| type_error(f.field, "integer", at)),
                _ => Err(type_error(f.field, "integer", at)),
            };
        }
        Operand::Agg(_, f) => f.field,
    };
    use FieldType as T;
    match (field.ftype, lit) {
        // In SOQL `''` and null are one value: `Email != ''` leaves out a null `Email`,
        // `Id > ''` is every record (a Django ORM backend pages with it).
        (T::Id | T::Reference, Literal::Str(s)) if s.is_empty() => Ok(Value::Null),
        (T::Id | T::Reference, Literal::Str(s)) => {
            RecordId::parse(s).map(Value::Id).ok_or_else(|| {
                SoqlError::new(
                    ErrorKind::InvalidFilter,
                    format!("invalid ID field: {s}"),
                    Some(at),
                )
            })
        }
        (T::Address | T::Location, _) => Err(invalid_field(
            format!("field '{}' can not be filtered in a query call", field.name),
            at,
        )),
        (_, _) if is_long_text(field) => Err(invalid_field(
            format!("field '{}' can not be filtered in a query call", field.name),
            at,
        )),
        (t, Literal::Str(s)) if t.is_text() || matches!(t, T::Time | T::Base64 | T::Textarea) => {
            Ok(if s.is_empty() {
                Value::Null
            } else {
                Value::Str(s.clone())
            })
        }
        (T::Boolean, Literal::Bool(b)) => Ok(Value::Bool(*b)),
        (T::Boolean, _) => Err(type_error(field, "boolean", at)),
        (T::Int | T::Long | T::Double | T::Currency | T::Percent, Literal::Num(n)) => n
            .parse()
            .map(Value::Num)
            .map_err(|_| type_error(field, "double", at)),
        (T::Int | T::Long, _) => Err(type_error(field, "integer", at)),
        (T::Double | T::Currency | T::Percent, _) => Err(type_error(field, "double", at)),
        (T::Date, Literal::Date(d)) => Ok(Value::Date(*d)),
        (T::Datetime, Literal::DateTime(t)) => Ok(Value::DateTime(t.with_timezone(&Utc))),
        (T::Date | T::Datetime, Literal::DateLiteral(n, k)) => Ok(Value::Range(n.clone(), *k)),
        (T::Date, _) => Err(type_error(field, "date", at)),
        (T::Datetime, _) => Err(type_error(field, "dateTime", at)),
        _ => Err(type_error(field, "string", at)),
    }
}

/// A string literal as plain text: escaped wildcards become the characters they stand for.
pub fn plain(s: &str) -> String {
    s.replace(ESCAPED_PERCENT, "%")
        .replace(ESCAPED_UNDERSCORE, "_")
}
