//! The org's formulas: its formula fields and validation rules, compiled once for each
//! version of the schema ([`Compiled`]) by the formula language (`forcebus-formula`, which
//! knows nothing of the org), and evaluated over the org's records.
//!
//! - `resolve`: a formula's references (`Account.Owner.Email`, `$User.Email`) resolved
//!   against the schema: where each is read from, the lookups it follows;
//! - `scope`: a record as a formula reads it: its fields, its parents' (their formula
//!   fields computed in turn), the running user, the org, the clock;
//! - here: every formula of a schema compiled, with the problems of those that do not
//!   compile; a formula field's value; the validation rules a record breaks.
//!
//! A formula field is never stored: every read computes it, from the records as they are
//! then, so a cross-object formula reads its parent's current values.

mod resolve;
mod scope;

use std::collections::HashMap;
use std::sync::Arc;

use forcebus_formula::{Blanks, Context, Formula, Options, Type};
use serde_json::Value as Json;

use crate::id::RecordId;
use crate::meta::{FieldDef, ObjectDef, Schema, ValidationRuleDef};
use crate::record::Record;

use resolve::Path;
pub(crate) use scope::Reader;

/// How deep formula fields may read other formula fields.
const MAX_DEPTH: u8 = 10;

/// A formula compiled, with where each of its references is read from.
#[derive(Debug)]
pub(crate) struct Compiled {
    formula: Formula,
    paths: Vec<Path>,
}

/// A validation rule compiled.
#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) def: ValidationRuleDef,
    compiled: Compiled,
}

/// A roll-up summary field, as its child object's writes find it.
#[derive(Debug)]
pub(crate) struct Rollup {
    /// The parent object.
    pub(crate) parent: String,
    /// The summary field on the parent.
    pub(crate) field: String,
    /// What it summarises.
    pub(crate) summary: crate::meta::SummaryDef,
}

/// A formula that does not compile: which component, and Salesforce's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The object.
    pub object: String,
    /// `CustomField` or `ValidationRule`.
    pub kind: &'static str,
    /// The field's or the rule's name.
    pub name: String,
    /// What is wrong, as Salesforce says it.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}: {}", self.object, self.name, self.message)
    }
}

/// Every formula of one version of the schema, compiled.
#[derive(Debug)]
pub struct Formulas {
    schema: Arc<Schema>,
    /// Formula fields by object, then field (canonical names).
    fields: HashMap<String, HashMap<String, Compiled>>,
    /// Active validation rules by object, in their order.
    rules: HashMap<String, Vec<Rule>>,
    /// Default value formulas by object, then field.
    defaults: HashMap<String, HashMap<String, Compiled>>,
    /// The roll-up summaries over each child object.
    summaries: HashMap<String, Vec<Rollup>>,
    problems: Vec<Problem>,
}

/// The formula language's options for a field of `f`'s type and scale.
fn field_options(f: &FieldDef, blanks_as_zero: bool) -> Option<Options> {
    Some(Options {
        return_type: resolve::type_of(f)?,
        scale: f.scale,
        blanks: if blanks_as_zero {
            Blanks::AsZero
        } else {
            Blanks::AsBlank
        },
        context: Context::Field,
    })
}

/// The schema as one object's formulas see it.
struct On<'a> {
    schema: &'a Schema,
    object: &'a ObjectDef,
}

impl forcebus_formula::Fields for On<'_> {
    fn resolve(
        &self,
        path: &[&str],
    ) -> Result<Option<(Vec<String>, forcebus_formula::FieldInfo)>, String> {
        Ok(resolve::resolve(self.schema, self.object, path)?.map(|(c, info, _)| (c, info)))
    }
}

