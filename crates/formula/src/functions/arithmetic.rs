//! `+ - * / ^` and unary minus over numbers, and the date, date/time and time arithmetic
//! Salesforce allows (`Date + days`, `DateTime - DateTime` in days, `Time + milliseconds`).

use crate::eval::{Builtin, Ctx, Node, fail};
use crate::functions::signature::operator_error;
use crate::parser::Op;
use crate::typed::Typed;
use crate::{CompileError, EvalError, Type, Value};
use chrono::{Duration, NaiveTime, Timelike};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, MathematicalOps, RoundingStrategy};

const MS_PER_DAY: i64 = 86_400_000;

/// Checks an arithmetic operator's operand types, picking its implementation.
pub(crate) fn check(
    op: Op,
    left: &Typed,
    right: &Typed,
) -> Result<(Option<Type>, Builtin), CompileError> {
    use Type::{Date, DateTime, Time};
    let numeric = |side: &Typed| side.ty.is_none_or(Type::is_numeric);
    let kind = |side: &Typed| side.ty.filter(|ty| matches!(ty, Date | DateTime | Time));
    let textual = |side: &Typed| side.ty.is_none_or(Type::is_textual);
    match op {
        Op::Add if textual(left) && textual(right) && (left.ty.is_some() || right.ty.is_some()) => {
            Ok((Some(Type::Text), crate::functions::text::concat))
        }
        Op::Add | Op::Sub if numeric(left) && numeric(right) => Ok((
            Some(numeric_type(left, right)),
            if op == Op::Add { add } else { sub },
        )),
        Op::Add if kind(left).is_some() && numeric(right) => Ok((kind(left), shift)),
        Op::Add if numeric(left) && kind(right).is_some() => Ok((kind(right), shift_right)),
        Op::Sub if kind(left).is_some() && numeric(right) => Ok((kind(left), unshift)),
        Op::Sub if kind(left).is_some() && kind(left) == kind(right) => {
            Ok((Some(Type::Number), difference))
        }
        Op::Add | Op::Sub => {
            let bad = if kind(left).is_some() || numeric(left) {
                right
            } else {
                left
            };
            Err(operator_error(op, bad, "Number, Date, DateTime, Time"))
        }
        _ => {
            for side in [left, right] {
                if !numeric(side) {
                    return Err(operator_error(op, side, "Number"));
                }
            }
            let run: Builtin = match op {
                Op::Mul => mul,
                Op::Div => div,
                _ => pow,
            };
            Ok((Some(numeric_type(left, right)), run))
        }
    }
}

fn numeric_type(left: &Typed, right: &Typed) -> Type {
    match (left.ty, right.ty) {
        (Some(a), Some(b)) if a == b => a,
        (Some(Type::Currency), _) | (_, Some(Type::Currency)) => Type::Currency,
        _ => Type::Number,
    }
}

fn numbers(
    ctx: &Ctx<'_>,
    args: &[Node],
    op: fn(Decimal, Decimal) -> Result<Decimal, EvalError>,
) -> Result<Value, EvalError> {
    let Some(a) = ctx.number(&args[0])? else {
        return Ok(Value::Null);
    };
    let Some(b) = ctx.number(&args[1])? else {
        return Ok(Value::Null);
    };
    Ok(Value::Number(op(a, b)?))
}

fn overflow<T>() -> Result<T, EvalError> {
    fail("Number overflow")
}

fn add(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    numbers(ctx, args, |a, b| a.checked_add(b).map_or_else(overflow, Ok))
}

fn sub(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    numbers(ctx, args, |a, b| a.checked_sub(b).map_or_else(overflow, Ok))
}

fn mul(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    numbers(ctx, args, |a, b| a.checked_mul(b).map_or_else(overflow, Ok))
}

fn div(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    numbers(ctx, args, |a, b| {
        if b.is_zero() {
            return fail("Division by zero");
        }
        a.checked_div(b).map_or_else(overflow, Ok)
    })
}

