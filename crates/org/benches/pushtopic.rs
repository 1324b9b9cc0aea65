//! PushTopic matching: one Account update judged against 100 active topics on Account
//! (`Topic::matches` for each, as the commit path runs them), with a mix of topics that
//! match, that fail their WHERE, and that ignore the changed field.

use std::collections::HashSet;

use criterion::{Criterion, criterion_main};
use forcebus_meta::standard;
use forcebus_org::pushtopic::{Operation, Topic, compile};
use forcebus_org::{Record, RecordId, Schema};
use serde_json::{Map, Value, json};

fn record(id: RecordId, object: &str, fields: Value) -> Record {
    Record {
        id,
        object: object.into(),
        fields: fields.as_object().cloned().unwrap_or_else(Map::new).into(),
        is_deleted: false,
        deleted: None,
    }
}

fn topics(schema: &Schema) -> Vec<Topic> {
    let industries = ["Energy", "Finance", "Technology", "Retail"];
    (0..100)
        .map(|i| {
            let query = match i % 4 {
                0 => format!("SELECT Id, Name, Industry FROM Account WHERE Industry = '{}'", industries[i % 4]),
                1 => format!("SELECT Id, Name, NumberOfEmployees FROM Account WHERE NumberOfEmployees > {} AND Industry != 'Retail'", i * 10),
                2 => format!("SELECT Id, Phone FROM Account WHERE Name LIKE 'Acme%' AND AnnualRevenue > {}", i * 1000),
                _ => "SELECT Id, Name, Industry, Rating FROM Account WHERE Industry IN ('Technology', 'Energy') OR Rating = 'Hot'".to_owned(),
            };
            let t = record(
                RecordId::mint("0IF", i as u64 + 1),
                "PushTopic",
                json!({"Name": format!("T{i}"), "Query": query, "ApiVersion": 59.0, "NotifyForFields": "Referenced"}),
            );
            compile(schema, &t).expect("valid topic")
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let schema = Schema::new(standard::catalogue());
    let topics = topics(&schema);
    let id = RecordId::mint("001", 42);
    let before = record(
        id,
        "Account",
        json!({"Id": id.to18(), "Name": "Acme Corp", "Industry": "Technology",
        "NumberOfEmployees": 500, "AnnualRevenue": 2_000_000.0, "Rating": "Warm", "Phone": "1"}),
    );
    let mut after = before.clone();
    after
        .fields
        .insert("Name".into(), json!("Acme Corporation"));
    after.fields.insert("NumberOfEmployees".into(), json!(600));
    let changed: HashSet<String> = ["Name", "NumberOfEmployees", "LastModifiedDate"]
        .map(String::from)
        .into();
    let now = chrono::Utc::now();
    let matched = topics
        .iter()
        .filter(|t| {
            t.matches(
                Operation::Updated,
                Some(&before),
                Some(&after),
                &changed,
                now,
            )
            .is_some()
        })
        .count();
    eprintln!("{matched} of {} topics match the update", topics.len());
    c.bench_function("pushtopic: one update against 100 topics", |b| {
        b.iter(|| {
            topics
                .iter()
                .filter_map(|t| {
                    t.matches(
                        Operation::Updated,
                        Some(&before),
                        Some(&after),
                        &changed,
                        now,
                    )
                })
                .count()
        })
    });
    c.bench_function("pushtopic: one create against 100 topics", |b| {
        b.iter(|| {
            topics
                .iter()
                .filter_map(|t| t.matches(Operation::Created, None, Some(&after), &changed, now))
                .count()
        })
    });
}

fn group() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
}

criterion_main!(group);
