//! Date, date/time and time functions.

use super::{Contexts, Def, fixed};
use crate::compile::{Checker, Site, Typed};
use crate::eval::{Ctx, Node};
use crate::{CompileError, EvalError, Type, Value};

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
];

fn today(checker: &mut Checker<'_>, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(
        checker,
        site,
        &[],
        0,
        Type::Date,
        |ctx: &Ctx<'_>, _: &[Node]| Ok(Value::Date(ctx.scope.today())),
    )
}

fn now(checker: &mut Checker<'_>, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(checker, site, &[], 0, Type::DateTime, now_run)
}

fn now_run(ctx: &Ctx<'_>, _: &[Node]) -> Result<Value, EvalError> {
    Ok(Value::DateTime(ctx.scope.now()))
}
