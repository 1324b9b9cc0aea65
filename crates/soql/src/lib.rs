//! SOQL and SOSL for forcebus: lexer, parser, binder and evaluator. Pure: no I/O, no async.
//!
//! `parse` turns text into an [`ast::Query`]; [`bind`] resolves it against object metadata
//! into a [`Plan`]; [`execute`] runs a plan over any [`Source`] of records and shapes the
//! rows as the REST API returns them.
//!
//! Layout:
//! - [`lexer`]: tokens with byte spans; [`ast`]: the tree and its printer;
//!   [`parser`]: tokens to tree; [`error`]: Salesforce-rendered errors.
//! - [`bind`]: names, paths, SELECT, GROUP BY and ORDER BY (`bind/cond`: WHERE and
//!   HAVING; `bind/literals`: literal types); [`dates`]: date literals and functions.
//! - [`eval`]: filtering (`eval/shape`: ordering and row shaping; `eval/values`: SOQL comparison;
//!   `eval/aggregate`: grouping and aggregates); [`columns`]: the `columns=true` metadata.
//! - [`sosl`]: SOSL searches (`parser/sosl`: the statement; `sosl/term`: the search
//!   expression and matching), run as SOQL over the matching records.

pub mod ast;
pub mod bind;
pub mod columns;
pub mod dates;
pub mod error;
pub mod eval;
pub mod lexer;
pub mod parser;
pub mod sosl;

pub use ast::Query;
pub use bind::{Plan, bind};
pub use error::{ErrorKind, SoqlError};
pub use eval::{
    Context, Output, Record, Seen, SeenAt, Source, execute, passes, select_ids, shape_ids,
};
pub use parser::parse;

use forcebus_meta::{FieldDef, ObjectDef, Schema};

/// What a query may name: the objects (the Tooling API's endpoint sees fewer; a user
/// sees those they may read) and the fields (field-level security hides some). What a
/// query may not name does not exist to it: `INVALID_TYPE` or "No such column".
pub trait Visible {
    /// Whether `object` may be queried.
    fn object(&self, object: &ObjectDef) -> bool;
    /// Whether `field` of `object` may be named.
    fn field(&self, object: &ObjectDef, field: &FieldDef) -> bool {
        let _ = (object, field);
        true
    }
}

/// Everything visible: the org's own queries.
#[derive(Debug, Clone, Copy)]
pub struct Everything;

impl Visible for Everything {
    fn object(&self, _: &ObjectDef) -> bool {
        true
    }
}

/// A predicate on objects: every field of a visible object is visible.
impl<F: Fn(&ObjectDef) -> bool> Visible for F {
    fn object(&self, object: &ObjectDef) -> bool {
        self(object)
    }
}

/// Parses and binds in one step.
pub fn prepare<'s>(
    text: &str,
    schema: &'s Schema,
    visible: &dyn Visible,
) -> Result<Plan<'s>, SoqlError> {
    bind(&parse(text)?, schema, visible)
}

/// [`prepare`] at API version `major` (59 of 59.0): a field that came in a later version
/// is no column.
pub fn prepare_at<'s>(
    text: &str,
    schema: &'s Schema,
    visible: &dyn Visible,
    major: u32,
) -> Result<Plan<'s>, SoqlError> {
    bind::bind_at(&parse(text)?, schema, visible, major)
}
