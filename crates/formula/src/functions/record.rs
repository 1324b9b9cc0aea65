//! Functions about the record and its write: picklists (ISPICKVAL, INCLUDES, PICKLISTCOUNT),
//! the write's history (ISNEW, ISCLONE, ISCHANGED, PRIORVALUE: validation rules only), and the
//! org's data (VLOOKUP, CURRENCYRATE) through [`crate::Scope`]'s hooks.

use super::{Contexts, Def, Want, arity, expect, fixed};
use crate::eval::{Ctx, Node, fail};
use crate::parser::ExprKind;
use crate::typed::{Check, Site, Typed};
use crate::{CompileError, EvalError, Type, Value};
use rust_decimal::Decimal;

/// The family's functions.
pub(super) const DEFS: &[Def] = &[
    Def {
        name: "ISPICKVAL",
        compile: is_pick_val,
        contexts: Contexts::All,
    },
    Def {
        name: "INCLUDES",
        compile: includes,
        contexts: Contexts::All,
    },
    Def {
        name: "PICKLISTCOUNT",
        compile: picklist_count,
        contexts: Contexts::All,
    },
    Def {
        name: "ISNEW",
        compile: is_new,
        contexts: Contexts::ValidationOnly,
    },
    Def {
        name: "ISCLONE",
        compile: is_clone,
        contexts: Contexts::ValidationOnly,
    },
    Def {
        name: "ISCHANGED",
        compile: is_changed,
        contexts: Contexts::ValidationOnly,
    },
    Def {
        name: "PRIORVALUE",
        compile: prior_value,
        contexts: Contexts::ValidationOnly,
    },
    Def {
        name: "VLOOKUP",
        compile: vlookup,
        contexts: Contexts::ValidationOnly,
    },
    Def {
        name: "CURRENCYRATE",
        compile: currency_rate,
        contexts: Contexts::NotDefault,
    },
];

fn expect_type(site: &Site<'_>, arg: &Typed, wanted: Type) -> Result<(), CompileError> {
    if arg.ty.is_none_or(|ty| ty == wanted) {
        return Ok(());
    }
    Err(arg.pos.error(format!(
        "Incorrect parameter type for function '{}()'. Expected {}, received {}",
        site.name,
        wanted.display_name(),
        arg.ty.map_or("Null", Type::display_name)
    )))
}

fn is_pick_val(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    arity(site, 2, 2)?;
    let args = checker.args(site)?;
    expect_type(site, &args[0], Type::Picklist)?;
    expect(site, &args[1], &[Want::Text])?;
    Ok(Typed::call(
        |ctx, args| {
            let value = ctx.text_or_empty(&args[0])?;
            Ok(Value::Checkbox(value == ctx.text_or_empty(&args[1])?))
        },
        args,
        Some(Type::Checkbox),
        site.pos,
    ))
}

fn includes(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    arity(site, 2, 2)?;
    let args = checker.args(site)?;
    expect_type(site, &args[0], Type::MultiPicklist)?;
    expect(site, &args[1], &[Want::Text])?;
    Ok(Typed::call(
        |ctx, args| {
            let values = ctx.text_or_empty(&args[0])?;
            let wanted = ctx.text_or_empty(&args[1])?;
            Ok(Value::Checkbox(
                !wanted.is_empty() && values.split(';').any(|v| v == wanted),
            ))
        },
        args,
        Some(Type::Checkbox),
        site.pos,
    ))
}

fn picklist_count(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    arity(site, 1, 1)?;
    let args = checker.args(site)?;
    if !matches!(
        args[0].ty,
        Some(Type::MultiPicklist | Type::Picklist) | None
    ) {
        return Err(args[0].pos.error(format!(
            "Incorrect parameter type for function 'PICKLISTCOUNT()'. Expected Multi-Select Picklist, received {}",
            args[0].ty.map_or("Null", Type::display_name)
        )));
    }
    Ok(Typed::call(
        |ctx, args| {
            let values = ctx.text_or_empty(&args[0])?;
            let count = values.split(';').filter(|v| !v.is_empty()).count();
            Ok(Value::Number(Decimal::from(count)))
        },
        args,
        Some(Type::Number),
        site.pos,
    ))
}