/// Compiles `source` for `object`, with where each reference is read from.
fn compile(
    schema: &Schema,
    object: &ObjectDef,
    source: &str,
    options: &Options,
) -> Result<Compiled, String> {
    let on = On { schema, object };
    let formula = Formula::compile(source, options, &on).map_err(|e| e.message)?;
    let paths = formula
        .references()
        .iter()
        .map(|canonical| {
            let path: Vec<&str> = canonical.iter().map(String::as_str).collect();
            resolve::resolve(schema, object, &path)
                .ok()
                .flatten()
                .map(|(_, _, p)| p)
                .ok_or_else(|| format!("Field {} does not exist. Check spelling.", path.join(".")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Compiled { formula, paths })
}

impl Formulas {
    /// Compiles every formula field and active validation rule of `schema`; those that do
    /// not compile are [`Formulas::problems`] (their fields read as null, the rules do
    /// not run).
    pub fn of(schema: Arc<Schema>) -> Self {
        let mut fields: HashMap<String, HashMap<String, Compiled>> = HashMap::new();
        let mut rules: HashMap<String, Vec<Rule>> = HashMap::new();
        let mut problems = Vec::new();
        let mut summaries: HashMap<String, Vec<Rollup>> = HashMap::new();
        let mut defaults: HashMap<String, HashMap<String, Compiled>> = HashMap::new();
        for o in schema.objects() {
            for f in &o.fields {
                if let Some(source) = &f.default_formula {
                    let options = field_options(f, true).map(|o| Options {
                        context: Context::Default,
                        ..o
                    });
                    match options
                        .ok_or_else(|| format!("A default value cannot be a {}.", f.ftype.name()))
                        .and_then(|options| compile(&schema, o, source, &options))
                    {
                        Ok(c) => {
                            defaults
                                .entry(o.name.clone())
                                .or_default()
                                .insert(f.name.clone(), c);
                        }
                        Err(message) => problems.push(Problem {
                            object: o.name.clone(),
                            kind: "CustomField",
                            name: f.name.clone(),
                            message,
                        }),
                    }
                }
                if let Some(s) = &f.summary {
                    summaries.entry(s.child.clone()).or_default().push(Rollup {
                        parent: o.name.clone(),
                        field: f.name.clone(),
                        summary: (**s).clone(),
                    });
                }
                let Some(def) = &f.formula else { continue };
                let compiled = field_options(f, def.blanks_as_zero)
                    .ok_or_else(|| format!("A formula cannot return {}.", f.ftype.name()))
                    .and_then(|options| compile(&schema, o, &def.source, &options));
                match compiled {
                    Ok(c) => {
                        fields
                            .entry(o.name.clone())
                            .or_default()
                            .insert(f.name.clone(), c);
                    }
                    Err(message) => problems.push(Problem {
                        object: o.name.clone(),
                        kind: "CustomField",
                        name: f.name.clone(),
                        message,
                    }),
                }
            }
            for r in &o.validation_rules {
                match rule(&schema, o, r) {
                    Ok(rule) if r.active => rules.entry(o.name.clone()).or_default().push(rule),
                    Ok(_) => {}
                    Err(message) => problems.push(Problem {
                        object: o.name.clone(),
                        kind: "ValidationRule",
                        name: r.name.clone(),
                        message,
                    }),
                }
            }
        }
        Self {
            schema,
            fields,
            rules,
            defaults,
            summaries,
            problems,
        }
    }

    /// The default value formula of `field` (of `object`) evaluated for a new record, in
    /// stored form; none when it has none or it fails.
    pub(crate) fn default_value(
        &self,
        reader: &dyn Reader,
        object: &ObjectDef,
        field: &FieldDef,
    ) -> Option<Json> {
        let c = self
            .defaults
            .get(object.name.as_str())
            .and_then(|o| o.get(field.name.as_str()))?;
        let blank = Record {
            id: RecordId::mint(&object.key_prefix, 0),
            object: (&object.name).into(),
            fields: crate::fields::Fields::new(),
            is_deleted: false,
            deleted: None,
        };
        let scope = scope::RecordScope {
            formulas: self,
            reader,
            rec: &blank,
            prior: None,
            is_new: true,
            paths: &c.paths,
            depth: 0,
        };
        let value = c.formula.eval(&scope).ok()?;
        Some(scope::to_json(field, &value)).filter(|v| !v.is_null())
    }

    /// The roll-up summaries over records of `child`.
    pub(crate) fn summaries_over(&self, child: &str) -> &[Rollup] {
        self.summaries.get(child).map_or(&[], Vec::as_slice)
    }

    /// The schema version these are compiled for.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// The formulas that do not compile.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The value of formula field `field` of `rec` (of `object`), as the REST API shows
    /// it: null when it does not compile or fails on this record (Salesforce's `#Error!`).
    pub(crate) fn value(
        &self,
        reader: &dyn Reader,
        rec: &Record,
        object: &ObjectDef,
        field: &FieldDef,
    ) -> Json {
        let value = self.evaluate(reader, rec, object, field, 0);
        scope::to_json(field, &value)
    }

    /// Formula field `field` of `rec` as the formula language's value.
    fn evaluate(
        &self,
        reader: &dyn Reader,
        rec: &Record,
        object: &ObjectDef,
        field: &FieldDef,
        depth: u8,
    ) -> forcebus_formula::Value {
        let Some(c) = self
            .fields
            .get(object.name.as_str())
            .and_then(|o| o.get(field.name.as_str()))
        else {
            return forcebus_formula::Value::Null;
        };
        if depth > MAX_DEPTH {
            return forcebus_formula::Value::Null;
        }
        let scope = scope::RecordScope {
            formulas: self,
            reader,
            rec,
            prior: None,
            is_new: false,
            paths: &c.paths,
            depth,
        };
        c.formula
            .eval(&scope)
            .unwrap_or(forcebus_formula::Value::Null)
    }

    /// The active validation rules of `object` that `rec` breaks (its condition is true),
    /// in their order; `prior` is the record before this write (none for an insert).
    pub(crate) fn broken(
        &self,
        reader: &dyn Reader,
        object: &ObjectDef,
        rec: &Record,
        prior: Option<&Record>,
    ) -> Vec<&ValidationRuleDef> {
        let Some(rules) = self.rules.get(object.name.as_str()) else {
            return Vec::new();
        };
        rules
            .iter()
            .filter(|r| {
                let scope = scope::RecordScope {
                    formulas: self,
                    reader,
                    rec,
                    prior,
                    is_new: prior.is_none(),
                    paths: &r.compiled.paths,
                    depth: 0,
                };
                matches!(
                    r.compiled.formula.eval(&scope),
                    Ok(forcebus_formula::Value::Checkbox(true))
                )
            })
            .map(|r| &r.def)
            .collect()
    }

    /// Whether `object` has active validation rules.
    pub(crate) fn has_rules(&self, object: &str) -> bool {
        self.rules.contains_key(object)
    }
}

/// A validation rule compiled: its condition, and its display field checked.
fn rule(schema: &Schema, o: &ObjectDef, r: &ValidationRuleDef) -> Result<Rule, String> {
    if let Some(shown) = &r.display_field
        && o.field(shown).is_none()
    {
        return Err(format!("Field {shown} does not exist. Check spelling."));
    }
    let options = Options {
        return_type: Type::Checkbox,
        scale: 0,
        blanks: Blanks::AsBlank,
        context: Context::Validation,
    };
    let compiled = compile(schema, o, &r.condition, &options)?;
    let mut def = r.clone();
    if let Some(shown) = &r.display_field {
        def.display_field = o.field(shown).map(|f| f.name.clone());
    }
    Ok(Rule { def, compiled })
}

/// The id a field value names, if it names one.
fn id_of(v: crate::fields::FieldRef<'_>) -> Option<RecordId> {
    v.as_str().and_then(RecordId::parse)
}
