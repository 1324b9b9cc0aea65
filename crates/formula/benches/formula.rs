//! Evaluations per second of a compiled formula against an in-memory record.

use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, Throughput, black_box, criterion_main};
use forcebus_formula::{Blanks, Context, FieldInfo, Fields, Formula, Options, Scope, Type, Value};
use rust_decimal::Decimal;

/// Two fields: `Amount__c` (Currency) and `Account.Name` (Text).
struct Schema;

impl Fields for Schema {
    fn resolve(&self, path: &[&str]) -> Result<Option<(Vec<String>, FieldInfo)>, String> {
        let joined = path.join(".").to_ascii_lowercase();
        let (canonical, ty): (&[&str], Type) = match joined.as_str() {
            "amount__c" => (&["Amount__c"], Type::Currency),
            "account.name" => (&["Account", "Name"], Type::Text),
            _ => return Ok(None),
        };
        let canonical = canonical.iter().map(|part| (*part).to_string()).collect();
        Ok(Some((canonical, FieldInfo { ty, scale: 2 })))
    }
}

/// One record, its values in reference order.
struct Record {
    values: Vec<Value>,
    now: DateTime<Utc>,
}

impl Scope for Record {
    fn value(&self, reference: usize) -> Value {
        self.values[reference].clone()
    }

    fn now(&self) -> DateTime<Utc> {
        self.now
    }
}

fn compile(source: &str, return_type: Type) -> Formula {
    let options = Options {
        return_type,
        scale: 2,
        blanks: Blanks::AsZero,
        context: Context::Field,
    };
    Formula::compile(source, &options, &Schema).expect("the bench formulas compile")
}

fn bench(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2024, 1, 31, 10, 0, 0).unwrap();
    let mut group = c.benchmark_group("formula");
    group.throughput(Throughput::Elements(1));

    let simple = compile("Amount__c * 2 + 1", Type::Currency);
    let record = Record {
        values: vec![Value::Number(Decimal::new(12345, 2))],
        now,
    };
    group.bench_function("simple_arithmetic", |b| {
        b.iter(|| simple.eval(black_box(&record)))
    });

    let text = compile("Account.Name & \" - \" & TEXT(Amount__c)", Type::Text);
    let values = text
        .references()
        .iter()
        .map(|path| match path[0].as_str() {
            "Account" => Value::Text("Acme Corporation".to_string()),
            _ => Value::Number(Decimal::new(12345, 2)),
        })
        .collect();
    let record = Record { values, now };
    group.bench_function("text_two_references", |b| {
        b.iter(|| text.eval(black_box(&record)))
    });
    group.finish();
}

// The macros generate undocumented items.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(formula, super::bench);
}
criterion_main!(group::formula);
