//! SOQL over 100,000 Accounts in the org: a filtered scan, and an indexed equality.

use criterion::{Criterion, criterion_main};
use forcebus_org::{Op, Org};
use serde_json::json;

mod support;

fn org_with(n: usize) -> Org {
    let (org, caller) = support::org();
    let industries = ["Energy", "Finance", "Technology", "Retail"];
    let mut parent = None;
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let ops = chunk
            .iter()
            .map(|i| {
                let mut f = json!({"Name": format!("Account {i:06}"), "Industry": industries[i % 4], "NumberOfEmployees": i});
                if let Some(p) = &parent {
                    f["ParentId"] = json!(p);
                }
                Op::Create { object: "Account".into(), fields: f.as_object().unwrap().clone() }
            })
            .collect();
        let r = org
            .execute(&caller, ops, forcebus_org::Mode::ALL_OR_NONE)
            .unwrap()
            .wait()
            .unwrap();
        // Each chunk of 1,000 points at the first account of the chunk before it.
        parent = Some(r.results[0].as_ref().unwrap().id().to18());
    }
    org
}

fn benches(c: &mut Criterion) {
    let org = org_with(100_000);
    let parent = org
        .query(
            "SELECT Id FROM Account WHERE Name = 'Account 001000'",
            "59.0",
            false,
            &|_| true,
        )
        .unwrap()
        .records[0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut g = c.benchmark_group("100k accounts");
    g.sample_size(10);
    g.bench_function("filtered scan", |b| {
        b.iter(|| {
            let out = org.query("SELECT Id, Name FROM Account WHERE Industry = 'Energy' AND NumberOfEmployees > 90000", "59.0", false, &|_| true).unwrap();
            assert_eq!(out.total_size, 2499);
        })
    });
    let by_parent =
        format!("SELECT Id FROM Account WHERE ParentId = '{parent}' AND NumberOfEmployees < 2010");
    g.bench_function("indexed reference equality", |b| {
        b.iter(|| {
            assert_eq!(
                org.query(&by_parent, "59.0", false, &|_| true)
                    .unwrap()
                    .total_size,
                10
            )
        })
    });
    g.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(query, super::benches);
}
criterion_main!(group::query);
