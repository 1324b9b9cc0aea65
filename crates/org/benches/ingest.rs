//! Creating Accounts a thousand at a time, as a Bulk chunk or a composite request does:
//! checks, the records applied, their change events made and appended to the log (an
//! in-memory store: the CPU the org spends, without the disk).

use criterion::{BatchSize, Criterion, Throughput, criterion_main};
use forcebus_org::Op;
use serde_json::json;

mod support;

fn benches(c: &mut Criterion) {
    let (org, caller) = support::org();
    // The rows `loadgen bulk-ingest` sends: a name and 64 bytes of description.
    let chunk = |from: usize| -> Vec<Op> {
        (from..from + 1000)
            .map(|i| Op::Create {
                object: "Account".into(),
                fields: json!({"Name": format!("Account {i:07}"), "Description": "d".repeat(64)})
                    .as_object()
                    .unwrap()
                    .clone(),
            })
            .collect()
    };
    let mut made = 0;
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(1000));
    group.sample_size(20);
    group.bench_function("1000 Accounts in one transaction", |b| {
        b.iter_batched(
            || {
                made += 1000;
                chunk(made)
            },
            |ops| {
                org.execute(&caller, ops, forcebus_org::Mode::ALL_OR_NONE)
                    .unwrap()
                    .wait()
                    .unwrap()
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(ingest, super::benches);
}
criterion_main!(group::ingest);
