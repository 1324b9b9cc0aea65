//! Text functions.

use super::{Contexts, Def, Want, arity, fixed};
use crate::compile::{Checker, Site, Typed, picklist_error};
use crate::eval::{Ctx, Node};
use crate::functions::render;
use crate::{CompileError, EvalError, Type, Value};
use rust_decimal::Decimal;

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
];

fn text(checker: &mut Checker<'_>, site: &Site<'_>) -> Result<Typed, CompileError> {
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

fn len(checker: &mut Checker<'_>, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(checker, site, &[Want::Text], 0, Type::Number, len_run)
}

fn len_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let count = ctx.text_or_empty(&args[0])?.chars().count();
    Ok(Value::Number(Decimal::from(count)))
}
