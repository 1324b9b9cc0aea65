//! Math functions. Transcendental ones (EXP, LN, LOG, SQRT, a fractional `^`) go through `f64`
//! and back to a decimal by the shortest form, as Salesforce's engine does (`Math.exp` and
//! `BigDecimal.valueOf`); everything else stays decimal.

use super::{Contexts, Def, Want, arity, expect, fixed};
use crate::eval::{Ctx, Node, fail, round_half_up};
use crate::typed::{Check, Site, Typed};
use crate::{CompileError, EvalError, Type, Value};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::{Decimal, MathematicalOps, RoundingStrategy};
use std::str::FromStr;

/// The family's functions.
pub(super) const DEFS: &[Def] = &[
    Def {
        name: "ABS",
        compile: unary,
        contexts: Contexts::All,
    },
    Def {
        name: "CEILING",
        compile: unary,
        contexts: Contexts::All,
    },
    Def {
        name: "FLOOR",
        compile: unary,
        contexts: Contexts::All,
    },
    Def {
        name: "MCEILING",
        compile: unary,
        contexts: Contexts::All,
    },
    Def {
        name: "MFLOOR",
        compile: unary,
        contexts: Contexts::All,
    },
    Def {
        name: "EXP",
        compile: unary,
        contexts: Contexts::All,
    },
    Def {
        name: "LN",
        compile: unary,
        contexts: Contexts::All,
    },
    Def {
        name: "LOG",
        compile: unary,
        contexts: Contexts::All,
    },
    Def {
        name: "SQRT",
        compile: unary,
        contexts: Contexts::All,
    },
    Def {
        name: "ROUND",
        compile: round,
        contexts: Contexts::All,
    },
    Def {
        name: "TRUNC",
        compile: trunc,
        contexts: Contexts::All,
    },
    Def {
        name: "MOD",
        compile: modulo,
        contexts: Contexts::All,
    },
    Def {
        name: "MAX",
        compile: extreme,
        contexts: Contexts::All,
    },
    Def {
        name: "MIN",
        compile: extreme,
        contexts: Contexts::All,
    },
];

fn unary(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let run: crate::eval::Builtin = match site.name {
        "ABS" => |c, a| map1(c, a, |n| Ok(n.abs())),
        "CEILING" => |c, a| {
            map1(c, a, |n| {
                Ok(settle(n, false).round_dp_with_strategy(0, RoundingStrategy::AwayFromZero))
            })
        },
        "FLOOR" => |c, a| map1(c, a, |n| Ok(settle(n, true).trunc())),
        "MCEILING" => |c, a| map1(c, a, |n| Ok(settle(n, false).ceil())),
        "MFLOOR" => |c, a| map1(c, a, |n| Ok(settle(n, true).floor())),
        "EXP" => |c, a| map1(c, a, |n| through_f64(n, f64::exp)),
        "LN" => |c, a| map1(c, a, |n| positive(n).and_then(|n| through_f64(n, f64::ln))),
        "LOG" => |c, a| {
            map1(c, a, |n| {
                positive(n).and_then(|n| through_f64(n, |x| x.ln() / std::f64::consts::LN_10))
            })
        },
        _ => |c, a| map1(c, a, sqrt),
    };
    let args = checked(checker, site, 1, 1)?;
    let ty = if matches!(
        site.name,
        "ABS" | "CEILING" | "FLOOR" | "MCEILING" | "MFLOOR"
    ) {
        args[0]
            .ty
            .filter(|t| t.is_numeric())
            .unwrap_or(Type::Number)
    } else {
        Type::Number
    };
    Ok(Typed::call(run, args, Some(ty), site.pos))
}

/// Checks `min..=max` numeric arguments.
fn checked(
    checker: &mut dyn Check,
    site: &Site<'_>,
    min: usize,
    max: usize,
) -> Result<Vec<Typed>, CompileError> {
    arity(site, min, max)?;
    let args = checker.args(site)?;
    for arg in &args {
        expect(site, arg, &[Want::Number])?;
    }
    Ok(args)
}

fn map1(
    ctx: &Ctx<'_>,
    args: &[Node],
    op: fn(Decimal) -> Result<Decimal, EvalError>,
) -> Result<Value, EvalError> {
    match ctx.number(&args[0])? {
        Some(number) => Ok(Value::Number(op(number)?)),
        None => Ok(Value::Null),
    }
}

/// Significant digits a value keeps before FLOOR, CEILING, MFLOOR and MCEILING cut it: six
/// fewer than the arithmetic carries, so that `(1/9)*9` floors to 1 (Salesforce's engine
/// carries 39 digits and rounds to 33 first, half up before a floor, half down before a
/// ceiling; we carry 28 and round to 22).
const SETTLED_DIGITS: u32 = 22;

