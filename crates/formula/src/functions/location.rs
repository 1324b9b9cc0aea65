//! GEOLOCATION, DISTANCE and REGEX.

use super::{Contexts, Def, Want, arity, expect, fixed};
use crate::eval::{Ctx, Node, fail};
use crate::functions::math::from_f64;
use crate::typed::{Check, Site, Typed};
use crate::{CompileError, EvalError, Type, Value};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::cell::RefCell;
use std::collections::HashMap;

/// The family's functions.
pub(super) const DEFS: &[Def] = &[
    Def {
        name: "GEOLOCATION",
        compile: geolocation,
        contexts: Contexts::All,
    },
    Def {
        name: "DISTANCE",
        compile: distance,
        contexts: Contexts::All,
    },
    Def {
        name: "REGEX",
        compile: regex,
        contexts: Contexts::All,
    },
];

fn geolocation(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let wanted = [Want::Number, Want::Number];
    fixed(checker, site, &wanted, 0, Type::Geolocation, |ctx, args| {
        let (latitude, longitude) = match (ctx.number(&args[0])?, ctx.number(&args[1])?) {
            (Some(latitude), Some(longitude)) => (latitude, longitude),
            (None, None) => return Ok(Value::Null),
            _ => return fail("A location needs both a latitude and a longitude"),
        };
        let valid = latitude.abs() <= Decimal::from(90) && longitude.abs() <= Decimal::from(180);
        if !valid {
            return fail("Latitude must be within ±90 and longitude within ±180");
        }
        Ok(Value::Location {
            latitude,
            longitude,
        })
    })
}

fn distance(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    arity(site, 3, 3)?;
    let args = checker.args(site)?;
    expect(site, &args[0], &[Want::Location])?;
    expect(site, &args[1], &[Want::Location])?;
    expect(site, &args[2], &[Want::Text])?;
    Ok(Typed::call(
        distance_run,
        args,
        Some(Type::Number),
        site.pos,
    ))
}

fn point(value: Value) -> Option<(f64, f64)> {
    match value {
        Value::Location {
            latitude,
            longitude,
        } => Some((latitude.to_f64()?, longitude.to_f64()?)),
        _ => None,
    }
}

/// The great-circle distance (haversine) in miles or kilometres.
fn distance_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let (Some(a), Some(b)) = (point(ctx.eval(&args[0])?), point(ctx.eval(&args[1])?)) else {
        return Ok(Value::Null);
    };
    let radius = match ctx.text_or_empty(&args[2])?.to_ascii_lowercase().as_str() {
        "mi" => 3_958.761,
        "km" => 6_371.009,
        other => return fail(format!("Unknown distance unit '{other}'")),
    };
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.1 - a.1).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    let central = 2.0 * h.sqrt().min(1.0).asin();
    Ok(Value::Number(from_f64(radius * central)?))
}

thread_local! {
    /// Compiled patterns by source, so that a constant pattern is compiled once per thread.
    static PATTERNS: RefCell<HashMap<String, regex::Regex>> = RefCell::new(HashMap::new());
}

const MAX_CACHED_PATTERNS: usize = 256;

fn regex(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(
        checker,
        site,
        &[Want::Text, Want::Text],
        0,
        Type::Checkbox,
        |ctx, args| {
            let text = ctx.text_or_empty(&args[0])?;
            let pattern = ctx.text_or_empty(&args[1])?;
            full_match(&text, &pattern).map(Value::Checkbox)
        },
    )
}

/// Whether `pattern` matches the whole of `text` (Java's `String.matches`).
fn full_match(text: &str, pattern: &str) -> Result<bool, EvalError> {
    PATTERNS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(compiled) = cache.get(pattern) {
            return Ok(compiled.is_match(text));
        }
        let compiled =
            regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| crate::EvalError {
                message: format!("Invalid regular expression: {e}"),
            })?;
        let matched = compiled.is_match(text);
        if cache.len() >= MAX_CACHED_PATTERNS {
            cache.clear();
        }
        cache.insert(pattern.to_string(), compiled);
        Ok(matched)
    })
}
