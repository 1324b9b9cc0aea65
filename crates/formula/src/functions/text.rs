//! Text functions: lengths, cases, slices, padding, searching, conversion.

use super::{Contexts, Def, Want, arity, fixed};
use crate::eval::{Builtin, Ctx, Node, fail};
use crate::functions::render;
use crate::typed::{Check, Site, Typed, picklist_error};
use crate::{CompileError, EvalError, Type, Value};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// The family's functions.
pub(super) const DEFS: &[Def] = &[
    Def {
        name: "TEXT",
        compile: text,
        contexts: Contexts::All,
    },
    Def {
        name: "LEN",
        compile: len,
        contexts: Contexts::All,
    },
    Def {
        name: "LOWER",
        compile: case_change,
        contexts: Contexts::All,
    },
    Def {
        name: "UPPER",
        compile: case_change,
        contexts: Contexts::All,
    },
    Def {
        name: "INITCAP",
        compile: one_text,
        contexts: Contexts::All,
    },
    Def {
        name: "TRIM",
        compile: one_text,
        contexts: Contexts::All,
    },
    Def {
        name: "REVERSE",
        compile: one_text,
        contexts: Contexts::All,
    },
    Def {
        name: "LEFT",
        compile: left_right,
        contexts: Contexts::All,
    },
    Def {
        name: "RIGHT",
        compile: left_right,
        contexts: Contexts::All,
    },
    Def {
        name: "MID",
        compile: mid,
        contexts: Contexts::All,
    },
    Def {
        name: "LPAD",
        compile: pad,
        contexts: Contexts::All,
    },
    Def {
        name: "RPAD",
        compile: pad,
        contexts: Contexts::All,
    },
];

fn text(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    arity(site, 1, 1)?;
    let args = checker.args(site)?;
    if args[0].ty == Some(Type::MultiPicklist) {
        return Err(picklist_error(&args[0]));
    }
    Ok(Typed::call(text_run, args, Some(Type::Text), site.pos))
}

fn text_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let value = ctx.eval(&args[0])?;
    Ok(match value {
        Value::Null => Value::Null,
        other => Value::Text(render::text_of(&other)),
    })
}

fn len(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(checker, site, &[Want::Text], 0, Type::Number, len_run)
}

fn len_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let count = ctx.text_or_empty(&args[0])?.chars().count();
    Ok(Value::Number(Decimal::from(count)))
}

/// Maps a text argument; blank stays blank.
fn map_text(ctx: &Ctx<'_>, node: &Node, op: fn(&str) -> String) -> Result<Value, EvalError> {
    Ok(ctx
        .text(node)?
        .map_or(Value::Null, |text| Value::Text(op(&text))))
}

fn case_change(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    // The optional second argument is a locale; only Turkish and Azeri case dotted and
    // dotless i differently, the rest as the root locale does.
    let run: Builtin = if site.name == "LOWER" {
        |c, a| change_case(c, a, false)
    } else {
        |c, a| change_case(c, a, true)
    };
    fixed(checker, site, &[Want::Text, Want::Text], 1, Type::Text, run)
}

fn change_case(ctx: &Ctx<'_>, args: &[Node], upper: bool) -> Result<Value, EvalError> {
    let Some(text) = ctx.text(&args[0])? else {
        return Ok(Value::Null);
    };
    let locale = match args.get(1) {
        Some(node) => ctx.text_or_empty(node)?.to_ascii_lowercase(),
        None => String::new(),
    };
    let turkic = locale.starts_with("tr") || locale.starts_with("az");
    let changed = match (upper, turkic) {
        (true, true) => text.replace('i', "\u{130}").to_uppercase(),
        (false, true) => text
            .replace('I', "\u{131}")
            .replace('\u{130}', "i")
            .to_lowercase(),
        (true, false) => text.to_uppercase(),
        (false, false) => text.to_lowercase(),
    };
    Ok(Value::Text(changed))
}

