//! The checker's shared vocabulary: a checked expression ([`Typed`]), a call being checked
//! ([`Site`]), the [`Check`] interface the functions check their arguments through, and the
//! type rules both the checker and the functions use.

use crate::eval::{Builtin, Node};
use crate::lexer::Pos;
use crate::parser::Expr;
use crate::{CompileError, Type};

/// A checked expression: its node, its type (`None` for the `NULL` literal, which fits any
/// type), where it starts, and the field it reads directly, if it is a field reference.
#[derive(Debug, Clone)]
pub(crate) struct Typed {
    pub(crate) node: Node,
    pub(crate) ty: Option<Type>,
    pub(crate) pos: Pos,
    pub(crate) field: Option<String>,
}

impl Typed {
    /// A call of `run` over `args`, of type `ty`.
    pub(crate) fn call(run: Builtin, args: Vec<Typed>, ty: Option<Type>, pos: Pos) -> Typed {
        let args = args.into_iter().map(|arg| arg.node).collect();
        Typed {
            node: Node::Call { run, args },
            ty,
            pos,
            field: None,
        }
    }

    /// The reference index, when the expression is a plain field reference.
    pub(crate) fn reference(&self) -> Option<usize> {
        match &self.node {
            Node::Ref { index, .. } => Some(*index),
            _ => None,
        }
    }
}

/// A function call being checked.
#[derive(Debug)]
pub(crate) struct Site<'e> {
    /// The function's name in capitals.
    pub(crate) name: &'static str,
    pub(crate) pos: Pos,
    pub(crate) args: &'e [Expr],
}

/// What a function's compile step may ask of the checker.
pub(crate) trait Check {
    /// Checks one expression.
    fn check(&mut self, expr: &Expr) -> Result<Typed, CompileError>;

    /// Checks every argument of a call.
    fn args(&mut self, site: &Site<'_>) -> Result<Vec<Typed>, CompileError> {
        site.args.iter().map(|arg| self.check(arg)).collect()
    }
}

/// Whether a value of type `actual` may stand where `wanted` is expected.
pub(crate) fn compatible(wanted: Type, actual: Type) -> bool {
    wanted == actual
        || (wanted.is_numeric() && actual.is_numeric())
        || (wanted.is_textual() && actual.is_textual())
}

/// The error for a picklist used where only ISPICKVAL, TEXT, CASE and a few others may use it.
pub(crate) fn picklist_error(arg: &Typed) -> CompileError {
    let name = arg.field.as_deref().unwrap_or("value");
    let kind = if arg.ty == Some(Type::MultiPicklist) {
        "multi-select picklist"
    } else {
        "picklist"
    };
    arg.pos.error(format!(
        "Field {name} is a {kind} field. {} fields are only supported in certain functions.",
        if kind == "picklist" {
            "Picklist"
        } else {
            "Multi-select picklist"
        }
    ))
}
