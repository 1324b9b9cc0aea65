//! Deferred durability: a transaction's events stay invisible until it is finished, and
//! many concurrent async finishes share the syncing thread's fsyncs and all complete.

use std::sync::Arc;

use forcebus_eventlog::Start;
use forcebus_meta::standard;
use forcebus_org::{Api, Caller, Mode, Op, Org, Schema, SystemClock, UserSeed};
use forcebus_store::{Durability, SqliteStore};
use serde_json::json;

fn org(dir: &std::path::Path) -> (Arc<Org>, Caller) {
    let store = Arc::new(SqliteStore::open(dir, Durability::Full).unwrap());
    let seed = UserSeed {
        username: "a@b.c".into(),
        first_name: "A".into(),
        last_name: "B".into(),
        email: "a@b.c".into(),
    };
    let org = Org::open(
        store,
        Schema::new(standard::catalogue()),
        Arc::new(SystemClock),
        "T",
        &[seed],
    )
    .unwrap();
    let caller = Caller {
        user_id: org.user_by_username("a@b.c").unwrap().id,
        api: Api::Rest,
        version: "62.0".into(),
        client: None,
    };
    (Arc::new(org), caller)
}

fn create(name: &str) -> Vec<Op> {
    vec![Op::Create {
        object: "Account".into(),
        fields: json!({"Name": name}).as_object().unwrap().clone(),
    }]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_show_only_once_finished_and_concurrent_finishes_all_complete() {
    let dir = std::env::temp_dir().join(format!("fb-org-durable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (org, caller) = org(&dir);
    let channel = org.change_channel("/data/AccountChangeEvent").unwrap();
    let mut cursor = org.log().subscribe(channel.clone(), Start::Latest).unwrap();

    let committing = org
        .execute(&caller, create("first"), Mode::ALL_OR_NONE)
        .unwrap();
    assert!(cursor.poll(10).unwrap().is_empty(), "shown before durable");
    let result = committing.wait_async().await.unwrap();
    assert!(result.results[0].is_ok());
    assert_eq!(cursor.poll(10).unwrap().len(), 1);

    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let (org, caller) = (org.clone(), caller.clone());
            tokio::spawn(async move {
                let o = org.clone();
                let committing = tokio::task::spawn_blocking(move || {
                    o.execute(&caller, create(&format!("a{i}")), Mode::ALL_OR_NONE)
                })
                .await
                .unwrap()
                .unwrap();
                let result = committing.wait_async().await.unwrap();
                result.committed.unwrap().events.last().unwrap().replay_id
            })
        })
        .collect();
    let mut last = 0;
    for t in tasks {
        last = last.max(t.await.unwrap());
    }
    let mut shown = Vec::new();
    while shown.len() < 64 {
        let batch = cursor.poll(100).unwrap();
        assert!(!batch.is_empty(), "{} of 64 shown", shown.len());
        shown.extend(batch);
    }
    assert_eq!(shown.last().unwrap().replay_id, last);
    drop(cursor);
    drop(org);
    let _ = std::fs::remove_dir_all(&dir);
}
