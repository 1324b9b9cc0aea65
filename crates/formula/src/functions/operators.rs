//! The operators: arithmetic over numbers, dates, date/times and times; `&`; comparisons;
//! `&&`, `||` and `NOT`.

use crate::eval::{Builtin, Ctx, Node, fail};
use crate::functions::arithmetic as arith;
use crate::functions::signature::operator_error;
use crate::functions::text::concat;
use crate::lexer::Pos;
use crate::parser::Op;
use crate::typed::{Typed, compatible, picklist_error};
use crate::{CompileError, EvalError, Type, Value};
use std::cmp::Ordering;

/// Checks a unary operator.
pub(crate) fn unary(op: Op, operand: Typed, pos: Pos) -> Result<Typed, CompileError> {
    let (want, run): (Type, Builtin) = match op {
        Op::Not => (Type::Checkbox, not),
        Op::Neg => (Type::Number, arith::negate),
        _ => (Type::Number, arith::identity),
    };
    let ty = operand.ty.unwrap_or(want);
    if !compatible(want, ty) {
        return Err(operator_error(op, &operand, want.display_name()));
    }
    Ok(Typed::call(run, vec![operand], Some(ty), pos))
}

/// Checks a binary operator.
pub(crate) fn binary(op: Op, left: Typed, right: Typed, pos: Pos) -> Result<Typed, CompileError> {
    for side in [&left, &right] {
        if matches!(side.ty, Some(Type::Picklist | Type::MultiPicklist)) {
            return Err(picklist_error(side));
        }
    }
    let (ty, run) = match op {
        Op::Or | Op::And => logical(op, &left, &right)?,
        Op::Eq | Op::Ne | Op::Lt | Op::Gt | Op::Le | Op::Ge => comparison(op, &left, &right)?,
        Op::Concat => concat_types(&left, &right)?,
        _ => arith::check(op, &left, &right)?,
    };
    Ok(Typed::call(run, vec![left, right], ty, pos))
}

fn logical(op: Op, left: &Typed, right: &Typed) -> Result<(Option<Type>, Builtin), CompileError> {
    for side in [left, right] {
        if side.ty.is_some_and(|ty| ty != Type::Checkbox) {
            return Err(operator_error(op, side, "Boolean"));
        }
    }
    let run: Builtin = if op == Op::Or { or2 } else { and2 };
    Ok((Some(Type::Checkbox), run))
}

fn comparison(
    op: Op,
    left: &Typed,
    right: &Typed,
) -> Result<(Option<Type>, Builtin), CompileError> {
    if let (Some(a), Some(b)) = (left.ty, right.ty) {
        let ordered = !matches!(op, Op::Eq | Op::Ne);
        let comparable = compatible(a, b) || (a.is_textual() && b.is_textual());
        if !comparable || (ordered && matches!(a, Type::Checkbox | Type::Geolocation)) {
            return Err(operator_error(op, right, a.display_name()));
        }
    }
    let textual = [left, right]
        .iter()
        .any(|side| side.ty.is_some_and(Type::is_textual));
    let run: Builtin = match op {
        Op::Eq if textual => eq_text,
        Op::Ne if textual => ne_text,
        Op::Eq => eq,
        Op::Ne => ne,
        Op::Lt => lt,
        Op::Gt => gt,
        Op::Le => le,
        _ => ge,
    };
    Ok((Some(Type::Checkbox), run))
}

fn concat_types(left: &Typed, right: &Typed) -> Result<(Option<Type>, Builtin), CompileError> {
    for side in [left, right] {
        if side.ty.is_some_and(|ty| !ty.is_textual()) {
            return Err(operator_error(Op::Concat, side, "Text"));
        }
    }
    Ok((Some(Type::Text), concat))
}

fn not(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    Ok(ctx
        .boolean(&args[0])?
        .map_or(Value::Null, |flag| Value::Checkbox(!flag)))
}

fn and2(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let all = ctx.boolean(&args[0])? == Some(true) && ctx.boolean(&args[1])? == Some(true);
    Ok(Value::Checkbox(all))
}

fn or2(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let any = ctx.boolean(&args[0])? == Some(true) || ctx.boolean(&args[1])? == Some(true);
    Ok(Value::Checkbox(any))
}

/// Orders two values of one type; `None` when either is blank.
pub(crate) fn order(left: &Value, right: &Value) -> Result<Option<Ordering>, EvalError> {
    let ordering = match (left, right) {
        (Value::Null, _) | (_, Value::Null) => return Ok(None),
        (Value::Number(a), Value::Number(b)) => a.cmp(b),
        (Value::Text(a), Value::Text(b)) => a.cmp(b),
        (Value::Checkbox(a), Value::Checkbox(b)) => a.cmp(b),
        (Value::Date(a), Value::Date(b)) => a.cmp(b),
        (Value::DateTime(a), Value::DateTime(b)) => a.cmp(b),
        (Value::Time(a), Value::Time(b)) => a.cmp(b),
        (a, b) if a == b => Ordering::Equal,
        (Value::Location { .. }, Value::Location { .. }) => Ordering::Less,
        (a, b) => return fail(format!("cannot compare {a:?} with {b:?}")),
    };
    Ok(Some(ordering))
}

/// Normalises a blank text to Null, so that "" equals a blank.
fn unblank(value: Value) -> Value {
    if value.is_blank() { Value::Null } else { value }
}

fn compare(ctx: &Ctx<'_>, args: &[Node], test: fn(Ordering) -> bool) -> Result<Value, EvalError> {
    let left = unblank(ctx.eval(&args[0])?);
    let right = unblank(ctx.eval(&args[1])?);
    Ok(order(&left, &right)?.map_or(Value::Null, |ordering| Value::Checkbox(test(ordering))))
}

/// `=` and `<>`. Texts compare blank as "" (`Name = ""` is true for a blank name); other
/// types compare blank as unknown, which IF takes as false.
fn equality(
    ctx: &Ctx<'_>,
    args: &[Node],
    want_equal: bool,
    textual: bool,
) -> Result<Value, EvalError> {
    let left = unblank(ctx.eval(&args[0])?);
    let right = unblank(ctx.eval(&args[1])?);
    let equal = match (&left, &right) {
        (Value::Null, Value::Null) if textual => true,
        (Value::Null, _) | (_, Value::Null) if textual => false,
        (Value::Null, _) | (_, Value::Null) => return Ok(Value::Null),
        _ => order(&left, &right)? == Some(Ordering::Equal),
    };
    Ok(Value::Checkbox(equal == want_equal))
}

fn eq_text(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    equality(ctx, args, true, true)
}

fn ne_text(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    equality(ctx, args, false, true)
}

fn eq(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    equality(ctx, args, true, false)
}

fn ne(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    equality(ctx, args, false, false)
}

fn lt(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    compare(ctx, args, Ordering::is_lt)
}

fn gt(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    compare(ctx, args, Ordering::is_gt)
}

fn le(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    compare(ctx, args, Ordering::is_le)
}

fn ge(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    compare(ctx, args, Ordering::is_ge)
}
