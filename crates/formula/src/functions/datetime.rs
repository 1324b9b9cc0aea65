//! Date, date/time and time functions. Date/times are instants in GMT; TODAY() and NOW() come
//! from the scope (the org's clock, in the user's time zone for TODAY()).

use super::{Contexts, Def, Want, arity, expect, fixed};
use crate::eval::{Builtin, Ctx, Node, fail};
use crate::functions::clock;
use crate::typed::{Check, Site, Typed};
use crate::{CompileError, EvalError, Type, Value};
use chrono::{Datelike, NaiveDate, Timelike};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// The family's functions.
pub(super) const DEFS: &[Def] = &[
    Def {
        name: "TODAY",
        compile: today,
        contexts: Contexts::All,
    },
    Def {
        name: "NOW",
        compile: now,
        contexts: Contexts::All,
    },
    Def {
        name: "TIMENOW",
        compile: time_now,
        contexts: Contexts::All,
    },
    Def {
        name: "DATE",
        compile: date,
        contexts: Contexts::All,
    },
    Def {
        name: "DAY",
        compile: date_part,
        contexts: Contexts::All,
    },
    Def {
        name: "MONTH",
        compile: date_part,
        contexts: Contexts::All,
    },
    Def {
        name: "YEAR",
        compile: date_part,
        contexts: Contexts::All,
    },
    Def {
        name: "WEEKDAY",
        compile: date_part,
        contexts: Contexts::All,
    },
    Def {
        name: "DAYOFYEAR",
        compile: date_part,
        contexts: Contexts::All,
    },
    Def {
        name: "ISOWEEK",
        compile: date_part,
        contexts: Contexts::All,
    },
    Def {
        name: "ISOYEAR",
        compile: date_part,
        contexts: Contexts::All,
    },
    Def {
        name: "HOUR",
        compile: time_part,
        contexts: Contexts::All,
    },
    Def {
        name: "MINUTE",
        compile: time_part,
        contexts: Contexts::All,
    },
    Def {
        name: "SECOND",
        compile: time_part,
        contexts: Contexts::All,
    },
    Def {
        name: "MILLISECOND",
        compile: time_part,
        contexts: Contexts::All,
    },
    Def {
        name: "ADDMONTHS",
        compile: add_months,
        contexts: Contexts::All,
    },
];

fn today(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(checker, site, &[], 0, Type::Date, |ctx, _| {
        Ok(Value::Date(ctx.scope.today()))
    })
}

fn now(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(checker, site, &[], 0, Type::DateTime, |ctx, _| {
        Ok(Value::DateTime(ctx.scope.now()))
    })
}

fn time_now(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(checker, site, &[], 0, Type::Time, |ctx, _| {
        Ok(Value::Time(ctx.scope.now().time()))
    })
}

fn whole(ctx: &Ctx<'_>, node: &Node) -> Result<Option<i64>, EvalError> {
    match ctx.number(node)? {
        Some(n) => n
            .trunc()
            .to_i64()
            .map_or_else(|| fail("Number out of range"), |n| Ok(Some(n))),
        None => Ok(None),
    }
}

fn date(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let wanted = [Want::Number, Want::Number, Want::Number];
    fixed(checker, site, &wanted, 0, Type::Date, |ctx, args| {
        let (Some(y), Some(m), Some(d)) = (
            whole(ctx, &args[0])?,
            whole(ctx, &args[1])?,
            whole(ctx, &args[2])?,
        ) else {
            return Ok(Value::Null);
        };
        clock::ymd(y, m, d).map_or_else(|| fail("Invalid date"), |d| Ok(Value::Date(d)))
    })
}

/// The date of a Date or (in GMT) a DateTime argument.
fn date_of(ctx: &Ctx<'_>, node: &Node) -> Result<Option<NaiveDate>, EvalError> {
    match ctx.eval(node)? {
        Value::Date(date) => Ok(Some(date)),
        Value::DateTime(instant) => Ok(Some(instant.date_naive())),
        Value::Null => Ok(None),
        other => fail(format!("expected a date, got {other:?}")),
    }
}

fn date_part(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    arity(site, 1, 1)?;
    let args = checker.args(site)?;
    // The newer functions take a date/time too (its GMT date), as Salesforce's engine does.
    if matches!(site.name, "ISOWEEK" | "ISOYEAR" | "DAYOFYEAR" | "WEEKDAY") {
        expect(site, &args[0], &[Want::Date, Want::DateTime])?;
    } else {
        expect(site, &args[0], &[Want::Date])?;
    }
    let run: Builtin = match site.name {
        "DAY" => |c, a| part(date_of(c, &a[0])?, |d| i64::from(d.day())),
        "MONTH" => |c, a| part(date_of(c, &a[0])?, |d| i64::from(d.month())),
        "YEAR" => |c, a| part(date_of(c, &a[0])?, |d| i64::from(d.year())),
        "WEEKDAY" => |c, a| {
            part(date_of(c, &a[0])?, |d| {
                i64::from(d.weekday().num_days_from_sunday()) + 1
            })
        },
        "DAYOFYEAR" => |c, a| part(date_of(c, &a[0])?, |d| i64::from(d.ordinal())),
        "ISOWEEK" => |c, a| part(date_of(c, &a[0])?, |d| i64::from(d.iso_week().week())),
        _ => |c, a| part(date_of(c, &a[0])?, |d| i64::from(d.iso_week().year())),
    };
    Ok(Typed::call(run, args, Some(Type::Number), site.pos))
}

fn part<T>(value: Option<T>, get: fn(T) -> i64) -> Result<Value, EvalError> {
    Ok(value.map_or(Value::Null, |v| Value::Number(Decimal::from(get(v)))))
}

fn time_part(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let run: Builtin = match site.name {
        "HOUR" => |c, a| part(c.time(&a[0])?, |t| i64::from(t.hour())),
        "MINUTE" => |c, a| part(c.time(&a[0])?, |t| i64::from(t.minute())),
        "SECOND" => |c, a| part(c.time(&a[0])?, |t| i64::from(t.second())),
        _ => |c, a| part(c.time(&a[0])?, |t| i64::from(t.nanosecond() / 1_000_000)),
    };
    fixed(checker, site, &[Want::Time], 0, Type::Number, run)
}

fn add_months(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    arity(site, 2, 2)?;
    let args = checker.args(site)?;
    expect(site, &args[0], &[Want::Date, Want::DateTime])?;
    expect(site, &args[1], &[Want::Number])?;
    let ty = args[0].ty.unwrap_or(Type::Date);
    Ok(Typed::call(add_months_run, args, Some(ty), site.pos))
}

fn add_months_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let value = ctx.eval(&args[0])?;
    let Some(months) = whole(ctx, &args[1])? else {
        return Ok(Value::Null);
    };
    let moved = match value {
        Value::Date(date) => clock::add_months(date, months).map(Value::Date),
        Value::DateTime(instant) => clock::add_months(instant.date_naive(), months)
            .map(|d| Value::DateTime(d.and_time(instant.time()).and_utc())),
        _ => return Ok(Value::Null),
    };
    moved.map_or_else(|| fail("Date out of range"), Ok)
}
