//! The test controls through the org: the clock's shift is durable and ages events past
//! retention at once; gap and overflow events are Salesforce's shape and bad requests
//! change nothing; one org's controls never reach another's.

use std::sync::Arc;

use chrono::Duration;
use forcebus_eventlog::Start;
use forcebus_events::change::ChangeEvent;
use forcebus_meta::standard;
use forcebus_org::control::{ArmedFailure, PubSubFailure, Rpc};
use forcebus_org::org::control::Gap;
use forcebus_org::{Api, Caller, Code, ManualClock, Mode, Op, Org, Schema, UserSeed};
use forcebus_store::{Durability, SqliteStore, Store};
use serde_json::json;

const START: &str = "2024-05-01T00:00:00Z";

fn open(store: Arc<dyn Store>, base: Arc<ManualClock>) -> (Org, Caller) {
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
        base,
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
    (org, caller)
}

fn base() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(START.parse().unwrap()))
}

fn account(org: &Org, c: &Caller, name: &str) -> String {
    let r = org
        .execute(
            c,
            vec![Op::Create {
                object: "Account".into(),
                fields: json!({"Name": name}).as_object().unwrap().clone(),
            }],
            Mode::ALL_OR_NONE,
        )
        .unwrap()
        .wait()
        .unwrap();
    r.results[0].as_ref().unwrap().id().to18()
}