/// `base ^ exponent`: whole exponents only, as Salesforce's engine.
pub(crate) fn power(base: Decimal, exponent: Decimal) -> Result<Decimal, EvalError> {
    if exponent.fract().is_zero() {
        let Some(whole) = exponent.to_i64() else {
            return overflow();
        };
        if base.is_zero() && whole < 0 {
            return fail("Division by zero");
        }
        return match base.checked_powi(whole) {
            Some(result) => Ok(result),
            // A negative power too small for 28 decimal places is zero.
            None if whole < 0 && base.abs() > Decimal::ONE => Ok(Decimal::ZERO),
            None => overflow(),
        };
    }
    fail("The exponent of ^ must be a whole number")
}

fn pow(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    numbers(ctx, args, power)
}

/// Unary minus.
pub(crate) fn negate(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    Ok(ctx
        .number(&args[0])?
        .map_or(Value::Null, |number| Value::Number(-number)))
}

/// Unary plus.
pub(crate) fn identity(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    ctx.eval(&args[0])
}

/// A number of days as milliseconds, rounded to the whole second as Salesforce's engine does.
fn days_to_ms(days: Decimal) -> Result<i64, EvalError> {
    let seconds = days
        .checked_mul(Decimal::from(86_400))
        .map_or_else(overflow, Ok)?;
    let seconds = seconds.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    seconds
        .to_i64()
        .and_then(|s| s.checked_mul(1000))
        .map_or_else(overflow, Ok)
}

/// Moves a date, date/time or time by `amount` (days; milliseconds for a time).
pub(crate) fn move_by(value: Value, amount: Decimal) -> Result<Value, EvalError> {
    let moved = match value {
        Value::Date(date) => {
            let Some(days) = amount.trunc().to_i64() else {
                return overflow();
            };
            date.checked_add_signed(Duration::days(days))
                .map(Value::Date)
        }
        Value::DateTime(instant) => instant
            .checked_add_signed(Duration::milliseconds(days_to_ms(amount)?))
            .map(Value::DateTime),
        Value::Time(time) => {
            let Some(ms) = amount.round().to_i64() else {
                return overflow();
            };
            let start = i64::from(time.num_seconds_from_midnight()) * 1000
                + i64::from(time.nanosecond() / 1_000_000);
            // Past midnight wraps; before midnight is an error (Salesforce's engine takes the
            // remainder of a day and refuses a negative time).
            let moved = start.checked_add(ms).map_or_else(overflow, Ok)?;
            if moved < 0 {
                return fail("Time out of range");
            }
            Some(time_of_ms(moved % MS_PER_DAY))
        }
        Value::Null => return Ok(Value::Null),
        other => return fail(format!("cannot move {other:?}")),
    };
    moved.map_or_else(|| fail("Date out of range"), Ok)
}

/// The time `ms` milliseconds after midnight (`ms` within one day).
pub(crate) fn time_of_ms(ms: i64) -> Value {
    let seconds = u32::try_from(ms / 1000).unwrap_or(0);
    let nanos = u32::try_from(ms % 1000).unwrap_or(0) * 1_000_000;
    NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos).map_or(Value::Null, Value::Time)
}

fn shift(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let value = ctx.eval(&args[0])?;
    let Some(amount) = ctx.number(&args[1])? else {
        return Ok(Value::Null);
    };
    move_by(value, amount)
}

fn shift_right(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let Some(amount) = ctx.number(&args[0])? else {
        return Ok(Value::Null);
    };
    move_by(ctx.eval(&args[1])?, amount)
}

fn unshift(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let value = ctx.eval(&args[0])?;
    let Some(amount) = ctx.number(&args[1])? else {
        return Ok(Value::Null);
    };
    move_by(value, -amount)
}

fn difference(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let left = ctx.eval(&args[0])?;
    let right = ctx.eval(&args[1])?;
    let number = match (left, right) {
        (Value::Date(a), Value::Date(b)) => Decimal::from((a - b).num_days()),
        (Value::DateTime(a), Value::DateTime(b)) => {
            Decimal::from((a - b).num_milliseconds()) / Decimal::from(MS_PER_DAY)
        }
        (Value::Time(a), Value::Time(b)) => {
            Decimal::from((a - b).num_milliseconds().rem_euclid(MS_PER_DAY))
        }
        _ => return Ok(Value::Null),
    };
    Ok(Value::Number(number))
}
