//! Org transactions against a real (in-memory or on-disk) SQLite store.

use std::sync::Arc;

use forcebus_meta::standard;
use forcebus_meta::{FieldDef, FieldType};
use forcebus_org::{Api, Caller, Code, ManualClock, Op, Org, Outcome, RecordId, Schema, UserSeed};
use forcebus_store::{Durability, SqliteStore, Store};
use serde_json::{Map, Value, json};

fn schema() -> Schema {
    let mut s = Schema::new(standard::catalogue());
    let mut ext = FieldDef::new("Ext__c", "Ext", FieldType::String);
    ext.external_id = true;
    ext.unique = true;
    s.object_mut("Account").unwrap().push_field(ext);
    s
}

fn seed() -> Vec<UserSeed> {
    vec![UserSeed {
        username: "admin@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Admin".into(),
        email: "admin@example.com".into(),
        profile: None,
        permission_sets: Vec::new(),
    }]
}

fn open(store: Arc<dyn Store>) -> Org {
    let clock = Arc::new(ManualClock::new("2024-05-01T12:00:00Z".parse().unwrap()));
    Org::open(store, schema(), clock, "Test", &seed()).unwrap()
}

fn org() -> (Org, Caller) {
    let org = open(Arc::new(SqliteStore::in_memory().unwrap()));
    let caller = caller(&org);
    (org, caller)
}

fn caller(org: &Org) -> Caller {
    let user = org.user_by_username("admin@example.com").unwrap();
    Caller {
        user_id: user.id,
        api: Api::Rest,
        version: "59.0".into(),
        client: None,
    }
}

