//! What the org's rules cost: a SOQL filter on a formula field over 100,000 Accounts
//! against the same filter on a stored field; and creating 1,000 child records in one
//! transaction (a Bulk chunk) under five validation rules and two roll-up summaries of
//! their parents, against the same object with none.

use criterion::{BatchSize, Criterion, Throughput, criterion_main};
use forcebus_org::{Mode, Op, Org};
use serde_json::{Value, json};

mod support;

fn schema() -> Value {
    let rules: Vec<Value> = [
        "Hours__c < 0",
        "Hours__c > 1000",
        "AND(ISBLANK(Note__c), Hours__c > 500)",
        "LEN(Name) > 70",
        "AND(NOT(ISBLANK(Note__c)), BEGINS(Note__c, \"x\"))",
    ]
    .iter()
    .enumerate()
    .map(|(i, c)| json!({"name": format!("Rule_{i}"), "condition": c, "message": format!("rule {i}")}))
    .collect();
    json!({
        "Account": {"fields": [
            {"name": "Score__c", "type": "double", "precision": 18, "scale": 0},
            {"name": "Stored_Tier__c", "type": "string", "length": 10},
            {"name": "Tier__c", "type": "string", "formula": "IF(Score__c > 50, \"High\", \"Low\")"}
        ]},
        "Job__c": {"label": "Job", "fields": [
            {"name": "Hours_Total__c", "type": "double", "summary": {"operation": "sum", "foreign_key": "Step__c.Job__c", "summarized_field": "Step__c.Hours__c"}},
            {"name": "Steps__c", "type": "double", "summary": {"operation": "count", "foreign_key": "Step__c.Job__c"}}
        ]},
        "Step__c": {"label": "Step", "validation_rules": rules, "fields": [
            {"name": "Job__c", "type": "reference", "reference_to": "Job__c", "master_detail": true},
            {"name": "Hours__c", "type": "double", "precision": 6, "scale": 1},
            {"name": "Note__c", "type": "string", "length": 40}
        ]},
        "Plain_Job__c": {"label": "Plain Job", "fields": []},
        "Plain_Step__c": {"label": "Plain Step", "fields": [
            {"name": "Job__c", "type": "reference", "reference_to": "Plain_Job__c", "master_detail": true},
            {"name": "Hours__c", "type": "double", "precision": 6, "scale": 1},
            {"name": "Note__c", "type": "string", "length": 40}
        ]}
    })
}

fn create(org: &Org, caller: &forcebus_org::Caller, ops: Vec<Op>) -> Vec<String> {
    let r = org
        .execute(caller, ops, Mode::ALL_OR_NONE)
        .unwrap()
        .wait()
        .unwrap();
    r.results
        .iter()
        .map(|o| o.as_ref().unwrap().id().to18())
        .collect()
}

fn op(object: &str, fields: Value) -> Op {
    Op::Create {
        object: object.into(),
        fields: fields.as_object().unwrap().clone(),
    }
}

fn filter(c: &mut Criterion, org: &Org, caller: &forcebus_org::Caller) {
    for chunk in (0..100_000).collect::<Vec<usize>>().chunks(1000) {
        let ops = chunk
            .iter()
            .map(|i| {
                let score = i % 100;
                let tier = if score > 50 { "High" } else { "Low" };
                op(
                    "Account",
                    json!({"Name": format!("A{i}"), "Score__c": score, "Stored_Tier__c": tier}),
                )
            })
            .collect();
        create(org, caller, ops);
    }
    let mut g = c.benchmark_group("100k accounts");
    g.sample_size(10);
    for (name, field) in [
        ("filter on a stored field", "Stored_Tier__c"),
        ("filter on a formula field", "Tier__c"),
    ] {
        let q = format!("SELECT Id FROM Account WHERE {field} = 'High'");
        g.bench_function(name, |b| {
            b.iter(|| {
                assert_eq!(
                    org.query(&q, "59.0", false, &|_| true).unwrap().total_size,
                    49_000
                )
            })
        });
    }
    g.finish();
}

fn ingest(c: &mut Criterion, org: &Org, caller: &forcebus_org::Caller) {
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(1000));
    g.sample_size(20);
    for (name, job, step) in [
        ("1000 children, no rules", "Plain_Job__c", "Plain_Step__c"),
        (
            "1000 children, 5 validation rules and 2 roll-ups",
            "Job__c",
            "Step__c",
        ),
    ] {
        // Ten parents, a hundred children each per chunk.
        let parents = create(
            org,
            caller,
            (0..10)
                .map(|i| op(job, json!({"Name": format!("J{i}")})))
                .collect(),
        );
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    (0..1000)
                        .map(|i| op(step, json!({"Name": format!("S{i}"), "Job__c": parents[i % 10], "Hours__c": 1.5, "Note__c": "ok"})))
                        .collect::<Vec<_>>()
                },
                |ops| create(org, caller, ops),
                BatchSize::PerIteration,
            );
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    let (org, caller) = support::org_with(schema());
    ingest(c, &org, &caller);
    filter(c, &org, &caller);
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(rules, super::benches);
}
criterion_main!(group::rules);