fn one_text(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let run: Builtin = match site.name {
        "INITCAP" => |c, a| map_text(c, &a[0], initcap),
        "TRIM" => |c, a| {
            map_text(c, &a[0], |t| {
                t.trim_matches(|ch: char| ch <= ' ').to_string()
            })
        },
        _ => |c, a| map_text(c, &a[0], |t| t.chars().rev().collect()),
    };
    fixed(checker, site, &[Want::Text], 0, Type::Text, run)
}

/// The first letter of each word in capitals, the others in lower case.
fn initcap(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut start = true;
    for c in text.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = !c.is_alphanumeric();
    }
    out
}

/// A count argument: `None` when blank, negative counts as 0.
pub(crate) fn count(ctx: &Ctx<'_>, node: &Node) -> Result<Option<usize>, EvalError> {
    let Some(number) = ctx.number(node)? else {
        return Ok(None);
    };
    let whole = number.trunc().to_i64().unwrap_or(i64::MAX);
    Ok(Some(usize::try_from(whole.max(0)).unwrap_or(usize::MAX)))
}

fn left_right(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let run: Builtin = if site.name == "LEFT" {
        left_run
    } else {
        right_run
    };
    fixed(
        checker,
        site,
        &[Want::Text, Want::Number],
        0,
        Type::Text,
        run,
    )
}

fn left_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let Some(text) = ctx.text(&args[0])? else {
        return Ok(Value::Null);
    };
    let Some(n) = count(ctx, &args[1])? else {
        return Ok(Value::Null);
    };
    Ok(Value::Text(text.chars().take(n).collect()))
}

fn right_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let Some(text) = ctx.text(&args[0])? else {
        return Ok(Value::Null);
    };
    let Some(n) = count(ctx, &args[1])? else {
        return Ok(Value::Null);
    };
    let length = text.chars().count();
    Ok(Value::Text(
        text.chars().skip(length.saturating_sub(n)).collect(),
    ))
}

fn mid(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(
        checker,
        site,
        &[Want::Text, Want::Number, Want::Number],
        0,
        Type::Text,
        mid_run,
    )
}

fn mid_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let Some(text) = ctx.text(&args[0])? else {
        return Ok(Value::Null);
    };
    let Some(start) = count(ctx, &args[1])? else {
        return Ok(Value::Null);
    };
    let Some(n) = count(ctx, &args[2])? else {
        return Ok(Value::Null);
    };
    Ok(Value::Text(
        text.chars().skip(start.max(1) - 1).take(n).collect(),
    ))
}

fn pad(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let run: Builtin = if site.name == "LPAD" {
        lpad_run
    } else {
        rpad_run
    };
    fixed(
        checker,
        site,
        &[Want::Text, Want::Number, Want::Text],
        1,
        Type::Text,
        run,
    )
}

fn padded(ctx: &Ctx<'_>, args: &[Node], on_left: bool) -> Result<Value, EvalError> {
    let Some(text) = ctx.text(&args[0])? else {
        return Ok(Value::Null);
    };
    let Some(width) = count(ctx, &args[1])? else {
        return Ok(Value::Null);
    };
    let padding = match args.get(2) {
        Some(node) => ctx.text_or_empty(node)?,
        None => " ".to_string(),
    };
    let length = text.chars().count();
    if length >= width || padding.is_empty() {
        return Ok(Value::Text(text.chars().take(width).collect()));
    }
    let fill: String = padding.chars().cycle().take(width - length).collect();
    Ok(Value::Text(if on_left {
        fill + &text
    } else {
        text + &fill
    }))
}

fn lpad_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    padded(ctx, args, true)
}

fn rpad_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    padded(ctx, args, false)
}

/// A run-time error for a text that is not what the function needs.
pub(crate) fn bad_text<T>(what: &str, text: &str) -> Result<T, EvalError> {
    fail(format!("{what}: '{text}'"))
}

/// Concatenates two texts; a blank is "".
pub(crate) fn concat(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let mut text = ctx.text_or_empty(&args[0])?;
    text.push_str(&ctx.text_or_empty(&args[1])?);
    Ok(Value::Text(text))
}
