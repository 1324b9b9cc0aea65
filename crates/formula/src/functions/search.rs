//! Text tests and searches: BEGINS, CONTAINS, FIND, SUBSTITUTE, REGEX, ISNUMBER, VALUE, ASCII,
//! CHR, BR, HYPERLINK, IMAGE, CASESAFEID.

use super::{Contexts, Def, Want, fixed};
use crate::eval::{Builtin, Ctx, Node, fail};
use crate::functions::text::{bad_text, count};
use crate::typed::{Check, Site, Typed};
use crate::{CompileError, EvalError, Type, Value};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::str::FromStr;

/// The family's functions.
pub(super) const DEFS: &[Def] = &[
    Def {
        name: "BEGINS",
        compile: two_texts,
        contexts: Contexts::All,
    },
    Def {
        name: "CONTAINS",
        compile: two_texts,
        contexts: Contexts::All,
    },
    Def {
        name: "FIND",
        compile: find,
        contexts: Contexts::All,
    },
    Def {
        name: "SUBSTITUTE",
        compile: substitute,
        contexts: Contexts::All,
    },
    Def {
        name: "ISNUMBER",
        compile: is_number,
        contexts: Contexts::All,
    },
    Def {
        name: "VALUE",
        compile: value,
        contexts: Contexts::All,
    },
    Def {
        name: "ASCII",
        compile: ascii,
        contexts: Contexts::All,
    },
    Def {
        name: "CHR",
        compile: chr,
        contexts: Contexts::All,
    },
    Def {
        name: "BR",
        compile: br,
        contexts: Contexts::All,
    },
    Def {
        name: "HYPERLINK",
        compile: hyperlink,
        contexts: Contexts::All,
    },
    Def {
        name: "IMAGE",
        compile: image,
        contexts: Contexts::All,
    },
    Def {
        name: "CASESAFEID",
        compile: case_safe_id,
        contexts: Contexts::All,
    },
];

fn two_texts(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let run: Builtin = if site.name == "BEGINS" {
        begins
    } else {
        contains
    };
    fixed(
        checker,
        site,
        &[Want::Text, Want::Text],
        0,
        Type::Checkbox,
        run,
    )
}

fn begins(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let text = ctx.text_or_empty(&args[0])?;
    let prefix = ctx.text_or_empty(&args[1])?;
    Ok(Value::Checkbox(text.starts_with(&prefix)))
}

fn contains(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let text = ctx.text_or_empty(&args[0])?;
    let part = ctx.text_or_empty(&args[1])?;
    Ok(Value::Checkbox(text.contains(&part)))
}

fn find(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(
        checker,
        site,
        &[Want::Text, Want::Text, Want::Number],
        1,
        Type::Number,
        find_run,
    )
}

fn find_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let needle = ctx.text_or_empty(&args[0])?;
    let haystack = ctx.text_or_empty(&args[1])?;
    let start = match args.get(2) {
        Some(node) => match ctx.number(node)? {
            Some(n) if n < Decimal::ONE => 1,
            Some(n) => n.trunc().to_usize().unwrap_or(usize::MAX),
            None => 1,
        },
        None => 1,
    };
    if needle.is_empty() {
        return Ok(Value::Number(Decimal::ZERO));
    }
    let chars: Vec<char> = haystack.chars().collect();
    let wanted: Vec<char> = needle.chars().collect();
    let found = (start - 1..chars.len())
        .find(|&i| chars[i..].starts_with(&wanted))
        .map_or(0, |i| i + 1);
    Ok(Value::Number(Decimal::from(found)))
}

fn substitute(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let wanted = [Want::Text, Want::Text, Want::Text];
    fixed(checker, site, &wanted, 0, Type::Text, substitute_run)
}

fn substitute_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let Some(text) = ctx.text(&args[0])? else {
        return Ok(Value::Null);
    };
    let old = ctx.text_or_empty(&args[1])?;
    let new = ctx.text_or_empty(&args[2])?;
    if old.is_empty() {
        return Ok(Value::Null);
    }
    Ok(Value::Text(text.replace(&old, &new)))
}

