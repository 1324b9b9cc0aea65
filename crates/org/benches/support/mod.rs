//! What the org's benchmarks share: an org of the standard catalogue on an in-memory
//! store, and a REST caller of its one user.

use std::sync::Arc;

use forcebus_meta::standard;
use forcebus_org::{Api, Caller, Org, Schema, SystemClock, UserSeed};
use forcebus_store::SqliteStore;

/// An empty org and its user as a REST caller.
#[allow(dead_code)] // The rules bench declares objects of its own.
pub(crate) fn org() -> (Org, Caller) {
    org_with(serde_json::json!({}))
}

/// An empty org whose schema is the catalogue plus `objects` (the config file's form, as
/// JSON), and its user as a REST caller.
pub(crate) fn org_with(objects: serde_json::Value) -> (Org, Caller) {
    let objects: std::collections::BTreeMap<String, forcebus_org::custom::ObjectConfig> =
        serde_json::from_value(objects).unwrap();
    let mut schema = Schema::new(standard::catalogue());
    forcebus_org::custom::apply(&mut schema, &objects).unwrap();
    let seed = UserSeed {
        username: "a@b.c".into(),
        first_name: "A".into(),
        last_name: "B".into(),
        email: "a@b.c".into(),
        profile: None,
        permission_sets: Vec::new(),
    };
    let org = Org::open(
        Arc::new(SqliteStore::in_memory().unwrap()),
        schema,
        Arc::new(SystemClock),
        "B",
        &[seed],
    )
    .unwrap();
    let caller = Caller {
        user_id: org.user_by_username("a@b.c").unwrap().id,
        api: Api::Rest,
        version: "59.0".into(),
        client: None,
    };
    (org, caller)
}