fn map(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn create(org: &Org, c: &Caller, object: &str, fields: Value) -> Result<RecordId, Code> {
    let r = org
        .execute(
            c,
            vec![Op::Create {
                object: object.into(),
                fields: map(fields),
            }],
            forcebus_org::Mode::ALL_OR_NONE,
        )
        .unwrap()
        .wait()
        .unwrap();
    r.results
        .into_iter()
        .next()
        .unwrap()
        .map(|o| o.id())
        .map_err(|e| e.code)
}

#[test]
fn create_fills_system_fields_defaults_and_derived_values() {
    let (org, c) = org();
    let id = create(
        &org,
        &c,
        "Contact",
        json!({"FirstName": "Grace", "LastName": "Hopper"}),
    )
    .unwrap();
    assert_eq!(id.prefix(), "003");
    let r = org.get(id).unwrap();
    assert_eq!(r.get("Name"), "Grace Hopper");
    assert_eq!(r.get("OwnerId"), &json!(c.user_id.to18()));
    assert_eq!(r.get("CreatedDate"), "2024-05-01T12:00:00.000+0000");
    assert_eq!(r.get("HasOptedOutOfEmail"), false);
    let case = create(&org, &c, "Case", json!({"Subject": "Broken"})).unwrap();
    let case = org.get(case).unwrap();
    assert_eq!(case.get("Status"), "New");
    assert_eq!(case.get("CaseNumber"), "00000001");
}

/// Records of several objects made in one transaction each get their own object's
/// defaults (which fields may default is worked out once per object per transaction).
#[test]
fn one_transaction_of_several_objects_fills_each_ones_defaults() {
    let (org, c) = org();
    let ops = ["Case", "Contact", "Case", "Contact"]
        .into_iter()
        .map(|object| Op::Create {
            object: object.into(),
            fields: map(if object == "Case" {
                json!({"Subject": "Broken"})
            } else {
                json!({"LastName": "Hopper"})
            }),
        })
        .collect();
    let r = org
        .execute(&c, ops, forcebus_org::Mode::ALL_OR_NONE)
        .unwrap()
        .wait()
        .unwrap();
    let records: Vec<_> = r
        .results
        .into_iter()
        .map(|o| org.get(o.unwrap().id()).unwrap())
        .collect();
    for (n, case) in [(1, &records[0]), (2, &records[2])] {
        assert_eq!(case.get("Status"), "New");
        assert_eq!(case.get("CaseNumber"), &json!(format!("{n:08}")));
        assert_eq!(case.get("OwnerId"), &json!(c.user_id.to18()));
        assert!(case.get("HasOptedOutOfEmail").is_null());
    }
    for contact in [&records[1], &records[3]] {
        assert_eq!(contact.get("HasOptedOutOfEmail"), false);
        assert_eq!(contact.get("CreatedDate"), "2024-05-01T12:00:00.000+0000");
        assert!(contact.get("CaseNumber").is_null());
        assert!(contact.get("Status").is_null());
    }
}

#[test]
fn validation_errors_carry_salesforce_codes_and_change_nothing() {
    let (org, c) = org();
    let cases = [
        ("Account", json!({}), Code::RequiredFieldMissing),
        (
            "Account",
            json!({"Name": "x", "Bogus__c": 1}),
            Code::InvalidField,
        ),
        (
            "Account",
            json!({"Name": "x", "CreatedDate": "2024-01-01"}),
            Code::InvalidFieldForInsertUpdate,
        ),
        (
            "Account",
            json!({"Name": "x".repeat(256)}),
            Code::StringTooLong,
        ),
        (
            "Account",
            json!({"Name": "x", "NumberOfEmployees": "many"}),
            Code::JsonParserError,
        ),
        (
            "Account",
            json!({"Name": "x", "ParentId": "junk"}),
            Code::MalformedId,
        ),
        (
            "Account",
            json!({"Name": "x", "ParentId": "001Fb0000000999"}),
            Code::InvalidCrossReferenceKey,
        ),
        (
            "Account",
            json!({"Name": "x", "ParentId": c.user_id.to18()}),
            Code::FieldIntegrityException,
        ),
        (
            "Contact",
            json!({"LastName": "x", "Email": "nope"}),
            Code::InvalidEmailAddress,
        ),
        (
            "Opportunity",
            json!({"Name": "x", "StageName": "Prospecting"}),
            Code::RequiredFieldMissing,
        ),
        ("Nope__c", json!({"Name": "x"}), Code::InvalidType),
    ];
    for (object, fields, code) in cases {
        assert_eq!(
            create(&org, &c, object, fields.clone()),
            Err(code),
            "{object} {fields}"
        );
    }
    assert!(org.scan("Account", |r| Some(r.id)).is_empty());
}

#[test]
fn update_changes_values_and_audit_fields() {
    let (org, c) = org();
    let id = create(&org, &c, "Opportunity", json!({"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2024-08-15", "Amount": 1000})).unwrap();
    let before = org.get(id).unwrap();
    assert_eq!(before.get("Probability"), 10);
    assert_eq!(before.get("FiscalQuarter"), 3);
    let r = org
        .execute(
            &c,
            vec![Op::Update {
                object: Some("Opportunity".into()),
                id: id.to18(),
                fields: map(json!({"StageName": "Closed Won", "Amount": null})),
            }],
            forcebus_org::Mode::PARTIAL,
        )
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(r.results[0], Ok(Outcome::Updated(id)));
    let after = org.get(id).unwrap();
    assert_eq!(after.get("IsWon"), true);
    assert_eq!(after.get("Amount"), &Value::Null);
    let bad = org
        .execute(
            &c,
            vec![Op::Update {
                object: None,
                id: id.to18(),
                fields: map(json!({"Name": null})),
            }],
            forcebus_org::Mode::PARTIAL,
        )
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(
        bad.results[0].as_ref().unwrap_err().code,
        Code::RequiredFieldMissing
    );
    assert!(bad.committed.is_none());
}

#[test]
fn delete_cascades_and_undelete_restores_only_the_cascade() {
    let (org, c) = org();
    let acct = create(&org, &c, "Account", json!({"Name": "Acme"})).unwrap();
    let kept = create(
        &org,
        &c,
        "Contact",
        json!({"LastName": "A", "AccountId": acct.to18()}),
    )
    .unwrap();
    let gone = create(
        &org,
        &c,
        "Contact",
        json!({"LastName": "B", "AccountId": acct.to18()}),
    )
    .unwrap();
    org.execute(
        &c,
        vec![Op::Delete {
            object: None,
            id: gone.to18(),
        }],
        forcebus_org::Mode::ALL_OR_NONE,
    )
    .unwrap()
    .wait()
    .unwrap();
    let r = org
        .execute(
            &c,
            vec![Op::Delete {
                object: Some("Account".into()),
                id: acct.to18(),
            }],
            forcebus_org::Mode::ALL_OR_NONE,
        )
        .unwrap()
        .wait()
        .unwrap();
    // The account and its contact, with the contact's relationship with the account.
    let records = r.committed.unwrap().records;
    let relation = |id: &RecordId| id.prefix() == "07k";
    assert_eq!(records.iter().filter(|id| relation(id)).count(), 1);
    assert_eq!(
        records
            .into_iter()
            .filter(|id| !relation(id))
            .collect::<Vec<_>>(),
        vec![acct, kept]
    );
    assert!(org.get(kept).unwrap().is_deleted);
    let again = org
        .execute(
            &c,
            vec![Op::Delete {
                object: None,
                id: acct.to18(),
            }],
            forcebus_org::Mode::ALL_OR_NONE,
        )
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(
        again.results[0].as_ref().unwrap_err().code,
        Code::EntityIsDeleted
    );
    org.execute(
        &c,
        vec![Op::Undelete {
            id: acct.as15().into(),
        }],
        forcebus_org::Mode::ALL_OR_NONE,
    )
    .unwrap()
    .wait()
    .unwrap();
    assert!(!org.get(acct).unwrap().is_deleted);
    assert!(!org.get(kept).unwrap().is_deleted);
    assert!(
        org.get(gone).unwrap().is_deleted,
        "deleted on its own, stays in the bin"
    );
    let r = org
        .execute(
            &c,
            vec![Op::Purge { id: gone.to18() }],
            forcebus_org::Mode::ALL_OR_NONE,
        )
        .unwrap()
        .wait()
        .unwrap();
    assert!(r.results[0].is_ok());
    assert!(org.get(gone).is_none());
}

#[test]
fn upsert_inserts_then_updates_and_reports_duplicates() {
    let (org, c) = org();
    let up = |fields: Value| {
        org.execute(
            &c,
            vec![Op::Upsert {
                object: "Account".into(),
                field: "Ext__c".into(),
                value: "K-1".into(),
                fields: map(fields),
            }],
            forcebus_org::Mode::ALL_OR_NONE,
        )
        .unwrap()
        .wait()
        .unwrap()
        .results
        .remove(0)
    };
    let Ok(Outcome::Upserted { id, created: true }) = up(json!({"Name": "One"})) else {
        panic!()
    };
    assert_eq!(org.get(id).unwrap().get("Ext__c"), "K-1");
    assert_eq!(
        up(json!({"Name": "Two"})),
        Ok(Outcome::Upserted { id, created: false })
    );
    assert_eq!(org.get(id).unwrap().get("Name"), "Two");
    assert_eq!(
        org.view(&c, |work| work
            .find_by_external_id("account", "ext__c", "k-1"))
            .unwrap(),
        vec![id]
    );
    assert_eq!(
        create(&org, &c, "Account", json!({"Name": "Dup", "Ext__c": "k-1"})),
        Err(Code::DuplicateValue)
    );
    let wrong_field = org
        .execute(
            &c,
            vec![Op::Upsert {
                object: "Account".into(),
                field: "Name".into(),
                value: "x".into(),
                fields: Map::new(),
            }],
            forcebus_org::Mode::ALL_OR_NONE,
        )
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(
        wrong_field.results[0].as_ref().unwrap_err().code,
        Code::NotFound
    );
}

#[test]
fn all_or_none_rolls_back_every_record() {
    let (org, c) = org();
    let ops = vec![
        Op::Create {
            object: "Account".into(),
            fields: map(json!({"Name": "Good"})),
        },
        Op::Create {
            object: "Account".into(),
            fields: map(json!({})),
        },
    ];
    let r = org
        .execute(&c, ops.clone(), forcebus_org::Mode::ALL_OR_NONE)
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(
        r.results[0].as_ref().unwrap_err().code,
        Code::AllOrNoneOperationRolledBack
    );
    assert_eq!(
        r.results[1].as_ref().unwrap_err().code,
        Code::RequiredFieldMissing
    );
    assert!(org.scan("Account", |r| Some(r.id)).is_empty());
    let r = org
        .execute(&c, ops, forcebus_org::Mode::PARTIAL)
        .unwrap()
        .wait()
        .unwrap();
    assert!(r.results[0].is_ok() && r.results[1].is_err());
    assert_eq!(org.scan("Account", |r| Some(r.id)).len(), 1);
}

#[test]
fn a_collection_is_one_transaction_that_sees_its_own_writes() {
    let (org, c) = org();
    let ops = vec![
        Op::Upsert {
            object: "Account".into(),
            field: "Ext__c".into(),
            value: "A".into(),
            fields: map(json!({"Name": "First"})),
        },
        Op::Upsert {
            object: "Account".into(),
            field: "Ext__c".into(),
            value: "A".into(),
            fields: map(json!({"Name": "Second"})),
        },
    ];
    let r = org
        .execute(&c, ops, forcebus_org::Mode::ALL_OR_NONE)
        .unwrap()
        .wait()
        .unwrap();
    let committed = r.committed.unwrap();
    assert_eq!(
        committed.records.len(),
        1,
        "the second upsert updated the first's record"
    );
    assert_eq!(committed.change_origin, "com/salesforce/api/rest/59.0");
    assert_eq!(org.get(committed.records[0]).unwrap().get("Name"), "Second");
}

#[test]
fn committed_records_and_identity_survive_reopening() {
    let dir = std::env::temp_dir().join(format!("fb-org-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (org_id, acct) = {
        let org = open(Arc::new(SqliteStore::open(&dir, Durability::Full).unwrap()));
        let c = caller(&org);
        let acct = create(&org, &c, "Account", json!({"Name": "Durable"})).unwrap();
        org.execute(
            &c,
            vec![Op::Delete {
                object: None,
                id: acct.to18(),
            }],
            forcebus_org::Mode::ALL_OR_NONE,
        )
        .unwrap()
        .wait()
        .unwrap();
        (org.id(), acct)
    };
    let org = open(Arc::new(SqliteStore::open(&dir, Durability::Full).unwrap()));
    assert_eq!(org.id(), org_id);
    let r = org.get(acct).unwrap();
    assert!(r.is_deleted);
    assert_eq!(r.deleted_with(), Some(acct));
    let c = caller(&org);
    let next = create(&org, &c, "Account", json!({"Name": "Next"})).unwrap();
    assert!(next > acct, "ids are never reused after a restart");
    assert_eq!(
        org.scan("User", |r| Some(r.id)).len(),
        1,
        "seed users are created once"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_interactive_transaction_reads_its_own_writes_and_commits_once() {
    let (org, c) = org();
    let kept = create(&org, &c, "Account", json!({"Name": "Before"})).unwrap();
    let ctx = org.query_context(None, "59.0", false);
    let ((seen, rolled), committed) = org
        .transaction(&c, forcebus_org::Mode::ALL_OR_NONE, |work| {
            let a = work
                .apply(Op::Create {
                    object: "Account".into(),
                    fields: map(json!({"Name": "Inside", "Ext__c": "E1"})),
                })
                .unwrap()
                .id();
            work.apply(Op::Update {
                object: None,
                id: kept.to18(),
                fields: map(json!({"Name": "Renamed"})),
            })
            .unwrap();
            let q = work
                .query("SELECT Name FROM Account ORDER BY Name", &ctx, &|_| true)
                .unwrap();
            let names: Vec<Value> = q.records.iter().map(|r| r["Name"].clone()).collect();
            assert_eq!(
                work.find_by_external_id("Account", "Ext__c", "E1").unwrap(),
                [a]
            );
            // A group that fails leaves the transaction as it was, a record it changed
            // that the transaction had touched before included.
            let rolled = work.apply_all_or_none(vec![
                Op::Update {
                    object: None,
                    id: a.to18(),
                    fields: map(json!({"Name": "Changed in the group"})),
                },
                Op::Create {
                    object: "Account".into(),
                    fields: map(json!({"Name": "Group"})),
                },
                Op::Create {
                    object: "Account".into(),
                    fields: map(json!({})),
                },
            ]);
            assert_eq!(work.get(a).unwrap().get_str("Name"), Some("Inside"));
            // A group that succeeds stays, and a later failing one undoes only itself.
            let kept_group = work.apply_all_or_none(vec![Op::Update {
                object: None,
                id: a.to18(),
                fields: map(json!({"Phone": "1"})),
            }]);
            assert!(kept_group[0].is_ok());
            let failed = work.apply_all_or_none(vec![
                Op::Update {
                    object: None,
                    id: a.to18(),
                    fields: map(json!({"Phone": "2"})),
                },
                Op::Create {
                    object: "Account".into(),
                    fields: map(json!({})),
                },
            ]);
            assert!(failed[1].is_err());
            assert_eq!(work.get(a).unwrap().get_str("Phone"), Some("1"));
            ((names, rolled), true)
        })
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(seen, [json!("Inside"), json!("Renamed")]);
    assert_eq!(
        rolled
            .iter()
            .map(|r| r.as_ref().map_err(|e| e.code).err())
            .collect::<Vec<_>>(),
        [
            Some(Code::AllOrNoneOperationRolledBack),
            Some(Code::AllOrNoneOperationRolledBack),
            Some(Code::RequiredFieldMissing)
        ]
    );
    let committed = committed.unwrap();
    assert_eq!(
        committed.records.len(),
        2,
        "one transaction: the create and the update"
    );
    let names = org.scan("Account", |r| r.get_str("Name").map(str::to_owned));
    assert_eq!(names, ["Renamed", "Inside"]);
}

#[test]
fn an_interactive_transaction_not_kept_writes_nothing() {
    let (org, c) = org();
    let before = org.log().last_replay_id();
    let (_, committed) = org
        .transaction(&c, forcebus_org::Mode::ALL_OR_NONE, |work| {
            work.apply(Op::Create {
                object: "Account".into(),
                fields: map(json!({"Name": "Dropped"})),
            })
            .unwrap();
            ((), false)
        })
        .unwrap()
        .wait()
        .unwrap();
    assert!(committed.is_none());
    assert!(org.scan("Account", |r| Some(r.id)).is_empty());
    assert_eq!(org.log().last_replay_id(), before, "no change event either");
    create(&org, &c, "Account", json!({"Name": "Next"})).unwrap();
    assert!(
        org.log().last_replay_id() > before,
        "the next write does publish"
    );
}

#[test]
fn queries_in_a_transaction_see_its_changes_to_indexed_fields() {
    let (org, c) = org();
    let acct = create(&org, &c, "Account", json!({"Name": "Parent"})).unwrap();
    let other = create(&org, &c, "Account", json!({"Name": "Other"})).unwrap();
    let moved = create(
        &org,
        &c,
        "Contact",
        json!({"LastName": "Moved", "AccountId": acct.to18()}),
    )
    .unwrap();
    create(
        &org,
        &c,
        "Contact",
        json!({"LastName": "Stays", "AccountId": acct.to18()}),
    )
    .unwrap();
    let ctx = org.query_context(None, "59.0", false);
    let (rows, _) = org
        .transaction(&c, forcebus_org::Mode::ALL_OR_NONE, |work| {
            work.apply(Op::Create {
                object: "Contact".into(),
                fields: map(json!({"LastName": "New", "AccountId": acct.to18()})),
            })
            .unwrap();
            work.apply(Op::Update {
                object: None,
                id: moved.to18(),
                fields: map(json!({"AccountId": other.to18()})),
            })
            .unwrap();
            let names = |q: &str| -> Vec<Value> {
                work.query(q, &ctx, &|_| true)
                    .unwrap()
                    .records
                    .iter()
                    .map(|r| r["LastName"].clone())
                    .collect()
            };
            let by_parent = names(&format!(
                "SELECT LastName FROM Contact WHERE AccountId = '{}' ORDER BY LastName",
                acct.to18()
            ));
            let by_other = names(&format!(
                "SELECT LastName FROM Contact WHERE AccountId = '{}'",
                other.to18()
            ));
            ((by_parent, by_other), false)
        })
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(rows.0, [json!("New"), json!("Stays")]);
    assert_eq!(rows.1, [json!("Moved")]);
}

#[test]
fn a_write_is_under_way_until_its_commit_is_waited_for_and_the_org_says_when_it_goes() {
    let (org, c) = org();
    assert!(!org.busy());
    let committing = org
        .execute(
            &c,
            vec![Op::Create {
                object: "Account".into(),
                fields: map(json!({"Name": "Busy"})),
            }],
            forcebus_org::Mode::ALL_OR_NONE,
        )
        .unwrap();
    assert!(org.busy(), "a commit not yet waited for is under way");
    assert!(!org.settle(std::time::Duration::from_millis(50)));
    committing.wait().unwrap();
    assert!(!org.busy());
    assert!(org.settle(std::time::Duration::ZERO));
    // A guard held elsewhere keeps it busy until dropped, and settle wakes then.
    let org = Arc::new(org);
    let underway = org.underway();
    let waiter = {
        let org = org.clone();
        std::thread::spawn(move || org.settle(std::time::Duration::from_secs(10)))
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    drop(underway);
    assert!(waiter.join().unwrap());
    // The org's close is heard once its last holder lets it go.
    let closed = org.on_close();
    assert_eq!(closed.try_recv(), Err(std::sync::mpsc::TryRecvError::Empty));
    drop(org);
    assert_eq!(
        closed.recv_timeout(std::time::Duration::from_secs(1)),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
    );
}

#[test]
fn a_username_watch_hears_the_users_of_the_org_after_each_change() {
    let (org, c) = org();
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let h = heard.clone();
    org.watch_usernames(move |names| h.lock().unwrap().push(names));
    assert_eq!(
        heard.lock().unwrap().last().unwrap(),
        &vec!["admin@example.com".to_owned()]
    );
    create(&org, &c, "Account", json!({"Name": "Not a user"})).unwrap();
    assert_eq!(heard.lock().unwrap().len(), 1, "no user changed");
    create(
        &org,
        &c,
        "User",
        json!({"Username": "New@Example.com", "LastName": "N", "Email": "n@example.com", "Alias": "n"}),
    )
    .unwrap();
    let last = heard.lock().unwrap().last().unwrap().clone();
    assert_eq!(last.len(), 2);
    assert!(last.contains(&"new@example.com".to_owned()), "{last:?}");
}

#[test]
fn each_object_numbers_its_records_and_goes_on_after_reopening() {
    let dir = std::env::temp_dir().join(format!("fb-org-numbers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let number = |org: &Org, id: RecordId, field: &str| {
        org.get(id).unwrap().get(field).as_str().unwrap().to_owned()
    };
    {
        let org = open(Arc::new(SqliteStore::open(&dir, Durability::Full).unwrap()));
        let c = caller(&org);
        let first = create(&org, &c, "Case", json!({"Subject": "One"})).unwrap();
        let account = create(&org, &c, "Account", json!({"Name": "A"})).unwrap();
        let contract = create(
            &org,
            &c,
            "Contract",
            json!({"AccountId": account.to18(), "Status": "Draft", "StartDate": "2024-05-01", "ContractTerm": 12}),
        )
        .unwrap();
        let second = create(&org, &c, "Case", json!({"Subject": "Two"})).unwrap();
        assert_eq!(number(&org, first, "CaseNumber"), "00000001");
        assert_eq!(
            number(&org, contract, "ContractNumber"),
            "00000001",
            "a sequence of its own"
        );
        assert_eq!(number(&org, second, "CaseNumber"), "00000002");
    }
    let org = open(Arc::new(SqliteStore::open(&dir, Durability::Full).unwrap()));
    let c = caller(&org);
    let third = create(&org, &c, "Case", json!({"Subject": "Three"})).unwrap();
    assert_eq!(number(&org, third, "CaseNumber"), "00000003");
    std::fs::remove_dir_all(&dir).unwrap();
}