/// Reads a number the way VALUE() and ISNUMBER() do: optional sign, digits, one point,
/// an optional exponent; surrounding blanks allowed.
pub(crate) fn parse_number(text: &str) -> Option<Decimal> {
    let trimmed = text.trim();
    let body = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    let mantissa = body.split(['e', 'E']).next().unwrap_or("");
    let digits_ok = !mantissa.is_empty()
        && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.')
        && mantissa.chars().filter(|c| *c == '.').count() <= 1
        && mantissa.chars().any(|c| c.is_ascii_digit());
    if !digits_ok {
        return None;
    }
    Decimal::from_str(trimmed)
        .ok()
        .or_else(|| Decimal::from_scientific(trimmed).ok())
}

fn is_number(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(
        checker,
        site,
        &[Want::Text],
        0,
        Type::Checkbox,
        |ctx, args| {
            let text = ctx.text_or_empty(&args[0])?;
            Ok(Value::Checkbox(parse_number(&text).is_some()))
        },
    )
}

fn value(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(
        checker,
        site,
        &[Want::Text],
        0,
        Type::Number,
        |ctx, args| {
            let Some(text) = ctx.text(&args[0])? else {
                return Ok(Value::Null);
            };
            parse_number(&text)
                .map_or_else(|| bad_text("Not a number", &text), |n| Ok(Value::Number(n)))
        },
    )
}

fn ascii(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(
        checker,
        site,
        &[Want::Text],
        0,
        Type::Number,
        |ctx, args| {
            let Some(text) = ctx.text(&args[0])? else {
                return Ok(Value::Null);
            };
            let first = text.chars().next().map_or(0, u32::from);
            Ok(Value::Number(Decimal::from(first)))
        },
    )
}

fn chr(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(
        checker,
        site,
        &[Want::Number],
        0,
        Type::Text,
        |ctx, args| {
            let Some(code) = count(ctx, &args[0])? else {
                return Ok(Value::Null);
            };
            if code == 0 {
                return Ok(Value::Null);
            }
            let c = u32::try_from(code).ok().and_then(char::from_u32);
            c.map_or_else(
                || fail("Not a character code"),
                |c| Ok(Value::Text(c.to_string())),
            )
        },
    )
}

fn br(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(checker, site, &[], 0, Type::Text, |_, _| {
        Ok(Value::Text("<br>".to_string()))
    })
}

fn hyperlink(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let wanted = [Want::Text, Want::Text, Want::Text];
    fixed(checker, site, &wanted, 1, Type::Text, |ctx, args| {
        let url = ctx.text_or_empty(&args[0])?;
        let label = ctx.text_or_empty(&args[1])?;
        let target = match args.get(2) {
            Some(node) => ctx.text_or_empty(node)?,
            None => "_blank".to_string(),
        };
        Ok(Value::Text(format!(
            "<a href=\"{url}\" target=\"{target}\">{label}</a>"
        )))
    })
}

fn image(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let wanted = [Want::Text, Want::Text, Want::Number, Want::Number];
    fixed(checker, site, &wanted, 2, Type::Text, |ctx, args| {
        let url = ctx.text_or_empty(&args[0])?;
        let alt = ctx.text_or_empty(&args[1])?;
        let mut size = String::new();
        if let [_, _, height, width] = args {
            let (Some(h), Some(w)) = (ctx.number(height)?, ctx.number(width)?) else {
                return Ok(Value::Null);
            };
            size = format!(" height=\"{h}\" width=\"{w}\"");
        }
        Ok(Value::Text(format!(
            "<img src=\"{url}\" alt=\"{alt}\"{size} border=\"0\"/>"
        )))
    })
}

fn case_safe_id(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(checker, site, &[Want::Text], 0, Type::Text, |ctx, args| {
        let Some(id) = ctx.text(&args[0])? else {
            return Ok(Value::Null);
        };
        Ok(Value::Text(eighteen_char_id(&id)))
    })
}

/// A 15-character record id with its 3-character case checksum appended: for each block of
/// five characters, a bit per upper-case letter (first character lowest) indexes
/// `A-Z0-5`. Ids of other lengths come back unchanged.
pub fn eighteen_char_id(id: &str) -> String {
    if id.len() != 15 || !id.is_ascii() {
        return id.to_string();
    }
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let mut out = id.to_string();
    for block in id.as_bytes().chunks(5) {
        let bits = block
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_ascii_uppercase())
            .fold(0usize, |acc, (i, _)| acc | (1 << i));
        out.push(char::from(ALPHABET[bits]));
    }
    out
}