fn is_new(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(checker, site, &[], 0, Type::Checkbox, |ctx, _| {
        Ok(Value::Checkbox(ctx.scope.is_new()))
    })
}

fn is_clone(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(checker, site, &[], 0, Type::Checkbox, |ctx, _| {
        Ok(Value::Checkbox(ctx.scope.is_clone()))
    })
}

/// The single argument, which must be a field reference.
fn field_argument(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    arity(site, 1, 1)?;
    let arg = checker.args(site)?.remove(0);
    if arg.reference().is_none() {
        return Err(arg.pos.error(format!(
            "Function {}() requires a field reference as its argument",
            site.name
        )));
    }
    Ok(arg)
}

/// The prior value of a field-reference node, blank read as the node reads it.
fn prior(ctx: &Ctx<'_>, node: &Node) -> Result<Value, EvalError> {
    let Node::Ref {
        index,
        blank,
        percent,
    } = node
    else {
        return fail("not a field reference");
    };
    Ok(crate::eval::read_field(
        ctx.scope.prior(*index),
        blank,
        *percent,
    ))
}

fn is_changed(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let arg = field_argument(checker, site)?;
    Ok(Typed::call(
        |ctx, args| {
            let now = ctx.eval(&args[0])?;
            let before = prior(ctx, &args[0])?;
            let same = (now.is_blank() && before.is_blank()) || now == before;
            Ok(Value::Checkbox(!ctx.scope.is_new() && !same))
        },
        vec![arg],
        Some(Type::Checkbox),
        site.pos,
    ))
}

fn prior_value(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    let arg = field_argument(checker, site)?;
    let ty = arg.ty;
    let field = arg.field.clone();
    let mut typed = Typed::call(|ctx, args| prior(ctx, &args[0]), vec![arg], ty, site.pos);
    typed.field = field;
    Ok(typed)
}

/// `$ObjectType.Object__c.Fields.Field__c` split into the object and field names.
fn object_field(site: &Site<'_>, index: usize) -> Result<(String, String), CompileError> {
    let arg = &site.args[index];
    if let ExprKind::Ident(name) = &arg.kind {
        let parts: Vec<&str> = name.split('.').collect();
        if let [
            "$ObjectType" | "$objecttype" | "$OBJECTTYPE",
            object,
            _,
            field,
        ] = parts[..]
        {
            return Ok((object.to_string(), field.to_string()));
        }
    }
    Err(arg.pos.error(format!(
        "Incorrect parameter type for function 'VLOOKUP()'. Expected $ObjectType field, received {}",
        index + 1
    )))
}

fn vlookup(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    arity(site, 3, 3)?;
    let (object, field) = object_field(site, 0)?;
    let (key_object, _) = object_field(site, 1)?;
    if !object.eq_ignore_ascii_case(&key_object) {
        return Err(site
            .pos
            .error("VLOOKUP's first two parameters must name the same object"));
    }
    let key = checker.check(&site.args[2])?;
    expect(site, &key, &[Want::Text])?;
    let names = Node::Const(Value::Text(format!("{object}.{field}")));
    let mut typed = Typed::call(vlookup_run, vec![key], Some(Type::Text), site.pos);
    if let Node::Call { args, .. } = &mut typed.node {
        let mut with_names = args.to_vec();
        with_names.push(names);
        *args = with_names.into_boxed_slice();
    }
    Ok(typed)
}

fn vlookup_run(ctx: &Ctx<'_>, args: &[Node]) -> Result<Value, EvalError> {
    let key = ctx.text_or_empty(&args[0])?;
    let Value::Text(names) = ctx.eval(&args[1])? else {
        return fail("VLOOKUP target");
    };
    let (object, field) = names.split_once('.').unwrap_or((&names, "Name"));
    ctx.scope
        .vlookup(object, field, &key)
        .map_or_else(|| fail("VLOOKUP is not available in this org"), Ok)
}

fn currency_rate(checker: &mut dyn Check, site: &Site<'_>) -> Result<Typed, CompileError> {
    fixed(
        checker,
        site,
        &[Want::Text],
        0,
        Type::Number,
        |ctx, args| {
            let code = ctx.text_or_empty(&args[0])?;
            ctx.scope.currency_rate(&code).map_or_else(
                || fail(format!("No currency {code}")),
                |rate| Ok(Value::Number(rate)),
            )
        },
    )
}
