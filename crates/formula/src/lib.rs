//! Salesforce's formula language: the expressions of formula fields, validation rules and
//! default values, parsed and type-checked once, then evaluated against many records.
//!
//! The crate knows nothing of the org. The org hands it a [`Fields`] view of the schema at
//! compile time and a [`Scope`] view of one record (its parents and the globals) at run time.
//!
//! # Layout
//!
//! - `lexer`: source text to tokens with 1-based line and column.
//! - `parser`: tokens to an expression tree, with Salesforce's precedence (note that `^` binds
//!   looser than `*` and `/`, as in Salesforce's own grammar) and a bounded depth.
//! - `typed`: the checker's shared vocabulary (a checked expression, a call being checked, the
//!   `Check` interface functions check their arguments through, the type rules).
//! - `compile`: the type checker. It resolves references through [`Fields`], checks every
//!   operator and function against its signature with Salesforce's messages, and builds the
//!   evaluation tree (`eval::Node`), whose calls are plain function pointers.
//! - `eval`: runs a tree against a [`Scope`]; blanks, decimals, rounding.
//! - `functions/*`: one module per family (logic, math, text, date and time, record, location).
//! - `json`: REST API JSON to [`Value`] and back.
//!
//! # What is supported
//!
//! - Every operator (`+ - * / ^ & = == != <> < > <= >= && || !`, unary minus and plus, `NOT`),
//!   literals (numbers, `"text"` and `'text'` with backslash escapes, `TRUE`, `FALSE`,
//!   `NULL`), `/* comments */`, case-insensitive function names.
//! - 81 functions ([`function_names`] lists them): logic (`AND OR NOT IF CASE ISBLANK ISNULL
//!   BLANKVALUE NULLVALUE`), math (`ABS CEILING FLOOR MCEILING MFLOOR EXP LN LOG SQRT ROUND
//!   TRUNC MOD MAX MIN`), text (`TEXT LEN LOWER UPPER INITCAP TRIM REVERSE LEFT RIGHT MID LPAD
//!   RPAD BEGINS CONTAINS FIND SUBSTITUTE ISNUMBER VALUE ASCII CHR BR HYPERLINK IMAGE
//!   CASESAFEID REGEX`), dates and times (`TODAY NOW TIMENOW DATE DAY MONTH YEAR WEEKDAY
//!   DAYOFYEAR ISOWEEK ISOYEAR HOUR MINUTE SECOND MILLISECOND ADDMONTHS DATEVALUE
//!   DATETIMEVALUE TIMEVALUE UNIXTIMESTAMP FROMUNIXTIME FORMATDURATION`), picklists
//!   (`ISPICKVAL INCLUDES PICKLISTCOUNT`), the write (`ISNEW ISCLONE ISCHANGED PRIORVALUE`),
//!   the org (`VLOOKUP CURRENCYRATE`), locations (`GEOLOCATION DISTANCE`).
//! - Contexts: `ISNEW`, `ISCLONE`, `ISCHANGED`, `PRIORVALUE` and `VLOOKUP` compile only in
//!   [`Context::Validation`]; `CURRENCYRATE` not in [`Context::Default`]. `VLOOKUP` asks
//!   [`Scope::vlookup`], `CURRENCYRATE` asks [`Scope::currency_rate`].
//! - Types as Salesforce checks them, with its messages: a Picklist only through `ISPICKVAL`,
//!   `TEXT`, `CASE`, `ISBLANK`, `ISNULL`, `ISCHANGED`, `PRIORVALUE`; a multi-select picklist
//!   through `INCLUDES`, `PICKLISTCOUNT`, `ISBLANK`. A Percent field reads as a fraction
//!   (50% is 0.5) and a Percent result is stored hundredfold, as on Salesforce.
//! - Blanks: [`Blanks::AsZero`] reads a blank number as 0 and a blank text as ""; under
//!   [`Blanks::AsBlank`] arithmetic on a blank is blank. "" is blank; `ISNULL` and
//!   `NULLVALUE` see a text as never null (Salesforce's help says so); a checkbox formula's
//!   blank is false.
//! - Numbers are `rust_decimal` decimals (28 significant digits), rounded half up to the
//!   return scale. `EXP`, `LN`, `LOG`, `SQRT` and `DISTANCE` go through `f64`, as Salesforce's
//!   engine does (`Math.exp` and friends); `^` takes whole exponents, as there.
//! - `$System.OriginDateTime` is the constant 1900-01-01T00:00:00Z; every other global and
//!   every relationship path is the [`Fields`] implementer's to resolve.
//! - Limits: 3,900 characters of source; nesting (parentheses, calls, unary operators and
//!   each operator of a chain) at most 250 deep, so that compiling and evaluating fit a
//!   small thread stack.
//!
//! Conformance: `tests/corpus.rs` runs Salesforce's own engine's corpus (vendored under
//! `tests/corpus/`, BSD-3) on both blank modes; it prints the pass rate and every miss.
//!
//! # What is not
//!
//! - Functions Salesforce allows only elsewhere (`GETSESSIONID`, `PARENTGROUPVAL`,
//!   `PREVGROUPVAL`, `GETRECORDIDS`, `REQUIRESCRIPT`, `LINKTO`, `URLFOR`, `HTMLENCODE`,
//!   `JSENCODE`, `IMAGEPROXYURL`...) and the Java engine's extras that Salesforce does not
//!   offer (trigonometry, `PI`, `IFERROR`, `IN`, `LIKE`, `SUBSTR`, `JSONVALUE`,
//!   `FORMATCURRENCY`) are refused with "Unknown function".
//! - Numbers beyond `rust_decimal`'s range (about ±7.9e28) are run-time errors where Java's
//!   BigDecimal would carry on (`EXP(110)`), and quotients keep 28 decimal places, not 39
//!   significant digits.
//! - Salesforce's compiled-size limit (5,000 bytes of generated SQL) is not modelled.
//! - Time zones: date/times are GMT; `TODAY()` is the scope's (the org passes the user's).
//! - [`to_json`] writes non-whole numbers as `f64` JSON numbers (the workspace's
//!   `serde_json` has no arbitrary precision), so `12.50` is written `12.5`.

