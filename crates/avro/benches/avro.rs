//! Avro binary encode, decode and JSON rendering of a ~1 KB platform-event-shaped record
//! (the Pub/Sub payload each event is encoded to once).

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_main};
use forcebus_avro::{Field, RecordSchema, Schema, Value, decode, encode, to_json};

fn schema() -> Schema {
    let mut fields = vec![
        Field::new("CreatedDate", Schema::Long),
        Field::new("CreatedById", Schema::String),
    ];
    for i in 0..8 {
        fields.push(Field::nullable(&format!("Text{i}__c"), Schema::String));
        fields.push(Field::nullable(&format!("Num{i}__c"), Schema::Double));
    }
    Schema::Record(Arc::new(RecordSchema {
        name: "Load__e".into(),
        namespace: Some("com.sforce.eventbus".into()),
        fields,
    }))
}

fn value() -> Value {
    let mut v = vec![
        Value::Long(1_700_000_000_000),
        Value::String("005000000000001AAA".into()),
    ];
    for i in 0..8 {
        v.push(Value::Union(
            1,
            Box::new(Value::String("x".repeat(110 + i))),
        ));
        v.push(Value::Union(1, Box::new(Value::Double(i as f64 * 1.5))));
    }
    Value::Record(v)
}

fn benches(c: &mut Criterion) {
    let s = schema();
    let v = value();
    let bytes = encode(&s, &v).unwrap();
    let mut g = c.benchmark_group("avro");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function(format!("encode {} B", bytes.len()), |b| {
        b.iter(|| encode(&s, &v).unwrap())
    });
    g.bench_function(format!("decode {} B", bytes.len()), |b| {
        b.iter(|| decode(&s, &bytes).unwrap())
    });
    g.bench_function("to_json", |b| b.iter(|| to_json(&s, &v)));
    g.finish();
}

fn group() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
}

criterion_main!(group);
