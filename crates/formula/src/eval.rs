//! The evaluation tree and its runner. The tree is built once by the compiler; evaluating it
//! calls plain function pointers with their argument nodes, so that every function decides
//! itself which arguments it evaluates (IF, AND, CASE, BLANKVALUE are lazy, as on Salesforce).

use crate::{EvalError, Scope, Type, Value};
use rust_decimal::{Decimal, RoundingStrategy};

/// A function or operator's implementation: evaluates its arguments as it needs them.
pub(crate) type Builtin = fn(&Ctx<'_>, &[Node]) -> Result<Value, EvalError>;

/// A compiled expression.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// A literal.
    Const(Value),
    /// A field reference: its index in the formula's references, what a blank reads as
    /// (Null, or under `BlankAsZero` 0 for numbers and "" for text), and whether it is a
    /// percent field (stored as 50 for 50%, read by formulas as 0.5).
    Ref {
        index: usize,
        blank: Value,
        percent: bool,
    },
    /// A function or operator call.
    Call { run: Builtin, args: Box<[Node]> },
}

/// What evaluation runs against.
pub(crate) struct Ctx<'a> {
    pub(crate) scope: &'a dyn Scope,
}

/// Evaluates `root` against `scope`.
pub(crate) fn evaluate(root: &Node, scope: &dyn Scope) -> Result<Value, EvalError> {
    Ctx { scope }.eval(root)
}

/// A field's value as a formula reads it: a blank as `blank`, a percent divided by 100.
pub(crate) fn read_field(value: Value, blank: &Value, percent: bool) -> Value {
    match value {
        value if value.is_blank() => blank.clone(),
        Value::Number(number) if percent => Value::Number(number / Decimal::ONE_HUNDRED),
        value => value,
    }
}

/// Shapes a result for its return type: numbers rounded half up to `scale` (a percent
/// multiplied by 100 first, as Salesforce stores 0.5 as 50%), "" as blank, a blank checkbox
/// as false.
pub(crate) fn finish(value: Value, ty: Type, scale: u32) -> Value {
    match value {
        Value::Number(number) if ty == Type::Percent => {
            let hundredfold = number.checked_mul(Decimal::ONE_HUNDRED).unwrap_or(number);
            Value::Number(round_half_up(hundredfold, scale))
        }
        Value::Number(number) if ty.is_numeric() => Value::Number(round_half_up(number, scale)),
        Value::Text(text) if text.is_empty() => Value::Null,
        // A checkbox formula is never blank: Salesforce shows false.
        Value::Null if ty == Type::Checkbox => Value::Checkbox(false),
        other => other,
    }
}

/// Rounds half away from zero (Java's `HALF_UP`, Salesforce's rounding) to `scale` digits.
pub(crate) fn round_half_up(number: Decimal, scale: u32) -> Decimal {
    number.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero)
}

/// A run-time error with `message`.
pub(crate) fn fail<T>(message: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError {
        message: message.into(),
    })
}

impl Ctx<'_> {
    /// Evaluates one node.
    pub(crate) fn eval(&self, node: &Node) -> Result<Value, EvalError> {
        match node {
            Node::Const(value) => Ok(value.clone()),
            Node::Ref {
                index,
                blank,
                percent,
            } => Ok(read_field(self.scope.value(*index), blank, *percent)),
            Node::Call { run, args } => run(self, args),
        }
    }

    /// Evaluates a numeric node: `None` when blank.
    pub(crate) fn number(&self, node: &Node) -> Result<Option<Decimal>, EvalError> {
        match self.eval(node)? {
            Value::Number(number) => Ok(Some(number)),
            Value::Null => Ok(None),
            other => fail(format!("expected a number, got {other:?}")),
        }
    }

    /// Evaluates a text node: `None` when blank ("" is blank).
    pub(crate) fn text(&self, node: &Node) -> Result<Option<String>, EvalError> {
        match self.eval(node)? {
            Value::Text(text) if !text.is_empty() => Ok(Some(text)),
            Value::Text(_) | Value::Null => Ok(None),
            other => fail(format!("expected text, got {other:?}")),
        }
    }

    /// Evaluates a text node, blank as "".
    pub(crate) fn text_or_empty(&self, node: &Node) -> Result<String, EvalError> {
        Ok(self.text(node)?.unwrap_or_default())
    }

    /// Evaluates a checkbox node: `None` when blank.
    pub(crate) fn boolean(&self, node: &Node) -> Result<Option<bool>, EvalError> {
        match self.eval(node)? {
            Value::Checkbox(flag) => Ok(Some(flag)),
            Value::Null => Ok(None),
            other => fail(format!("expected a checkbox, got {other:?}")),
        }
    }

    /// Evaluates a time node: `None` when blank.
    pub(crate) fn time(&self, node: &Node) -> Result<Option<chrono::NaiveTime>, EvalError> {
        match self.eval(node)? {
            Value::Time(time) => Ok(Some(time)),
            Value::Null => Ok(None),
            other => fail(format!("expected a time, got {other:?}")),
        }
    }
}