mod compile;
mod eval;
mod functions;
mod json;
mod lexer;
mod parser;
mod typed;
mod types;

pub use functions::eighteen_char_id;
pub use json::{from_json, to_json};
pub use types::{Blanks, Context, FieldInfo, Type, Value};

use std::sync::Arc;

/// The longest formula source Salesforce accepts, in characters.
pub const MAX_SOURCE_CHARS: usize = 3900;

/// What a compile needs to know.
#[derive(Debug, Clone)]
pub struct Options {
    /// The type the formula must return (a validation rule's is Checkbox).
    pub return_type: Type,
    /// Digits after the point for Number/Currency/Percent results: the result is rounded half up to it.
    pub scale: u32,
    /// How blank fields read (`formulaTreatBlanksAs`).
    pub blanks: Blanks,
    /// Where the formula is used.
    pub context: Context,
}

/// The schema as the formula sees it, at compile time. `path` is the reference as written, split on
/// dots: `["Amount"]`, `["Account", "Owner", "Email"]` (a relationship path through lookups), or a global:
/// `["$User", "Email"]`, `["$Organization", "Name"]`, `["$Profile", "Name"]`, `["$UserRole", "Name"]`,
/// `["$RecordType", "DeveloperName"]`, `["$System", "OriginDateTime"]`.
/// The implementer resolves names case-insensitively and returns the canonical path
/// (e.g. `["Account", "Owner", "Email"]` with Salesforce's spelling) and the field's info, or `None`
/// when there is no such field. The crate makes "Field X does not exist. Check spelling." itself.
/// (The org decides the relationship-span limit; it may return Err(message) for other refusals.)
pub trait Fields {
    /// Resolves one reference; see the trait's documentation.
    fn resolve(&self, path: &[&str]) -> Result<Option<(Vec<String>, FieldInfo)>, String>;
}

