//! Arity and argument-type checks shared by every function, with Salesforce's messages.

use crate::eval::Builtin;
use crate::parser::Op;
use crate::typed::{Check, Site, Typed, compatible, picklist_error};
use crate::{CompileError, Type};

/// What an argument must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    Number,
    Text,
    Boolean,
    Date,
    DateTime,
    Time,
    Location,
}

impl Want {
    /// Whether a value of type `ty` fits.
    pub(crate) fn accepts(self, ty: Type) -> bool {
        let exact = match self {
            Want::Number => Type::Number,
            Want::Text => Type::Text,
            Want::Boolean => Type::Checkbox,
            Want::Date => Type::Date,
            Want::DateTime => Type::DateTime,
            Want::Time => Type::Time,
            Want::Location => Type::Geolocation,
        };
        compatible(exact, ty)
    }

    /// The name Salesforce's messages give it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Want::Number => "Number",
            Want::Text => "Text",
            Want::Boolean => "Boolean",
            Want::Date => "Date",
            Want::DateTime => "DateTime",
            Want::Time => "Time",
            Want::Location => "Location",
        }
    }
}

/// Checks that a call has between `min` and `max` arguments.
pub(crate) fn arity(site: &Site<'_>, min: usize, max: usize) -> Result<(), CompileError> {
    let got = site.args.len();
    if got >= min && got <= max {
        return Ok(());
    }
    let expected = if min == max {
        min.to_string()
    } else if max == usize::MAX {
        format!("{min} or more")
    } else {
        format!("{min} to {max}")
    };
    Err(site.pos.error(format!(
        "Incorrect number of parameters for function '{}()'. Expected {expected}, received {got}",
        site.name
    )))
}

/// Checks that `arg` is of one of the `wanted` types (`NULL` fits all).
pub(crate) fn expect(site: &Site<'_>, arg: &Typed, wanted: &[Want]) -> Result<(), CompileError> {
    let Some(ty) = arg.ty else { return Ok(()) };
    if wanted.iter().any(|want| want.accepts(ty)) {
        return Ok(());
    }
    if matches!(ty, Type::Picklist | Type::MultiPicklist) {
        return Err(picklist_error(arg));
    }
    let names: Vec<&str> = wanted.iter().map(|want| want.name()).collect();
    Err(arg.pos.error(format!(
        "Incorrect parameter type for function '{}()'. Expected {}, received {}",
        site.name,
        names.join(", "),
        ty.display_name()
    )))
}

/// Checks a call with a fixed signature: `wanted` types, the last `optional` of them optional;
/// the call returns `ty` and runs `run`.
pub(crate) fn fixed(
    checker: &mut dyn Check,
    site: &Site<'_>,
    wanted: &[Want],
    optional: usize,
    ty: Type,
    run: Builtin,
) -> Result<Typed, CompileError> {
    arity(site, wanted.len() - optional, wanted.len())?;
    let args = checker.args(site)?;
    for (arg, want) in args.iter().zip(wanted) {
        expect(site, arg, &[*want])?;
    }
    Ok(Typed::call(run, args, Some(ty), site.pos))
}

/// The error for an operand of the wrong type.
pub(crate) fn operator_error(op: Op, operand: &Typed, expected: &str) -> CompileError {
    let received = operand.ty.map_or("Null", Type::display_name);
    operand.pos.error(format!(
        "Incorrect parameter type for operator '{}'. Expected {expected}, received {received}",
        op.symbol()
    ))
}
