//! Runs Salesforce's own formula-engine corpus (`corpus/formulaTestV2.xml`, BSD-3) against this
//! crate: every row of the `formula` path (BlankAsZero) and of `formulaNullAsNull`
//! (BlankAsBlank). Rows whose formulas use functions Salesforce does not allow in formula
//! fields are counted apart, by function. The test fails if fewer than 98% of the in-scope rows
//! pass; it prints the rate and every miss with its reason.

mod corpus_support;

use chrono::{DateTime, TimeZone, Utc};
use corpus_support::java;
use corpus_support::xml::{self, ReferenceField, TestCase};
use forcebus_formula::{Blanks, Context, FieldInfo, Fields, Formula, Options, Scope, Type, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Functions the Java engine has that Salesforce does not allow in formula fields.
const NOT_IN_FORMULA_FIELDS: &[&str] = &[
    "ACOS",
    "ASIN",
    "ATAN",
    "ATAN2",
    "COS",
    "SIN",
    "TAN",
    "PI",
    "FORMATCURRENCY",
    "IFERROR",
    "IN",
    "LIKE",
    "SUBSTR",
    "JSONVALUE",
    "JSONPATHVALUE",
];

/// The two execution paths we run: (index in expectedOutput, name, blanks).
const PATHS: &[(&str, Blanks)] = &[
    ("formula", Blanks::AsZero),
    ("formulaNullAsNull", Blanks::AsBlank),
];

/// The lowest pass rate of in-scope rows that the suite accepts.
const REQUIRED_RATE: f64 = 0.98;

/// The corpus's fields as the formula sees them: `name__c`.
struct CorpusFields<'a> {
    fields: Vec<&'a ReferenceField>,
}

impl Fields for CorpusFields<'_> {
    fn resolve(&self, path: &[&str]) -> Result<Option<(Vec<String>, FieldInfo)>, String> {
        let [name] = path else { return Ok(None) };
        let wanted = name.to_ascii_lowercase();
        let field = self.fields.iter().find(|f| {
            let own = f.name.to_ascii_lowercase();
            wanted == own || wanted == format!("{own}__c")
        });
        Ok(field.map(|f| {
            let info = FieldInfo {
                ty: java::type_of(&f.data_type),
                scale: 2,
            };
            (vec![format!("{}__c", f.name)], info)
        }))
    }
}

/// One row's record: input values by field name, formula fields evaluated on read.
struct Row<'a> {
    values: BTreeMap<String, Value>,
    formulas: BTreeMap<String, Formula>,
    references: &'a [Vec<String>],
    now: DateTime<Utc>,
}

impl Scope for Row<'_> {
    fn value(&self, reference: usize) -> Value {
        let name = &self.references[reference][0];
        if let Some(formula) = self.formulas.get(name) {
            let nested = Row {
                values: self.values.clone(),
                formulas: BTreeMap::new(),
                references: formula.references(),
                now: self.now,
            };
            return formula.eval(&nested).unwrap_or(Value::Null);
        }
        self.values.get(name).cloned().unwrap_or(Value::Null)
    }

    fn now(&self) -> DateTime<Utc> {
        self.now
    }
}

fn options(ty: Type, blanks: Blanks) -> Options {
    Options {
        return_type: ty,
        scale: 28,
        blanks,
        context: Context::Field,
    }
}

/// The out-of-scope functions a formula calls.
fn out_of_scope(formula: &str) -> Vec<&'static str> {
    let mut code = String::new();
    let mut quote = None;
    for c in formula.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None => code.push(c.to_ascii_uppercase()),
        }
    }
    NOT_IN_FORMULA_FIELDS
        .iter()
        .copied()
        .filter(|name| {
            code.match_indices(name).any(|(at, _)| {
                let before = code[..at].chars().next_back();
                let after = code[at + name.len()..].trim_start().chars().next();
                !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') && after == Some('(')
            })
        })
        .collect()
}

/// Compiles for the case's type. The Java harness's `DateOnly` type is `java.util.Date`, which
/// holds date/times too: a `DateOnly` case whose formula yields a DateTime (which Salesforce
/// would refuse for a Date field) is compiled as the DateTime formula it is.
fn compile_for(
    source: &str,
    ty: Type,
    blanks: Blanks,
    fields: &dyn Fields,
) -> Result<Formula, String> {
    match Formula::compile(source, &options(ty, blanks), fields) {
        Err(e) if ty == Type::Date && e.message.contains("data type (DateTime)") => {
            Formula::compile(source, &options(Type::DateTime, blanks), fields)
        }
        other => other,
    }
    .map_err(|e| format!("compile error: {}", e.message))
}

