//! AND, OR, NOT, IF, CASE, ISBLANK, ISNULL, BLANKVALUE, NULLVALUE.

use super::{Contexts, Def, Want, arity, expect, fixed};
use crate::eval::{Ctx, Node};
use crate::functions::operators::order;
use crate::typed::{Check, Site, Typed, compatible, picklist_error};
use crate::{CompileError, EvalError, Type, Value};
use std::cmp::Ordering;

/// The family's functions.
pub(super) const DEFS: &[Def] = &[
    Def {
        name: "AND",
        compile: and_or,
        contexts: Contexts::All,
    },
    Def {
        name: "OR",
        compile: and_or,
        contexts: Contexts::All,
    },
    Def {
        name: "NOT",
        compile: not,
        contexts: Contexts::All,
    },
    Def {
        name: "IF",
        compile: if_,
        contexts: Contexts::All,
    },
    Def {
        name: "CASE",
        compile: case,
        contexts: Contexts::All,
    },
    Def {
        name: "ISBLANK",
        compile: is_blank,
        contexts: Contexts::All,
    },
    Def {
        name: "ISNULL",
        compile: is_blank,
        contexts: Contexts::All,
    },
    Def {
        name: "BLANKVALUE",
        compile: blank_value,
        contexts: Contexts::All,
    },
    Def {
        name: "NULLVALUE",
        compile: blank_value,
        contexts: Contexts::All,
    },
];

/// The common type of two branches (`None` stands for `NULL`, which fits any).
pub(crate) fn unify(
    site: &Site<'_>,
    a: Option<Type>,
    b: &Typed,
) -> Result<Option<Type>, CompileError> {
    let (Some(a), Some(bt)) = (a, b.ty) else {
        return Ok(a.or(b.ty));
    };
    if matches!(bt, Type::Picklist | Type::MultiPicklist) {
        return Err(picklist_error(b));
    }
    if a == bt {
        return Ok(Some(a));
    }
    if compatible(a, bt) {
        return Ok(Some(if a.is_numeric() {
            Type::Number
        } else {
            Type::Text
        }));
    }
    Err(b.pos.error(format!(
        "Incorrect parameter type for function '{}()'. Expected {}, received {}",
        site.name,
        a.display_name(),
        bt.display_name()
    )))
}

fn and_or(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    arity(site, 1, usize::MAX)?;
    let args = checker.args(site)?;
    for arg in &args {
        expect(site, arg, &[Want::Boolean])?;
    }
    let run = if site.name == "AND" { and } else { or };
    Ok(Typed::call(run, args, Some(Type::Checkbox), site.pos))
}

fn and(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    for arg in args {
        if ctx.boolean(arg)? != Some(true) {
            return Ok(Value::Checkbox(false));
        }
    }
    Ok(Value::Checkbox(true))
}

fn or(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    for arg in args {
        if ctx.boolean(arg)? == Some(true) {
            return Ok(Value::Checkbox(true));
        }
    }
    Ok(Value::Checkbox(false))
}

fn not(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(checker, site, &[Want::Boolean], 0, Type::Checkbox, not_run)
}

fn not_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    Ok(ctx
        .boolean(&args[0])?
        .map_or(Value::Null, |flag| Value::Checkbox(!flag)))
}

fn if_(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    arity(site, 3, 3)?;
    let args = checker.args(site)?;
    expect(site, &args[0], &[Want::Boolean])?;
    let ty = unify(site, args[1].ty, &args[2])?;
    if let Some(Type::Picklist | Type::MultiPicklist) = args[1].ty {
        return Err(picklist_error(&args[1]));
    }
    Ok(Typed::call(if_run, args, ty, site.pos))
}

fn if_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    if ctx.boolean(&args[0])? == Some(true) {
        ctx.eval(&args[1])
    } else {
        ctx.eval(&args[2])
    }
}

fn case(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    arity(site, 4, usize::MAX)?;
    if !site.args.len().is_multiple_of(2) {
        return Err(site.pos.error(format!(
            "Incorrect number of parameters for function 'CASE()'. Expected {}, received {}",
            site.args.len() + 1,
            site.args.len()
        )));
    }
    let args = checker.args(site)?;
    let subject = match args[0].ty {
        Some(Type::Picklist) => Some(Type::Text),
        Some(Type::MultiPicklist) => return Err(picklist_error(&args[0])),
        other => other,
    };
    let mut result: Option<Type> = None;
    let last = args.len() - 1;
    for (i, arg) in args.iter().enumerate().skip(1) {
        let is_value = i % 2 == 1 && i != last;
        if is_value {
            unify(site, subject, arg)?;
        } else {
            result = unify(site, result, arg)?;
        }
    }
    Ok(Typed::call(case_run, args, result, site.pos))
}

/// CASE: the first value equal to the subject picks its result; a blank equals nothing (as
/// in Salesforce's engine, which compares with SQL's `=`), so a blank subject gives the else.
fn case_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let subject = ctx.eval(&args[0])?;
    let pairs = &args[1..args.len() - 1];
    for pair in pairs.chunks(2) {
        let candidate = ctx.eval(&pair[0])?;
        let blank = subject.is_blank() || candidate.is_blank();
        if !blank && order(&subject, &candidate)? == Some(Ordering::Equal) {
            return ctx.eval(&pair[1]);
        }
    }
    ctx.eval(&args[args.len() - 1])
}

fn is_blank(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    arity(site, 1, 1)?;
    let args = checker.args(site)?;
    if site.name == "ISNULL" && args[0].ty.is_some_and(Type::is_textual) {
        // "Text fields are never null, so using ISNULL() with a text field always returns
        // false" (Salesforce's help for ISNULL); ISBLANK is the one that sees "".
        return Ok(Typed::call(
            |_, _| Ok(Value::Checkbox(false)),
            args,
            Some(Type::Checkbox),
            site.pos,
        ));
    }
    Ok(Typed::call(
        is_blank_run,
        args,
        Some(Type::Checkbox),
        site.pos,
    ))
}

fn is_blank_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    Ok(Value::Checkbox(ctx.eval(&args[0])?.is_blank()))
}

fn blank_value(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    arity(site, 2, 2)?;
    let args = checker.args(site)?;
    if let Some(Type::Picklist | Type::MultiPicklist) = args[0].ty {
        return Err(picklist_error(&args[0]));
    }
    let ty = unify(site, args[0].ty, &args[1])?;
    if site.name == "NULLVALUE" && args[0].ty.is_some_and(Type::is_textual) {
        // A text is never null: NULLVALUE gives it back, blank or not.
        return Ok(Typed::call(
            |ctx, args| ctx.eval(&args[0]),
            args,
            ty,
            site.pos,
        ));
    }
    Ok(Typed::call(blank_value_run, args, ty, site.pos))
}

fn blank_value_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let value = ctx.eval(&args[0])?;
    if value.is_blank() {
        ctx.eval(&args[1])
    } else {
        Ok(value)
    }
}