#[test]
fn the_clock_shift_survives_a_restart_and_records_follow_it() {
    let dir = std::env::temp_dir().join(format!("fb-org-control-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let b = base();
    {
        let store = Arc::new(SqliteStore::open(&dir, Durability::Full).unwrap());
        let (org, c) = open(store, b.clone());
        org.advance_clock(Duration::days(3)).unwrap();
        org.freeze_clock(true).unwrap();
        let id = account(&org, &c, "Later");
        let created = org
            .get(forcebus_org::RecordId::parse(&id).unwrap())
            .unwrap();
        assert_eq!(
            created.get_str("CreatedDate"),
            Some("2024-05-04T00:00:00.000+0000")
        );
    }
    b.advance(Duration::hours(1));
    let store = Arc::new(SqliteStore::open(&dir, Durability::Full).unwrap());
    let (org, _) = open(store, b.clone());
    assert_eq!(
        org.clock().now(),
        "2024-05-04T00:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        "still frozen where it was, three days on"
    );
    org.freeze_clock(false).unwrap();
    b.advance(Duration::seconds(5));
    assert_eq!(
        org.clock().now(),
        "2024-05-04T00:00:05Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        "runs on from the frozen instant"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn advancing_past_retention_purges_events_and_old_replay_ids_fail() {
    let (org, c) = open(Arc::new(SqliteStore::in_memory().unwrap()), base());
    account(&org, &c, "Old");
    let log = org.log().clone();
    let old = log.last_replay_id();
    let channel = org.change_channel("/data/AccountChangeEvent").unwrap();
    org.advance_clock(Duration::hours(71)).unwrap();
    assert!(
        log.subscribe(channel.clone(), Start::After(old - 1))
            .is_ok(),
        "71 h: kept"
    );
    org.advance_clock(Duration::hours(1)).unwrap();
    let e = log
        .subscribe(channel.clone(), Start::After(old - 1))
        .unwrap_err();
    assert!(
        matches!(e, forcebus_eventlog::LogError::Expired { .. }),
        "72 h: purged at once, not at the next sweep: {e:?}"
    );
    assert!(
        log.subscribe(channel.clone(), Start::After(old)).is_err(),
        "the replay id of the last purged event names no retained event"
    );
    // Newer events are not touched.
    account(&org, &c, "New");
    let mut cursor = log.subscribe(channel, Start::Earliest).unwrap();
    assert_eq!(cursor.poll(10).unwrap().len(), 1);
}

fn gap(org: &Org, c: &Caller, object: &str, gap: Gap) -> Result<ChangeEvent, Code> {
    let events = org
        .publish_gap(c, object, gap)
        .map_err(|e| e.code)?
        .wait()
        .unwrap();
    assert_eq!(events.len(), 1);
    Ok(serde_json::from_slice(&events[0].payload).unwrap())
}

#[test]
fn gap_and_overflow_events_are_header_only_with_salesforces_fields() {
    let (org, c) = open(Arc::new(SqliteStore::in_memory().unwrap()), base());
    let a = account(&org, &c, "A");
    let b = account(&org, &c, "B");
    let e = gap(
        &org,
        &c,
        "Account",
        Gap::Records {
            change_type: "gap_update".into(),
            record_ids: vec![a.clone(), b[..15].to_owned()],
        },
    )
    .unwrap();
    let h = &e.header;
    assert_eq!(h.change_type, "GAP_UPDATE");
    assert_eq!(h.entity_name, "Account");
    assert_eq!(h.record_ids, vec![a, b]);
    assert_eq!(h.change_origin, "");
    assert_eq!(h.sequence_number, 1);
    assert_eq!(h.commit_user, c.user_id.to18());
    assert!(h.changed_fields.is_empty() && h.nulled_fields.is_empty() && h.diff_fields.is_empty());
    assert!(e.fields.is_empty(), "no body");
    let o = gap(&org, &c, "Account", Gap::Overflow).unwrap();
    assert_eq!(o.header.change_type, "GAP_OVERFLOW");
    assert_eq!(o.header.record_ids, vec!["000000000000000AAA"]);
    assert_eq!(
        o.header.commit_number,
        h.commit_number + 1,
        "each its own commit"
    );
    assert_ne!(o.header.transaction_key, h.transaction_key);
}

#[test]
fn bad_gap_requests_change_nothing() {
    let (org, c) = open(Arc::new(SqliteStore::in_memory().unwrap()), base());
    let a = account(&org, &c, "A");
    let last = org.log().last_replay_id();
    let records = |t: &str, ids: Vec<String>| Gap::Records {
        change_type: t.into(),
        record_ids: ids,
    };
    for (object, g, code) in [
        ("Nope__c", Gap::Overflow, Code::NotFound),
        (
            "Account",
            records("UPDATE", vec![a.clone()]),
            Code::InvalidInput,
        ),
        (
            "Account",
            records("GAP_OVERFLOW", vec![a.clone()]),
            Code::InvalidInput,
        ),
        ("Account", records("GAP_UPDATE", vec![]), Code::InvalidInput),
        (
            "Account",
            records("GAP_UPDATE", vec!["xyz".into()]),
            Code::MalformedId,
        ),
        (
            "Contact",
            records("GAP_UPDATE", vec![a.clone()]),
            Code::InvalidId,
        ),
        (
            "Account",
            records("GAP_UPDATE", vec![a.clone(); 10_001]),
            Code::InvalidInput,
        ),
    ] {
        let got = gap(&org, &c, object, g.clone()).unwrap_err();
        assert!(
            got == code || (code == Code::NotFound && got == Code::InvalidType),
            "{object} {g:?}: {got:?}"
        );
    }
    assert_eq!(org.log().last_replay_id(), last, "nothing published");
}

#[test]
fn one_orgs_controls_never_reach_another() {
    let (a, ca) = open(Arc::new(SqliteStore::in_memory().unwrap()), base());
    let (b, _) = open(Arc::new(SqliteStore::in_memory().unwrap()), base());
    let b_last = b.log().last_replay_id();
    a.advance_clock(Duration::days(1)).unwrap();
    a.freeze_clock(true).unwrap();
    a.controls()
        .arm(ArmedFailure {
            fail: PubSubFailure::AuthError,
            rpc: None,
            remaining: 5,
        })
        .unwrap();
    a.controls().suppress_keepalives(true);
    a.controls().drop_sessions();
    a.controls().end_streams();
    gap(&a, &ca, "Account", Gap::Overflow).unwrap();
    assert_eq!(
        b.clock().now(),
        START.parse::<chrono::DateTime<chrono::Utc>>().unwrap()
    );
    assert_eq!(b.controls().take_failure(Rpc::Subscribe), None);
    assert!(!b.controls().keepalives_suppressed());
    assert_eq!(b.controls().session_epoch(), 0);
    assert!(b.control_state().active.is_empty());
    assert_eq!(
        b.log().last_replay_id(),
        b_last,
        "no event in the other org"
    );
    // And clearing one leaves the other's as they were.
    b.clear_controls().unwrap();
    assert_eq!(
        a.controls().take_failure(Rpc::Subscribe),
        Some(PubSubFailure::AuthError)
    );
    assert!(a.controls().keepalives_suppressed());
}
