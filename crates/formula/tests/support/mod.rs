//! A small schema and record for the tests: fields by name, values by name.

#![allow(dead_code, unreachable_pub)]

use chrono::{DateTime, TimeZone, Utc};
use forcebus_formula::{
    Blanks, CompileError, Context, FieldInfo, Fields, Formula, Options, Scope, Type, Value,
};
use std::collections::HashMap;

/// Fields by lower-case name: (canonical name, type, scale).
#[derive(Default)]
pub struct Schema {
    fields: HashMap<String, (String, FieldInfo)>,
}

impl Schema {
    pub fn with(mut self, name: &str, ty: Type, scale: u32) -> Self {
        self.fields.insert(
            name.to_ascii_lowercase(),
            (name.to_string(), FieldInfo { ty, scale }),
        );
        self
    }
}

impl Fields for Schema {
    fn resolve(&self, path: &[&str]) -> Result<Option<(Vec<String>, FieldInfo)>, String> {
        let key = path.join(".").to_ascii_lowercase();
        Ok(self
            .fields
            .get(&key)
            .map(|(name, info)| (name.split('.').map(str::to_string).collect(), info.clone())))
    }
}

/// A record: values by canonical dotted name.
pub struct Record {
    pub values: HashMap<String, Value>,
    pub prior: HashMap<String, Value>,
    pub references: Vec<String>,
    pub now: DateTime<Utc>,
    pub is_new: bool,
}

impl Record {
    pub fn new(formula: &Formula, values: &[(&str, Value)]) -> Self {
        Record {
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
            prior: HashMap::new(),
            references: formula
                .references()
                .iter()
                .map(|path| path.join("."))
                .collect(),
            now: Utc.with_ymd_and_hms(2024, 1, 31, 10, 0, 0).unwrap(),
            is_new: false,
        }
    }
}

impl Scope for Record {
    fn value(&self, reference: usize) -> Value {
        self.values
            .get(&self.references[reference])
            .cloned()
            .unwrap_or(Value::Null)
    }
    fn prior(&self, reference: usize) -> Value {
        self.prior
            .get(&self.references[reference])
            .cloned()
            .unwrap_or(Value::Null)
    }
    fn is_new(&self) -> bool {
        self.is_new
    }
    fn now(&self) -> DateTime<Utc> {
        self.now
    }
}

pub fn options(return_type: Type, scale: u32, blanks: Blanks) -> Options {
    Options {
        return_type,
        scale,
        blanks,
        context: Context::Field,
    }
}

pub fn compile(source: &str, schema: &Schema, options: &Options) -> Result<Formula, CompileError> {
    Formula::compile(source, options, schema)
}

/// Compiles and evaluates against `values`, panicking on a compile error.
pub fn run(source: &str, schema: &Schema, options: &Options, values: &[(&str, Value)]) -> Value {
    let formula = compile(source, schema, options).unwrap_or_else(|e| panic!("{source}: {e:?}"));
    let record = Record::new(&formula, values);
    formula
        .eval(&record)
        .unwrap_or_else(|e| panic!("{source}: {e:?}"))
}
