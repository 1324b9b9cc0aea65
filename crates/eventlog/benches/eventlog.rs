//! Event log: appending batches (in-memory store, so the log's own cost), and reading
//! 10,000 events through a cursor from the in-memory tail.

use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_main};
use forcebus_eventlog::{Channel, EventLog, LogConfig, NewEvent, Start};
use forcebus_store::{Batch, Durability, SqliteStore, Store};

fn events(n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|i| NewEvent {
            kind: if i % 2 == 0 { "A" } else { "B" }.into(),
            class: 0,
            payload: vec![7; 1000],
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("eventlog");
    g.throughput(Throughput::Elements(100));
    g.bench_function("append 100 x 1 KB (in-memory store)", |b| {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
        let log = EventLog::open(store.clone(), LogConfig::default()).unwrap();
        b.iter_batched(
            || events(100),
            |ev| {
                log.append(ev, 0, |w| store.commit(&Batch::from(w)))
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    // The same on a database file (WAL, no fsync): what one commit costs the writer, the
    // serial part of every publish. The checkpointer runs on its own thread meanwhile.
    g.bench_function("append 100 x 1 KB (file store, durability normal)", |b| {
        let dir = std::env::temp_dir().join(format!("fb-bench-append-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir, Durability::Normal).unwrap());
        let log = EventLog::open(store.clone(), LogConfig::default()).unwrap();
        b.iter_batched(
            || events(100),
            |ev| {
                log.append(ev, 0, |w| store.commit(&Batch::from(w)))
                    .unwrap()
            },
            BatchSize::SmallInput,
        );
        drop(log);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    });
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let log = Arc::new(
        EventLog::open(
            store.clone(),
            LogConfig {
                tail_capacity: 20_000,
                ..LogConfig::default()
            },
        )
        .unwrap(),
    );
    for _ in 0..100 {
        log.append(events(100), 0, |w| store.commit(&Batch::from(w)))
            .unwrap();
    }
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("read 10,000 from the tail, every event", |b| {
        b.iter(|| {
            let mut cur = log
                .subscribe(Channel::of(&["A", "B"], 0), Start::Earliest)
                .unwrap();
            let mut n = 0;
            loop {
                let got = cur.poll(1000).unwrap();
                if got.is_empty() {
                    break n;
                }
                n += got.len();
            }
        })
    });
    g.bench_function("read 10,000 from the tail, half shown", |b| {
        b.iter(|| {
            let mut cur = log
                .subscribe(Channel::of(&["A"], 0), Start::Earliest)
                .unwrap();
            let mut n = 0;
            loop {
                let got = cur.poll(1000).unwrap();
                if got.is_empty() {
                    break n;
                }
                n += got.len();
            }
        })
    });
    g.finish();
}

fn group() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
}

criterion_main!(group);
