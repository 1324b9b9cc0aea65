//! The type checker: expression tree to evaluation tree, with Salesforce's compile errors.

use crate::eval::Node;
use crate::functions;
use crate::lexer::{Pos, tokenize};
use crate::parser::{Expr, ExprKind, parse};
use crate::typed::{Check, Site, Typed, compatible, picklist_error};
use crate::{Blanks, CompileError, Fields, MAX_SOURCE_CHARS, Options, Type, Value};

/// A checked formula.
pub(crate) struct Compiled {
    pub(crate) root: Node,
    pub(crate) references: Vec<Vec<String>>,
}

/// The state of one compile.
pub(crate) struct Checker<'a> {
    fields: &'a dyn Fields,
    pub(crate) options: &'a Options,
    references: Vec<Vec<String>>,
}

/// Compiles `source`.
pub(crate) fn compile(
    source: &str,
    options: &Options,
    fields: &dyn Fields,
) -> Result<Compiled, CompileError> {
    let length = source.chars().count();
    if length > MAX_SOURCE_CHARS {
        return Err(CompileError {
            message: format!(
                "Formula is too long ({} characters). Maximum length is 3,900 characters.",
                thousands(length)
            ),
            line: 0,
            column: 0,
        });
    }
    let expr = parse(tokenize(source)?)?;
    let mut checker = Checker {
        fields,
        options,
        references: Vec::new(),
    };
    let root = checker.check(&expr)?;
    checker.check_result(&root)?;
    Ok(Compiled {
        root: root.node,
        references: checker.references,
    })
}

fn thousands(number: usize) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Check for Checker<'_> {
    fn check(&mut self, expr: &Expr) -> Result<Typed, CompileError> {
        let pos = expr.pos;
        let constant = |value: Value, ty: Option<Type>| Typed {
            node: Node::Const(value),
            ty,
            pos,
            field: None,
        };
        match &expr.kind {
            ExprKind::Number(number) => Ok(constant(Value::Number(*number), Some(Type::Number))),
            ExprKind::Text(text) => Ok(constant(Value::Text(text.clone()), Some(Type::Text))),
            ExprKind::Bool(flag) => Ok(constant(Value::Checkbox(*flag), Some(Type::Checkbox))),
            ExprKind::Null => Ok(constant(Value::Null, None)),
            ExprKind::Ident(name) => self.field(name, pos),
            ExprKind::Call(name, args) => self.call(name, args, pos),
            ExprKind::Unary(op, operand) => {
                let operand = self.check(operand)?;
                functions::operators::unary(*op, operand, pos)
            }
            ExprKind::Binary(op, left, right) => {
                let left = self.check(left)?;
                let right = self.check(right)?;
                functions::operators::binary(*op, left, right, pos)
            }
        }
    }
}

impl Checker<'_> {
    fn call(&mut self, name: &str, args: &[Expr], pos: Pos) -> Result<Typed, CompileError> {
        let upper = name.to_ascii_uppercase();
        let Some(def) = functions::lookup(&upper) else {
            return Err(pos.error(format!("Unknown function {upper}. Check spelling.")));
        };
        if !def.allowed_in(self.options.context) {
            return Err(pos.error(format!(
                "Function {}() may not be used in this type of formula",
                def.name
            )));
        }
        let site = Site {
            name: def.name,
            pos,
            args,
        };
        (def.compile)(self, &site)
    }

    /// Resolves a field reference through [`Fields`] and records it.
    pub(crate) fn field(&mut self, name: &str, pos: Pos) -> Result<Typed, CompileError> {
        if name.eq_ignore_ascii_case("$System.OriginDateTime") {
            // A constant: 1900-01-01 00:00:00 GMT, the origin Salesforce's docs give it.
            let origin = chrono::NaiveDate::from_ymd_opt(1900, 1, 1)
                .and_then(|date| date.and_hms_opt(0, 0, 0))
                .expect("a valid date")
                .and_utc();
            let node = Node::Const(Value::DateTime(origin));
            return Ok(Typed {
                node,
                ty: Some(Type::DateTime),
                pos,
                field: None,
            });
        }
        let path: Vec<&str> = name.split('.').collect();
        let resolved = self
            .fields
            .resolve(&path)
            .map_err(|message| pos.error(message))?;
        let Some((canonical, info)) = resolved else {
            return Err(pos.error(format!("Field {name} does not exist. Check spelling.")));
        };
        let index = self.reference_index(canonical);
        let blank = match (self.options.blanks, info.ty) {
            (Blanks::AsZero, ty) if ty.is_numeric() => Value::Number(Default::default()),
            (Blanks::AsZero, Type::Text) => Value::Text(String::new()),
            _ => Value::Null,
        };
        let node = Node::Ref {
            index,
            blank,
            percent: info.ty == Type::Percent,
        };
        Ok(Typed {
            node,
            ty: Some(info.ty),
            pos,
            field: Some(name.to_string()),
        })
    }

    fn reference_index(&mut self, canonical: Vec<String>) -> usize {
        if let Some(index) = self.references.iter().position(|known| *known == canonical) {
            return index;
        }
        self.references.push(canonical);
        self.references.len() - 1
    }

    fn check_result(&self, root: &Typed) -> Result<(), CompileError> {
        let wanted = self.options.return_type;
        let Some(actual) = root.ty else { return Ok(()) };
        if matches!(actual, Type::Picklist | Type::MultiPicklist) {
            return Err(picklist_error(root));
        }
        let fits =
            compatible(wanted, actual) || (wanted.is_textual() && matches!(actual, Type::Picklist));
        if fits {
            return Ok(());
        }
        Err(root.pos.error(format!(
            "Formula result is data type ({}), incompatible with expected data type ({}).",
            actual.display_name(),
            wanted.display_name()
        )))
    }
}