/// The record a formula runs against, at run time. `reference` indexes `Formula::references()`.
pub trait Scope {
    /// The current value of a reference (Value::Null when blank; a Text field holding "" may be given as
    /// Text("") and must then behave as blank, as on Salesforce).
    fn value(&self, reference: usize) -> Value;
    /// The value before this write (PRIORVALUE, ISCHANGED); on insert the same as `value`'s null.
    fn prior(&self, reference: usize) -> Value {
        let _ = reference;
        Value::Null
    }
    /// Whether the write is an insert (ISNEW).
    fn is_new(&self) -> bool {
        false
    }
    /// Whether the write is a clone (ISCLONE).
    fn is_clone(&self) -> bool {
        false
    }
    /// The org's clock (test controls may freeze or advance it).
    fn now(&self) -> chrono::DateTime<chrono::Utc>;
    /// Today's date in the running user's time zone (TODAY()).
    fn today(&self) -> chrono::NaiveDate {
        self.now().date_naive()
    }
    /// `VLOOKUP(field_to_return, field_on_lookup_object, lookup_value)`: the org finds the record
    /// of `object` whose `Name` equals `key` and returns its `field` (both given with the
    /// spelling written in the formula, as `Object__c.Field__c` split on the dot). `None` when
    /// the org cannot look up (the formula then evaluates to an error).
    fn vlookup(&self, object: &str, field: &str, key: &str) -> Option<Value> {
        let _ = (object, field, key);
        None
    }
    /// `CURRENCYRATE(IsoCode)`: the conversion rate to the corporate currency, `None` when the
    /// org has no such currency (the formula then evaluates to an error).
    fn currency_rate(&self, iso_code: &str) -> Option<rust_decimal::Decimal> {
        let _ = iso_code;
        None
    }
}

/// A compile error with Salesforce's message and where (1-based line and column) when it has a
/// place (line and column are 0 when it has none).
#[derive(Debug, Clone, PartialEq)]
pub struct CompileError {
    /// Salesforce's message, e.g. `Syntax error. Missing ')'`.
    pub message: String,
    /// 1-based line of the offending token, 0 when the error has no place.
    pub line: u32,
    /// 1-based column of the offending token, 0 when the error has no place.
    pub column: u32,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CompileError {}

/// A run-time error (division by zero, a bad DATEVALUE...): the API shows the field as null
/// (the UI shows #Error!).
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    /// What went wrong, for logs.
    pub message: String,
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EvalError {}

/// A compiled formula: parsed and type-checked once, evaluated many times (never re-parsed per record).
#[derive(Debug, Clone)]
pub struct Formula {
    root: Arc<eval::Node>,
    references: Vec<Vec<String>>,
    return_type: Type,
    scale: u32,
}

impl Formula {
    /// Parses and type-checks `source`; see [`CompileError`] for what it refuses.
    pub fn compile(
        source: &str,
        options: &Options,
        fields: &dyn Fields,
    ) -> Result<Formula, CompileError> {
        let compiled = compile::compile(source, options, fields)?;
        Ok(Formula {
            root: Arc::new(compiled.root),
            references: compiled.references,
            return_type: options.return_type,
            scale: options.scale,
        })
    }

    /// The canonical paths the formula reads, in reference-index order (deduplicated).
    pub fn references(&self) -> &[Vec<String>] {
        &self.references
    }

    /// The type the formula returns (the one it was compiled for).
    pub fn return_type(&self) -> Type {
        self.return_type
    }

    /// Evaluates, rounding numbers half up to `options.scale`. Blanks follow `options.blanks`.
    pub fn eval(&self, scope: &dyn Scope) -> Result<Value, EvalError> {
        let value = eval::evaluate(&self.root, scope)?;
        Ok(eval::finish(value, self.return_type, self.scale))
    }
}

/// The names of every function the crate compiles, in capitals.
pub fn function_names() -> Vec<&'static str> {
    functions::names()
}
