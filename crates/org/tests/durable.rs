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
        profile: None,
        permission_sets: Vec::new(),
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

/// An org stores a change-event schema with the first event that names it, not before
/// (a fresh org: its first user's); the schema an event was written with resolves after
/// a reopen in which the object changed.
#[test]
fn change_event_schemas_are_stored_with_the_first_event_that_names_them() {
    use forcebus_store::Store;
    let dir = std::env::temp_dir().join(format!("fb-org-schemas-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let stored = |dir: &std::path::Path| {
        let store = SqliteStore::open(dir, Durability::Full).unwrap();
        store.load_values("schema").unwrap().len()
    };
    let (fresh, _) = org(&dir);
    let id = fresh
        .change_schema_id("Campaign")
        .expect("Campaign has change events");
    assert!(fresh.schemas().contains(&id), "known at once");
    drop(fresh);
    assert_eq!(
        stored(&dir),
        1,
        "the User schema, with the first user's CREATE"
    );
    let (org, caller) = org(&dir);
    let ops = vec![Op::Create {
        object: "Campaign".into(),
        fields: json!({"Name": "Spring"}).as_object().unwrap().clone(),
    }];
    let result = org
        .execute(&caller, ops, Mode::ALL_OR_NONE)
        .unwrap()
        .wait()
        .unwrap();
    assert!(result.results[0].is_ok(), "{:?}", result.results[0]);
    drop(org);
    assert_eq!(
        stored(&dir),
        3,
        "and the schemas of Campaign and CampaignMemberStatus (a campaign makes two), with their first events"
    );
    // Reopened with Campaign changed: a new id, and the old one still resolves.
    let mut schema = Schema::new(standard::catalogue());
    let mut field =
        forcebus_meta::FieldDef::new("Region__c", "Region", forcebus_meta::FieldType::String);
    field.length = 20;
    schema.object_mut("Campaign").unwrap().push_field(field);
    let store = Arc::new(SqliteStore::open(&dir, Durability::Full).unwrap());
    let org = Org::open(store, schema, Arc::new(SystemClock), "T", &[]).unwrap();
    assert_ne!(org.change_schema_id("Campaign").unwrap(), id);
    assert!(
        org.schemas().json(&id).is_some(),
        "the event's schema resolves"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