fn settle(number: Decimal, half_up: bool) -> Decimal {
    let strategy = if half_up {
        RoundingStrategy::MidpointAwayFromZero
    } else {
        RoundingStrategy::MidpointTowardZero
    };
    let whole_digits = number
        .abs()
        .trunc()
        .to_string()
        .trim_start_matches('0')
        .len();
    let fraction_digits = SETTLED_DIGITS.saturating_sub(u32::try_from(whole_digits).unwrap_or(0));
    if whole_digits == 0 {
        // Below 1: keep SETTLED_DIGITS significant digits after the leading zeros.
        let text = number.abs().to_string();
        let zeros = text
            .split_once('.')
            .map_or(0, |(_, f)| f.len() - f.trim_start_matches('0').len());
        let places = u32::try_from(zeros).unwrap_or(0) + SETTLED_DIGITS;
        return number.round_dp_with_strategy(places.min(28), strategy);
    }
    number.round_dp_with_strategy(fraction_digits, strategy)
}

fn positive(number: Decimal) -> Result<Decimal, EvalError> {
    if number <= Decimal::ZERO {
        return fail("Logarithm of a number that is not positive");
    }
    Ok(number)
}

fn sqrt(number: Decimal) -> Result<Decimal, EvalError> {
    if number.is_sign_negative() && !number.is_zero() {
        return fail("Square root of a negative number");
    }
    through_f64(number, f64::sqrt)
}

/// Applies `op` in `f64`, back to a decimal by the shortest representation.
pub(crate) fn through_f64(number: Decimal, op: fn(f64) -> f64) -> Result<Decimal, EvalError> {
    let Some(x) = number.to_f64() else {
        return fail("Number out of range");
    };
    from_f64(op(x))
}

/// A finite `f64` as a decimal, by its shortest representation (Java's `BigDecimal.valueOf`).
pub(crate) fn from_f64(x: f64) -> Result<Decimal, EvalError> {
    if !x.is_finite() {
        return fail("Number out of range");
    }
    let text = format!("{x}");
    Decimal::from_str(&text)
        .ok()
        .or_else(|| Decimal::from_f64(x))
        .map_or_else(|| fail("Number out of range"), Ok)
}

fn digits(ctx: &Ctx<'_>, node: &Node) -> Result<Option<i64>, EvalError> {
    Ok(ctx.number(node)?.and_then(|n| n.trunc().to_i64()))
}

/// Rounds half up to `places` digits (negative: to tens, hundreds...).
pub(crate) fn round_places(number: Decimal, places: i64, strategy: RoundingStrategy) -> Decimal {
    if places >= 0 {
        let places = u32::try_from(places.min(28)).unwrap_or(28);
        return number.round_dp_with_strategy(places, strategy);
    }
    let Ok(exponent) = u32::try_from(-places) else {
        return Decimal::ZERO;
    };
    let Some(factor) = Decimal::TEN.checked_powu(u64::from(exponent)) else {
        return Decimal::ZERO;
    };
    (number / factor).round_dp_with_strategy(0, strategy) * factor
}

fn round(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let args = checked(checker, site, 2, 2)?;
    let ty = args[0]
        .ty
        .filter(|t| t.is_numeric())
        .unwrap_or(Type::Number);
    Ok(Typed::call(round_run, args, Some(ty), site.pos))
}

fn round_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let Some(number) = ctx.number(&args[0])? else {
        return Ok(Value::Null);
    };
    let Some(places) = digits(ctx, &args[1])? else {
        return Ok(Value::Null);
    };
    if places == 0 {
        return Ok(Value::Number(round_half_up(number, 0)));
    }
    Ok(Value::Number(round_places(
        number,
        places,
        RoundingStrategy::MidpointAwayFromZero,
    )))
}

fn trunc(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let args = checked(checker, site, 1, 2)?;
    Ok(Typed::call(trunc_run, args, Some(Type::Number), site.pos))
}

fn trunc_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let Some(number) = ctx.number(&args[0])? else {
        return Ok(Value::Null);
    };
    let places = match args.get(1) {
        Some(node) => match digits(ctx, node)? {
            Some(places) => places,
            None => return Ok(Value::Null),
        },
        None => 0,
    };
    Ok(Value::Number(round_places(
        number,
        places,
        RoundingStrategy::ToZero,
    )))
}

fn modulo(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(
        checker,
        site,
        &[Want::Number, Want::Number],
        0,
        Type::Number,
        modulo_run,
    )
}

fn modulo_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let Some(a) = ctx.number(&args[0])? else {
        return Ok(Value::Null);
    };
    let Some(b) = ctx.number(&args[1])? else {
        return Ok(Value::Null);
    };
    if b.is_zero() {
        return fail("Division by zero");
    }
    a.checked_rem(b)
        .map_or_else(|| fail("Number overflow"), |r| Ok(Value::Number(r)))
}

fn extreme(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let args = checked(checker, site, 1, usize::MAX)?;
    let run: crate::eval::Builtin = if site.name == "MAX" { max_run } else { min_run };
    Ok(Typed::call(run, args, Some(Type::Number), site.pos))
}

fn pick(
    ctx: &Ctx<'_>,
    args: &[Node],
    better: fn(Decimal, Decimal) -> bool,
) -> Result<Value, EvalError> {
    let mut best: Option<Decimal> = None;
    for arg in args {
        let Some(number) = ctx.number(arg)? else {
            return Ok(Value::Null);
        };
        best = Some(match best {
            Some(current) if !better(number, current) => current,
            _ => number,
        });
    }
    Ok(best.map_or(Value::Null, Value::Number))
}

fn max_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    pick(ctx, args, |a, b| a > b)
}

fn min_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    pick(ctx, args, |a, b| a < b)
}