/// What a row produced, printed for comparison; `Err` for an error.
fn run_row(case: &TestCase, input: &str, blanks: Blanks) -> Result<Result<Value, String>, String> {
    let ty = java::type_of(&case.data_type);
    let fields = CorpusFields {
        fields: xml::all_fields(&case.fields),
    };
    let formula = compile_for(&case.formula, ty, blanks, &fields)?;
    let mut values = BTreeMap::new();
    let inputs = xml::input_fields(&case.fields);
    let raw: Vec<&str> = input.split(',').collect();
    for (i, field) in inputs.iter().enumerate() {
        let text = raw.get(i).copied().unwrap_or("");
        values.insert(
            format!("{}__c", field.name),
            java::input(java::type_of(&field.data_type), text),
        );
    }
    let mut formulas = BTreeMap::new();
    for field in xml::all_fields(&case.fields)
        .into_iter()
        .filter(|f| !f.formula.is_empty())
    {
        let inner_ty = java::type_of(&field.data_type);
        let inner = Formula::compile(&field.formula, &options(inner_ty, blanks), &fields)
            .map_err(|e| format!("compile error in {}: {}", field.name, e.message))?;
        formulas.insert(format!("{}__c", field.name), inner);
    }
    let now = Utc.with_ymd_and_hms(2024, 6, 15, 12, 0, 0).unwrap();
    let row = Row {
        values,
        formulas,
        references: formula.references(),
        now,
    };
    Ok(formula.eval(&row).map_err(|e| e.message))
}

/// Whether `got` matches the harness's `expected` text; `Err` says why not.
fn judge(
    ty: Type,
    expected: &str,
    got: Result<Result<Value, String>, String>,
) -> Result<(), String> {
    let got = got?;
    match (expected.starts_with("Error:"), got) {
        (true, Err(_)) => Ok(()),
        (true, Ok(value)) => Err(format!("got {}", java::print(ty, &value))),
        (false, Err(message)) => Err(format!("error: {message}")),
        (false, Ok(Value::Number(number))) if java::same_number(number, expected) => Ok(()),
        (false, Ok(value)) => {
            let printed = java::print(ty, &value);
            if printed.trim() == expected {
                Ok(())
            } else {
                Err(format!("got {printed}"))
            }
        }
    }
}

#[derive(Default)]
struct Tally {
    passed: usize,
    in_scope: usize,
    not_in_scope: BTreeMap<&'static str, usize>,
    misses: Vec<String>,
}

#[test]
fn salesforce_formula_engine_corpus() {
    let text = include_str!("corpus/formulaTestV2.xml");
    let cases = xml::read(text);
    assert!(
        cases.len() >= 399,
        "the corpus has {} test cases",
        cases.len()
    );
    let mut tally = Tally::default();
    for case in &cases {
        let outside = out_of_scope(&case.formula);
        for (path, blanks) in PATHS {
            let index = case
                .paths
                .iter()
                .position(|p| p == path)
                .expect("both paths present");
            for row in &case.rows {
                if let Some(first) = outside.first() {
                    *tally.not_in_scope.entry(first).or_default() += 1;
                    continue;
                }
                tally.in_scope += 1;
                let expected = &row.outputs[index];
                let ty = java::type_of(&case.data_type);
                match judge(ty, expected, run_row(case, &row.input, *blanks)) {
                    Ok(()) => tally.passed += 1,
                    Err(why) => tally.misses.push(format!(
                        "{} [{path}] {} | input '{}' | expected {expected} | {why}",
                        case.name, case.formula, row.input
                    )),
                }
            }
        }
    }
    report(&tally);
}

fn report(tally: &Tally) {
    let rate = tally.passed as f64 / tally.in_scope.max(1) as f64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "corpus: {}/{} in-scope rows pass ({:.2}%)",
        tally.passed,
        tally.in_scope,
        rate * 100.0
    );
    let outside: usize = tally.not_in_scope.values().sum();
    let _ = writeln!(
        out,
        "not in scope (functions not allowed in formula fields): {outside} rows"
    );
    for (name, count) in &tally.not_in_scope {
        let _ = writeln!(out, "  {name}: {count} rows");
    }
    let _ = writeln!(out, "misses ({}):", tally.misses.len());
    for miss in &tally.misses {
        let _ = writeln!(out, "  {miss}");
    }
    println!("{out}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("formula-corpus-report.txt");
    let _ = std::fs::write(&path, &out);
    assert!(
        rate >= REQUIRED_RATE,
        "pass rate {:.2}% is under 98%; report in {}",
        rate * 100.0,
        path.display()
    );
}
