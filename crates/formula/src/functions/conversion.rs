//! DATEVALUE, DATETIMEVALUE, TIMEVALUE, UNIXTIMESTAMP, FROMUNIXTIME, FORMATDURATION.

use super::{Contexts, Def, Want, arity, expect};
use crate::eval::{Ctx, Node, fail};
use crate::functions::clock;
use crate::typed::{Check, Site, Typed};
use crate::{CompileError, EvalError, Type, Value};
use chrono::{DateTime, NaiveTime, Timelike, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// The family's functions.
pub(super) const DEFS: &[Def] = &[
    Def {
        name: "DATEVALUE",
        compile: date_value,
        contexts: Contexts::All,
    },
    Def {
        name: "DATETIMEVALUE",
        compile: datetime_value,
        contexts: Contexts::All,
    },
    Def {
        name: "TIMEVALUE",
        compile: time_value,
        contexts: Contexts::All,
    },
    Def {
        name: "UNIXTIMESTAMP",
        compile: unix_timestamp,
        contexts: Contexts::All,
    },
    Def {
        name: "FROMUNIXTIME",
        compile: from_unix_time,
        contexts: Contexts::All,
    },
    Def {
        name: "FORMATDURATION",
        compile: format_duration,
        contexts: Contexts::All,
    },
];

fn one(
    checker: &mut dyn Check,
    site: &Site<'_>,
    wanted: &[Want],
    ty: Type,
    run: crate::eval::Builtin,
) -> Result<Typed, CompileError> {
    arity(site, 1, 1)?;
    let args = checker.args(site)?;
    expect(site, &args[0], wanted)?;
    Ok(Typed::call(run, args, Some(ty), site.pos))
}

fn date_value(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    one(
        checker,
        site,
        &[Want::Text, Want::DateTime, Want::Date],
        Type::Date,
        |ctx, args| match ctx.eval(&args[0])? {
            Value::Text(text) if text.is_empty() => Ok(Value::Null),
            Value::Text(text) => clock::parse_date(&text).map_or_else(
                || fail(format!("Invalid date: '{text}'")),
                |d| Ok(Value::Date(d)),
            ),
            Value::DateTime(instant) => Ok(Value::Date(instant.date_naive())),
            Value::Date(date) => Ok(Value::Date(date)),
            _ => Ok(Value::Null),
        },
    )
}

fn datetime_value(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let wanted = [Want::Text, Want::Date, Want::DateTime];
    one(
        checker,
        site,
        &wanted,
        Type::DateTime,
        |ctx, args| match ctx.eval(&args[0])? {
            Value::Text(text) if text.is_empty() => Ok(Value::Null),
            Value::Text(text) => clock::parse_datetime(&text).map_or_else(
                || fail(format!("Invalid date/time: '{text}'")),
                |t| Ok(Value::DateTime(t.and_utc())),
            ),
            Value::Date(date) => Ok(Value::DateTime(date.and_time(NaiveTime::MIN).and_utc())),
            Value::DateTime(instant) => Ok(Value::DateTime(instant)),
            _ => Ok(Value::Null),
        },
    )
}

fn time_value(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    one(
        checker,
        site,
        &[Want::Text, Want::DateTime],
        Type::Time,
        |ctx, args| match ctx.eval(&args[0])? {
            Value::Text(text) if text.is_empty() => Ok(Value::Null),
            Value::Text(text) => clock::parse_time(&text).map_or_else(
                || fail(format!("Invalid time: '{text}'")),
                |t| Ok(Value::Time(t)),
            ),
            Value::DateTime(instant) => Ok(Value::Time(instant.time())),
            _ => Ok(Value::Null),
        },
    )
}

fn ms_of_day(time: NaiveTime) -> i64 {
    i64::from(time.num_seconds_from_midnight()) * 1000 + i64::from(time.nanosecond() / 1_000_000)
}

fn unix_timestamp(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let wanted = [Want::DateTime, Want::Date, Want::Time];
    one(checker, site, &wanted, Type::Number, |ctx, args| {
        let seconds = match ctx.eval(&args[0])? {
            Value::DateTime(instant) => instant.timestamp(),
            Value::Date(date) => date.and_time(NaiveTime::MIN).and_utc().timestamp(),
            Value::Time(time) => ms_of_day(time) / 1000,
            _ => return Ok(Value::Null),
        };
        Ok(Value::Number(Decimal::from(seconds)))
    })
}

fn from_unix_time(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    one(
        checker,
        site,
        &[Want::Number],
        Type::DateTime,
        |ctx, args| {
            let Some(seconds) = ctx.number(&args[0])? else {
                return Ok(Value::Null);
            };
            let instant = seconds
                .trunc()
                .to_i64()
                .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0));
            instant.map_or_else(|| fail("Date out of range"), |t| Ok(Value::DateTime(t)))
        },
    )
}

fn format_duration(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    arity(site, 1, 2)?;
    let args = checker.args(site)?;
    let first = args[0].ty;
    if first.is_none_or(Type::is_numeric) {
        expect(site, &args[0], &[Want::Number])?;
        if let Some(flag) = args.get(1) {
            expect(site, flag, &[Want::Boolean])?;
        }
        return Ok(Typed::call(
            duration_of_seconds,
            args,
            Some(Type::Text),
            site.pos,
        ));
    }
    arity(site, 2, 2)?;
    expect(site, &args[0], &[Want::Time, Want::DateTime])?;
    expect(site, &args[1], &[Want::Time, Want::DateTime])?;
    Ok(Typed::call(
        duration_between,
        args,
        Some(Type::Text),
        site.pos,
    ))
}

/// `H:MM:SS`, or with days `D:HH:MM:SS`.
fn render_duration(seconds: i64, with_days: bool) -> String {
    let seconds = seconds.abs();
    let (minutes, second) = (seconds / 60, seconds % 60);
    let (hours, minute) = (minutes / 60, minutes % 60);
    if with_days {
        format!("{}:{:02}:{minute:02}:{second:02}", hours / 24, hours % 24)
    } else {
        format!("{hours:02}:{minute:02}:{second:02}")
    }
}

fn duration_of_seconds(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let Some(seconds) = ctx.number(&args[0])? else {
        return Ok(Value::Null);
    };
    let with_days = match args.get(1) {
        Some(node) => ctx.boolean(node)? == Some(true),
        None => false,
    };
    let whole = seconds
        .trunc()
        .to_i64()
        .map_or_else(|| fail("Number out of range"), Ok)?;
    Ok(Value::Text(render_duration(whole, with_days)))
}

fn duration_between(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let text = match (ctx.eval(&args[0])?, ctx.eval(&args[1])?) {
        (Value::Time(a), Value::Time(b)) => {
            render_duration((ms_of_day(a) - ms_of_day(b)) / 1000, false)
        }
        (Value::DateTime(a), Value::DateTime(b)) => {
            render_duration((a - b).num_milliseconds() / 1000, true)
        }
        (Value::Null, _) | (_, Value::Null) => return Ok(Value::Null),
        _ => return fail("FORMATDURATION needs two times or two date/times"),
    };
    Ok(Value::Text(text))
}
