//! The order of the org's rules: system validation, then the standard objects'
//! behaviours, then unique values. Each test has a record two rules would treat
//! differently, so it tells which one the record met first.

use std::sync::Arc;

use forcebus_meta::standard;
use forcebus_meta::{FieldDef, FieldType};
use forcebus_org::{Api, Caller, Code, ManualClock, Op, Org, RecordId, Schema, UserSeed};
use forcebus_store::SqliteStore;
use serde_json::{Value, json};

/// The catalogue, with a unique custom field on Event.
fn org() -> (Org, Caller) {
    let mut schema = Schema::new(standard::catalogue());
    let mut code = FieldDef::new("Code__c", "Code", FieldType::String);
    code.custom = true;
    code.unique = true;
    schema.object_mut("Event").unwrap().push_field(code);
    let clock = Arc::new(ManualClock::new("2024-05-01T12:00:00Z".parse().unwrap()));
    let seed = [UserSeed {
        username: "admin@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Admin".into(),
        email: "admin@example.com".into(),
        profile: None,
        permission_sets: Vec::new(),
    }];
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let org = Org::open(store, schema, clock, "Test", &seed).unwrap();
    let caller = Caller {
        user_id: org.user_by_username("admin@example.com").unwrap().id,
        api: Api::Rest,
        version: "59.0".into(),
        client: None,
    };
    (org, caller)
}

fn create(org: &Org, caller: &Caller, object: &str, fields: Value) -> Result<RecordId, Code> {
    let ops = vec![Op::Create {
        object: object.into(),
        fields: fields.as_object().unwrap().clone(),
    }];
    let done = org
        .execute(caller, ops, forcebus_org::Mode::ALL_OR_NONE)
        .unwrap();
    let mut result = done.wait().unwrap().results;
    result.remove(0).map(|o| o.id()).map_err(|e| e.code)
}

/// An event's duration given as text is a number once system validation has read it, so
/// the event behaviour works out its end from it; given the text itself, the behaviour
/// would find no duration and refuse the event.
#[test]
fn a_behaviour_sees_the_values_system_validation_read() {
    let (org, caller) = org();
    let id = create(
        &org,
        &caller,
        "Event",
        json!({"Subject": "Call", "StartDateTime": "2024-05-02T09:00:00Z", "DurationInMinutes": "90"}),
    )
    .unwrap();
    let event = org.get(id).unwrap();
    assert_eq!(event.get("DurationInMinutes").as_i64(), Some(90));
    assert_eq!(
        event.get_str("EndDateTime"),
        Some("2024-05-02T10:30:00.000+0000")
    );
}

/// An event that names an account that does not exist and has no start: system
/// validation refuses the reference before the event behaviour could ask for a start.
#[test]
fn a_record_system_validation_refuses_never_reaches_a_behaviour() {
    let (org, caller) = org();
    let missing = RecordId::mint("001", 999_999).to18();
    assert_eq!(
        create(&org, &caller, "Event", json!({"Subject": "Call"})),
        Err(Code::RequiredFieldMissing),
        "the behaviour's refusal, when system validation passes"
    );
    assert_eq!(
        create(
            &org,
            &caller,
            "Event",
            json!({"Subject": "Call", "WhatId": missing})
        ),
        Err(Code::InvalidCrossReferenceKey)
    );
}

/// An event whose unique code another event has, and which has no start: the event
/// behaviour refuses it before its code is compared, as a database compares a unique
/// value only when the record is saved.
#[test]
fn a_record_a_behaviour_refuses_is_never_compared_for_unique_values() {
    let (org, caller) = org();
    let start = "2024-05-02T09:00:00Z";
    create(
        &org,
        &caller,
        "Event",
        json!({"Subject": "A", "StartDateTime": start, "DurationInMinutes": 30, "Code__c": "X1"}),
    )
    .unwrap();
    assert_eq!(
        create(
            &org,
            &caller,
            "Event",
            json!({"Subject": "B", "StartDateTime": start, "DurationInMinutes": 30, "Code__c": "x1"})
        ),
        Err(Code::DuplicateValue),
        "the unique stage's refusal, when the behaviour passes"
    );
    assert_eq!(
        create(
            &org,
            &caller,
            "Event",
            json!({"Subject": "B", "Code__c": "x1"})
        ),
        Err(Code::RequiredFieldMissing)
    );
}
