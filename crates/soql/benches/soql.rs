//! SOQL micro-benchmarks: parsing a 1,300-character query (the PushTopic maximum), and
//! evaluating a WHERE clause against one record.

use criterion::{Criterion, black_box, criterion_main};
use forcebus_meta::{FieldDef, FieldType, ObjectDef, RecordId, Schema};
use forcebus_soql::{Context, Record, Source, execute, parse, prepare};
use serde_json::{Value, json};

struct Rec(RecordId);

impl Record for Rec {
    fn id(&self) -> RecordId {
        self.0
    }
    fn is_deleted(&self) -> bool {
        false
    }
    fn value(&self, _: &ObjectDef, f: &FieldDef) -> Value {
        match f.name.as_str() {
            "Id" => json!(self.0.to18()),
            "Name" => json!("Acme Corporation"),
            "Industry" => json!("Energy"),
            "NumberOfEmployees" => json!(1200),
            "Rating" => json!("Hot"),
            _ => Value::Null,
        }
    }
}

struct One(Rec);

impl Source for One {
    type Rec = Rec;
    fn get(&self, id: RecordId) -> Option<&Rec> {
        (id == self.0.0).then_some(&self.0)
    }
    fn scan<'a>(&'a self, _: &str) -> Box<dyn Iterator<Item = &'a Rec> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
    fn lookup(&self, _: &str, _: &str, _: &str) -> Option<Vec<&Rec>> {
        None
    }
}

fn schema() -> Schema {
    let mut fields = vec![FieldDef::new("Id", "Id", FieldType::Id)];
    for (n, t) in [
        ("Name", FieldType::String),
        ("Industry", FieldType::Picklist),
        ("NumberOfEmployees", FieldType::Int),
        ("Rating", FieldType::Picklist),
    ] {
        fields.push(FieldDef::new(n, n, t));
    }
    Schema::new(vec![ObjectDef::new(
        "Account", "Account", "Accounts", "001", fields,
    )])
}

fn long_query() -> String {
    let mut q =
        String::from("SELECT Id, Name, Industry, NumberOfEmployees, Rating FROM Account WHERE ");
    let mut terms = Vec::new();
    let mut i = 0;
    while q.len() + terms.iter().map(|t: &String| t.len() + 4).sum::<usize>() < 1250 {
        terms.push(format!(
            "(Name LIKE 'Acme{i}%' AND NumberOfEmployees > {i})"
        ));
        i += 1;
    }
    q.push_str(&terms.join(" OR "));
    q
}

fn benches(c: &mut Criterion) {
    let q = long_query();
    assert!((1200..=1300).contains(&q.len()), "{}", q.len());
    c.bench_function("parse 1,300-character query", |b| {
        b.iter(|| parse(black_box(&q)).unwrap())
    });
    let schema = schema();
    let plan = prepare(
        "SELECT Id FROM Account WHERE (Industry = 'Energy' OR Industry = 'Finance') AND NumberOfEmployees > 1000 AND Name LIKE 'acme%' AND Rating != null",
        &schema,
        &forcebus_soql::Everything,
    )
    .unwrap();
    let source = One(Rec(RecordId::mint("001", 1)));
    let ctx = Context {
        now: chrono::Utc::now(),
        version: "59.0".into(),
        all_rows: false,
        seen: Default::default(),
    };
    c.bench_function("evaluate WHERE against one record", |b| {
        b.iter(|| assert_eq!(execute(black_box(&plan), &source, &ctx).total_size, 1))
    });
}

// The macros generate undocumented items.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(soql, super::benches);
}
criterion_main!(group::soql);
