//! The functions and operators, one module per family, and the registry the compiler looks
//! names up in. Each function has a compile step (arity and types, with Salesforce's messages)
//! that returns the evaluation node; evaluation lives beside it.

use crate::CompileError;
use crate::Context;
use crate::typed::{Check, Site, Typed};

pub(crate) mod arithmetic;
mod clock;
mod conversion;
mod datetime;
mod location;
mod logic;
mod math;
pub(crate) mod operators;
mod record;
mod render;
mod search;
pub(crate) mod signature;
pub(crate) mod text;

pub use search::eighteen_char_id;
pub(crate) use signature::{Want, arity, expect, fixed};

/// A function as the compiler sees it.
#[derive(Debug)]
pub(crate) struct Def {
    /// Its name in capitals.
    pub(crate) name: &'static str,
    /// Checks a call and builds its node.
    pub(crate) compile: fn(&mut dyn Check, &Site<'_>) -> Result<Typed, CompileError>,
    /// Where Salesforce allows it.
    pub(crate) contexts: Contexts,
}

/// The contexts a function is allowed in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Contexts {
    /// Formula fields, validation rules and default values.
    All,
    /// Validation rules only (ISCHANGED, PRIORVALUE, ISNEW, ISCLONE).
    ValidationOnly,
    /// Formula fields and validation rules, not default values (VLOOKUP: validation only,
    /// but kept apart in case it is widened).
    NotDefault,
}

impl Def {
    /// Whether the function compiles in `context`.
    pub(crate) fn allowed_in(&self, context: Context) -> bool {
        match self.contexts {
            Contexts::All => true,
            Contexts::ValidationOnly => context == Context::Validation,
            Contexts::NotDefault => context != Context::Default,
        }
    }
}

/// Every family's functions.
const FAMILIES: &[&[Def]] = &[
    logic::DEFS,
    math::DEFS,
    text::DEFS,
    search::DEFS,
    datetime::DEFS,
    conversion::DEFS,
    record::DEFS,
    location::DEFS,
];

/// The function named `upper` (in capitals).
pub(crate) fn lookup(upper: &str) -> Option<&'static Def> {
    FAMILIES
        .iter()
        .flat_map(|family| family.iter())
        .find(|def| def.name == upper)
}

/// The names of every supported function, in capitals.
pub(crate) fn names() -> Vec<&'static str> {
    FAMILIES
        .iter()
        .flat_map(|family| family.iter())
        .map(|def| def.name)
        .collect()
}
