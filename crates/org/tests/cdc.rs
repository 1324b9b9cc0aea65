//! Change Data Capture through the org: the events each operation produces, committed with
//! the records in one storage transaction.

use std::collections::BTreeMap;
use std::sync::Arc;

use forcebus_events::change::ChangeEvent;
use forcebus_meta::standard;
use forcebus_org::cdc::CdcConfig;
use forcebus_org::custom::ObjectConfig;
use forcebus_org::{Api, Caller, ManualClock, Op, Org, OrgOptions, Schema, TxnResult, UserSeed};
use forcebus_store::{Durability, SqliteStore, Store};
use serde_json::{Map, Value, json};

fn schema() -> Schema {
    let mut s = Schema::new(
        standard::catalogue()
            .into_iter()
            .chain(standard::tooling_catalogue())
            .collect(),
    );
    let objects: BTreeMap<String, ObjectConfig> = serde_json::from_value(json!({
        "Account": {"fields": [{"name": "Ext__c", "type": "string", "external_id": true}]},
        "Invoice__c": {"label": "Invoice", "fields": [
            {"name": "Account__c", "type": "reference", "reference_to": "Account", "master_detail": true},
            {"name": "Total__c", "type": "currency", "precision": 16, "scale": 2},
        ]},
    }))
    .unwrap();
    forcebus_org::custom::apply(&mut s, &objects).unwrap();
    s
}

fn open_with(store: Arc<dyn Store>, cdc: CdcConfig) -> (Org, Caller) {
    let clock = Arc::new(ManualClock::new("2024-05-02T08:55:27Z".parse().unwrap()));
    let seed = UserSeed {
        username: "admin@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Admin".into(),
        email: "admin@example.com".into(),
        profile: None,
        permission_sets: Vec::new(),
    };
    let org = Org::open_with(
        store,
        schema(),
        clock,
        "T",
        &[seed],
        OrgOptions {
            cdc,
            ..Default::default()
        },
    )
    .unwrap();
    let user = org.user_by_username("admin@example.com").unwrap().id;
    let caller = Caller {
        user_id: user,
        api: Api::Rest,
        version: "59.0".into(),
        client: Some("etl-sync".into()),
    };
    (org, caller)
}

fn org() -> (Org, Caller) {
    open_with(
        Arc::new(SqliteStore::in_memory().unwrap()),
        CdcConfig::default(),
    )
}

fn map(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn run(org: &Org, c: &Caller, ops: Vec<Op>) -> (TxnResult, Vec<ChangeEvent>) {
    let r = org
        .execute(c, ops, forcebus_org::Mode::ALL_OR_NONE)
        .unwrap()
        .wait()
        .unwrap();
    let events = r.committed.as_ref().map_or_else(Vec::new, |c| {
        c.events
            .iter()
            .map(|e| serde_json::from_slice(&e.payload).unwrap())
            .collect()
    });
    (r, events)
}

fn create(object: &str, fields: Value) -> Op {
    Op::Create {
        object: object.into(),
        fields: map(fields),
    }
}

#[test]
fn account_create_update_delete_undelete() {
    let (org, c) = org();
    let (r, ev) = run(
        &org,
        &c,
        vec![create(
            "Account",
            json!({"Name": "Acme", "Phone": "555", "BillingCity": "Paris", "BillingState": "IDF"}),
        )],
    );
    let id = r.results[0].as_ref().unwrap().id().to18();
    assert_eq!(ev.len(), 1);
    let e = &ev[0];
    let user = c.user_id.to18();
    let h = &e.header;
    assert_eq!(
        (
            h.entity_name.as_str(),
            h.change_type.as_str(),
            h.record_ids.clone()
        ),
        ("Account", "CREATE", vec![id.clone()])
    );
    assert_eq!(
        h.change_origin,
        "com/salesforce/api/rest/59.0;client=etl-sync"
    );
    assert_eq!(
        (
            h.sequence_number,
            h.commit_timestamp,
            h.commit_user.as_str()
        ),
        (1, 1714640127000, user.as_str())
    );
    assert!(h.changed_fields.is_empty() && h.nulled_fields.is_empty() && h.diff_fields.is_empty());
    let groups: Vec<usize> = h.transaction_key.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "UUID-shaped transaction key");
    assert_eq!(e.schema_id, org.change_schema_id("Account").unwrap());
    assert_eq!(
        Value::Object(e.fields.clone()),
        json!({
            "Name": "Acme",
            "BillingAddress": {"City": "Paris", "State": "IDF"},
            "Phone": "555",
            "OwnerId": user,
            "CreatedDate": "2024-05-02T08:55:27.000+0000",
            "CreatedById": user,
            "LastModifiedDate": "2024-05-02T08:55:27.000+0000",
            "LastModifiedById": user,
        }),
        "CREATE: every non-null field, compounds nested, no Id/IsDeleted/SystemModstamp"
    );
    let first_commit = h.commit_number;
    let (_, ev) = run(
        &org,
        &c,
        vec![Op::Update {
            object: None,
            id: id.clone(),
            fields: map(json!({"Phone": null, "BillingCity": "Lyon", "Name": "Acme SA"})),
        }],
    );
    let h = &ev[0].header;
    assert_eq!(h.change_type, "UPDATE");
    assert_eq!(
        h.changed_fields,
        ["Name", "BillingAddress.City", "Phone", "LastModifiedDate"]
    );
    assert_eq!(h.nulled_fields, ["Phone"]);
    assert!(h.commit_number > first_commit);
    assert_eq!(
        Value::Object(ev[0].fields.clone()),
        json!({"Name": "Acme SA", "BillingAddress": {"City": "Lyon"}, "Phone": null, "LastModifiedDate": "2024-05-02T08:55:27.000+0000"}),
        "UPDATE: changed fields plus LastModifiedDate; LastModifiedById only when it changes"
    );
    let (_, ev) = run(
        &org,
        &c,
        vec![Op::Delete {
            object: None,
            id: id.clone(),
        }],
    );
    assert_eq!(
        (ev[0].header.change_type.as_str(), ev[0].fields.len()),
        ("DELETE", 0)
    );
    let (_, ev) = run(&org, &c, vec![Op::Undelete { id: id.clone() }]);
    assert_eq!(ev[0].header.change_type, "UNDELETE");
    assert_eq!(ev[0].fields["Name"], "Acme SA");
    let (_, ev) = run(&org, &c, vec![Op::Purge { id: id.clone() }]);
    assert!(
        ev.is_empty(),
        "emptying the Recycle Bin emits nothing (and this record was live)"
    );
}

#[test]
fn contact_name_is_a_compound() {
    let (org, c) = org();
    let (r, ev) = run(
        &org,
        &c,
        vec![create(
            "Contact",
            json!({"FirstName": "Grace", "LastName": "Hopper", "Salutation": "Dr."}),
        )],
    );
    assert_eq!(
        ev[0].fields["Name"],
        json!({"Salutation": "Dr.", "FirstName": "Grace", "LastName": "Hopper"})
    );
    assert!(ev[0].fields.get("FirstName").is_none());
    let id = r.results[0].as_ref().unwrap().id().to18();
    let (_, ev) = run(
        &org,
        &c,
        vec![Op::Update {
            object: None,
            id,
            fields: map(json!({"LastName": "Murray"})),
        }],
    );
    assert_eq!(
        ev[0].header.changed_fields,
        ["Name.LastName", "LastModifiedDate"]
    );
    assert_eq!(ev[0].fields["Name"], json!({"LastName": "Murray"}));
}

#[test]
fn a_transaction_is_one_key_with_ordered_sequence_numbers() {
    let (org, c) = org();
    let (r, _) = run(&org, &c, vec![create("Account", json!({"Name": "Parent"}))]);
    let acct = r.results[0].as_ref().unwrap().id().to18();
    let ops = vec![
        create("Contact", json!({"LastName": "A", "AccountId": acct})),
        create(
            "Invoice__c",
            json!({"Name": "INV-1", "Account__c": acct, "Total__c": 10}),
        ),
        Op::Update {
            object: None,
            id: acct.clone(),
            fields: map(json!({"Phone": "1"})),
        },
    ];
    let (r, ev) = run(&org, &c, ops);
    // The contact brings its direct relationship with its account.
    assert_eq!(
        ev.iter()
            .map(|e| e.header.sequence_number)
            .collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert!(
        ev.iter()
            .all(|e| e.header.transaction_key == ev[0].header.transaction_key)
    );
    assert_eq!(
        (
            ev[1].header.entity_name.as_str(),
            ev[2].header.entity_name.as_str()
        ),
        ("AccountContactRelation", "Invoice__c")
    );
    let ids: Vec<u64> = r
        .committed
        .unwrap()
        .events
        .iter()
        .map(|e| e.replay_id)
        .collect();
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "contiguous replay ids"
    );
    assert_eq!(org.log().last_replay_id(), *ids.last().unwrap());
    // Insert then update of one record in one transaction: one CREATE with the end state.
    let ops = vec![
        Op::Upsert {
            object: "Account".into(),
            field: "Ext__c".into(),
            value: "K-1".into(),
            fields: map(json!({"Name": "New", "Fax": "2"})),
        },
        Op::Upsert {
            object: "Account".into(),
            field: "Ext__c".into(),
            value: "K-1".into(),
            fields: map(json!({"Fax": "3"})),
        },
    ];
    let (_, ev) = run(&org, &c, ops);
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (
            ev[0].header.change_type.as_str(),
            &ev[0].fields["Fax"],
            &ev[0].fields["Name"]
        ),
        ("CREATE", &json!("3"), &json!("New"))
    );
    // Deleting the parent cascades: child DELETE events in the same transaction (the
    // contact's relationship with the account too).
    let (_, ev) = run(
        &org,
        &c,
        vec![Op::Delete {
            object: None,
            id: acct,
        }],
    );
    let kinds: Vec<(&str, &str)> = ev
        .iter()
        .map(|e| (e.header.entity_name.as_str(), e.header.change_type.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Account", "DELETE"),
            ("AccountContactRelation", "DELETE"),
            ("Contact", "DELETE"),
            ("Invoice__c", "DELETE")
        ]
    );
}

#[test]
fn identical_changes_merge_into_one_event() {
    let (org, c) = org();
    let ops = (0..3)
        .map(|i| create("Account", json!({"Name": format!("A{i}")})))
        .collect();
    let (r, ev) = run(&org, &c, ops);
    assert_eq!(ev.len(), 3, "creates never merge");
    let ids: Vec<String> = r
        .results
        .iter()
        .map(|x| x.as_ref().unwrap().id().to18())
        .collect();
    let ops = ids
        .iter()
        .map(|id| Op::Update {
            object: None,
            id: id.clone(),
            fields: map(json!({"Industry": "Energy"})),
        })
        .collect();
    let (_, ev) = run(&org, &c, ops);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].header.record_ids, ids);
    let ops = vec![
        Op::Update {
            object: None,
            id: ids[0].clone(),
            fields: map(json!({"Industry": "Retail"})),
        },
        Op::Update {
            object: None,
            id: ids[1].clone(),
            fields: map(json!({"Industry": "Finance"})),
        },
    ];
    let (_, ev) = run(&org, &c, ops);
    assert_eq!(ev.len(), 2, "different values do not merge");
    let ops = ids
        .iter()
        .map(|id| Op::Delete {
            object: None,
            id: id.clone(),
        })
        .collect();
    let (_, ev) = run(&org, &c, ops);
    assert_eq!((ev.len(), ev[0].header.record_ids.len()), (1, 3));
    let (org, c) = open_with(
        Arc::new(SqliteStore::in_memory().unwrap()),
        CdcConfig {
            merge: false,
            ..Default::default()
        },
    );
    let ops = (0..2)
        .map(|i| create("Account", json!({"Name": format!("A{i}")})))
        .collect();
    let (r, _) = run(&org, &c, ops);
    let ops = r
        .results
        .iter()
        .map(|x| Op::Delete {
            object: None,
            id: x.as_ref().unwrap().id().to18(),
        })
        .collect();
    assert_eq!(run(&org, &c, ops).1.len(), 2, "merging can be turned off");
}

/// Declares the custom channel `<name>__chn` with a member for Account's change events,
/// `extra` (a filter, enriched fields) among the member's fields.
fn account_channel(org: &Org, c: &Caller, name: &str, extra: Value) {
    run(
        org,
        c,
        vec![create(
            "PlatformEventChannel",
            json!({"DeveloperName": name, "ChannelType": "data", "MasterLabel": name}),
        )],
    );
    let mut member = json!({"DeveloperName": format!("{name}_chn_AccountChangeEvent"), "EventChannel": format!("{name}__chn"), "SelectedEntity": "AccountChangeEvent"});
    member
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    run(org, c, vec![create("PlatformEventChannelMember", member)]);
}

/// Updates merge only when every channel sees them the same: a change a member's filter
/// lets through, or whose enriched values differ, keeps an event of its own (merged into
/// the first record's event, it went where that record's went, with its values).
#[test]
fn merged_changes_keep_their_own_channels_and_enrichment() {
    let (org, c) = org();
    account_channel(
        &org,
        &c,
        "Farms",
        json!({"FilterExpression": "Industry = 'Agriculture'"}),
    );
    let (r, _) = run(
        &org,
        &c,
        [
            ("A0", "Agriculture"),
            ("A1", "Agriculture"),
            ("A2", "Energy"),
        ]
        .iter()
        .map(|(name, industry)| create("Account", json!({"Name": name, "Industry": industry})))
        .collect(),
    );
    let ids: Vec<String> = r
        .results
        .iter()
        .map(|x| x.as_ref().unwrap().id().to18())
        .collect();
    let phone = |p: &str| -> Vec<Op> {
        ids.iter()
            .map(|id| Op::Update {
                object: None,
                id: id.clone(),
                fields: map(json!({"Phone": p})),
            })
            .collect()
    };
    let (_, ev) = run(&org, &c, phone("555"));
    let routed: Vec<(Vec<String>, Vec<String>)> = ev
        .iter()
        .map(|e| (e.header.record_ids.clone(), e.channels.clone()))
        .collect();
    assert_eq!(
        routed,
        [
            (ids[..2].to_vec(), vec!["Farms__chn".to_owned()]),
            (ids[2..].to_vec(), vec![]),
        ],
        "the farms merge; the record the filter stops is not carried onto its channel"
    );
    account_channel(&org, &c, "Named", json!({"EnrichedFields": "[\"Name\"]"}));
    let (_, ev) = run(&org, &c, phone("556"));
    let named: Vec<(Vec<String>, Value)> = ev
        .iter()
        .map(|e| {
            (
                e.header.record_ids.clone(),
                e.enriched["Named__chn"]["Name"].clone(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            (ids[..1].to_vec(), json!("A0")),
            (ids[1..2].to_vec(), json!("A1")),
            (ids[2..].to_vec(), json!("A2")),
        ],
        "each record's own enriched values"
    );
}

/// Overflow gaps reach custom channels as injected gaps do: those whose member of the
/// entity has no filter. An oversized event's gap goes where its change passed, and
/// carries no record data: no enriched values, no diffed fields.
#[test]
fn gaps_reach_the_custom_channels_without_a_filter() {
    let (org, c) = open_with(
        Arc::new(SqliteStore::in_memory().unwrap()),
        CdcConfig {
            overflow_threshold: 5,
            max_event_bytes: 2000,
            ..Default::default()
        },
    );
    account_channel(&org, &c, "All", json!({"EnrichedFields": "[\"Name\"]"}));
    account_channel(
        &org,
        &c,
        "Farms",
        json!({"FilterExpression": "Industry = 'Agriculture'"}),
    );
    let (r, ev) = run(
        &org,
        &c,
        (0..6)
            .map(|i| {
                create(
                    "Account",
                    json!({"Name": format!("A{i}"), "Industry": "Agriculture"}),
                )
            })
            .collect(),
    );
    let routed: Vec<(&str, Vec<String>)> = ev
        .iter()
        .map(|e| (e.header.change_type.as_str(), e.channels.clone()))
        .collect();
    let both = vec!["All__chn".to_owned(), "Farms__chn".to_owned()];
    assert_eq!(routed.len(), 6);
    assert_eq!(routed[0], ("CREATE", both));
    assert_eq!(routed[5], ("GAP_OVERFLOW", vec!["All__chn".to_owned()]));
    let id = r.results[0].as_ref().unwrap().id().to18();
    let describe = |text: String| {
        run(
            &org,
            &c,
            vec![Op::Update {
                object: None,
                id: id.clone(),
                fields: map(json!({ "Description": text })),
            }],
        )
        .1
    };
    // Forty lines, then nine of them changed: a diff of about 2,800 bytes.
    let lines = |changed: usize| -> String {
        (0..40)
            .map(|i| format!("{}{}", if i < changed { "b" } else { "a" }, "x".repeat(299)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    describe(lines(0));
    let ev = describe(lines(9));
    assert_eq!(ev[0].header.change_type, "GAP_UPDATE");
    assert_eq!(
        ev[0].channels,
        ["All__chn", "Farms__chn"],
        "its record passed both"
    );
    assert!(ev[0].enriched.is_empty(), "no record data in a gap");
    assert!(ev[0].header.diff_fields.is_empty(), "nor diffed fields");
    // A bulk load's gaps go where overflow gaps go.
    let r = org
        .execute(
            &c,
            (0..2)
                .map(|i| {
                    create(
                        "Account",
                        json!({"Name": format!("B{i}"), "Industry": "Agriculture"}),
                    )
                })
                .collect(),
            forcebus_org::Mode {
                bulk_load: true,
                ..forcebus_org::Mode::ALL_OR_NONE
            },
        )
        .unwrap()
        .wait()
        .unwrap();
    let ev: Vec<ChangeEvent> = r
        .committed
        .as_ref()
        .unwrap()
        .events
        .iter()
        .map(|e| serde_json::from_slice(&e.payload).unwrap())
        .collect();
    let routed: Vec<(&str, usize, Vec<String>)> = ev
        .iter()
        .map(|e| {
            (
                e.header.change_type.as_str(),
                e.header.record_ids.len(),
                e.channels.clone(),
            )
        })
        .collect();
    assert_eq!(routed, [("GAP_CREATE", 2, vec!["All__chn".to_owned()])]);
}

#[test]
fn overflow_and_oversized_events_become_gaps() {
    let (org, c) = open_with(
        Arc::new(SqliteStore::in_memory().unwrap()),
        CdcConfig {
            overflow_threshold: 3,
            max_event_bytes: 2000,
            ..Default::default()
        },
    );
    let mut ops: Vec<Op> = (0..4)
        .map(|i| create("Account", json!({"Name": format!("A{i}")})))
        .collect();
    ops.push(create("Contact", json!({"LastName": "C"})));
    ops.push(create("Contact", json!({"LastName": "D"})));
    let (_, ev) = run(&org, &c, ops);
    let kinds: Vec<(&str, &str)> = ev
        .iter()
        .map(|e| (e.header.entity_name.as_str(), e.header.change_type.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Account", "CREATE"),
            ("Account", "CREATE"),
            ("Account", "CREATE"),
            ("Account", "GAP_OVERFLOW"),
            ("Contact", "GAP_OVERFLOW")
        ]
    );
    assert_eq!(ev[3].header.record_ids, ["000000000000000AAA"]);
    assert!(ev[3].fields.is_empty());
    let (_, ev) = run(
        &org,
        &c,
        vec![create(
            "Account",
            json!({"Name": "Big", "Description": "x".repeat(3000)}),
        )],
    );
    assert_eq!(ev[0].header.change_type, "GAP_CREATE");
    assert!(ev[0].fields.is_empty());
    assert_eq!(
        ev[0].header.record_ids.len(),
        1,
        "gaps keep the real record ids"
    );
}

#[test]
fn events_commit_with_their_records_and_survive_restarts() {
    let dir = std::env::temp_dir().join(format!("fb-cdc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let open = || {
        open_with(
            Arc::new(SqliteStore::open(&dir, Durability::Full).unwrap()),
            CdcConfig::default(),
        )
    };
    let last = {
        let (org, c) = open();
        run(
            &org,
            &c,
            vec![create("Account", json!({"Name": "Durable"}))],
        );
        // A failed transaction (all or none) appends nothing.
        let (r, ev) = run(
            &org,
            &c,
            vec![
                create("Account", json!({"Name": "ok"})),
                create("Account", json!({})),
            ],
        );
        assert!(r.committed.is_none() && ev.is_empty());
        org.log().last_replay_id()
    };
    let (org, c) = open();
    assert_eq!(org.log().last_replay_id(), last);
    let (r, _) = run(&org, &c, vec![create("Account", json!({"Name": "After"}))]);
    assert_eq!(
        r.committed.unwrap().events[0].replay_id,
        last + 1,
        "replay ids continue, never reused"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_avro_form_decodes_to_the_worked_example() {
    use forcebus_avro::change::{change_event_schema, names_from_bitmap};
    let (org, c) = org();
    let (r, _) = run(
        &org,
        &c,
        vec![create(
            "Account",
            json!({"Name": "Acme", "Phone": "555", "BillingCity": "Paris", "NumberOfEmployees": 5}),
        )],
    );
    let id = r.results[0].as_ref().unwrap().id().to18();
    let metadata = org.schema();
    let account = metadata.object("Account").unwrap();
    let schema = change_event_schema(account);
    let (_, ev) = run(
        &org,
        &c,
        vec![Op::Update {
            object: None,
            id: id.clone(),
            fields: map(json!({"Name": "Acme SA", "Phone": "555-0100"})),
        }],
    );
    let bytes = forcebus_events::change::to_avro(&ev[0], &schema);
    let decoded = forcebus_avro::to_json(&schema, &forcebus_avro::decode(&schema, &bytes).unwrap());
    let h = &decoded["ChangeEventHeader"];
    assert_eq!(h["changeType"], "UPDATE");
    assert_eq!(h["changedFields"], json!(["0x400042"]));
    assert_eq!(h["nulledFields"], json!([]));
    assert_eq!(h["diffFields"], json!([]));
    assert_eq!(h["recordIds"], json!([id]));
    assert_eq!(h["commitTimestamp"], 1714640127000i64);
    assert_eq!(
        names_from_bitmap(schema.as_record().unwrap(), &["0x400042".to_owned()]),
        ["Name", "Phone", "LastModifiedDate"]
    );
    assert_eq!(
        (decoded["Name"].as_str(), decoded["Phone"].as_str()),
        (Some("Acme SA"), Some("555-0100"))
    );
    assert_eq!(
        decoded["LastModifiedDate"], 1714640127000i64,
        "datetimes are epoch milliseconds"
    );
    assert_eq!(
        (
            &decoded["Fax"],
            &decoded["BillingAddress"],
            &decoded["NumberOfEmployees"]
        ),
        (&Value::Null, &Value::Null, &Value::Null),
        "unchanged fields are null"
    );
    let (_, ev) = run(
        &org,
        &c,
        vec![Op::Update {
            object: None,
            id: id.clone(),
            fields: map(json!({"BillingCity": "Lyon", "BillingStreet": null, "Phone": null})),
        }],
    );
    let decoded = forcebus_avro::to_json(
        &schema,
        &forcebus_avro::decode(&schema, &forcebus_events::change::to_avro(&ev[0], &schema))
            .unwrap(),
    );
    assert_eq!(
        decoded["ChangeEventHeader"]["changedFields"],
        json!(["0x400040", "4-0x02"])
    );
    assert_eq!(
        decoded["ChangeEventHeader"]["nulledFields"],
        json!(["0x40"])
    );
    assert_eq!(decoded["BillingAddress"]["City"], "Lyon");
    // CREATE carries every value, in its Avro type.
    let (_, ev) = run(
        &org,
        &c,
        vec![create(
            "Opportunity",
            json!({"Name": "Deal", "StageName": "Prospecting", "CloseDate": "1970-01-11", "Amount": 12.5}),
        )],
    );
    let opp = change_event_schema(org.schema().object("Opportunity").unwrap());
    let decoded = forcebus_avro::to_json(
        &opp,
        &forcebus_avro::decode(&opp, &forcebus_events::change::to_avro(&ev[0], &opp)).unwrap(),
    );
    assert_eq!(
        (
            decoded["CloseDate"].as_i64(),
            decoded["Amount"].as_f64(),
            decoded["Probability"].as_f64()
        ),
        (Some(10), Some(12.5), Some(10.0))
    );
    assert_eq!(decoded["ChangeEventHeader"]["changedFields"], json!([]));
}

#[test]
fn long_text_updates_travel_as_diffs() {
    let (org, c) = org();
    let long: String = (0..40)
        .map(|i| format!("paragraph {i:02}: the quick brown fox jumps over the lazy dog"))
        .collect::<Vec<_>>()
        .join("\n");
    let (r, _) = run(
        &org,
        &c,
        vec![create(
            "Account",
            json!({"Name": "Text", "Description": long}),
        )],
    );
    let id = r.results[0].as_ref().unwrap().id().to18();
    let edited = long.replace("paragraph 07: the quick", "paragraph 07: the slow");
    let (_, ev) = run(
        &org,
        &c,
        vec![Op::Update {
            object: None,
            id: id.clone(),
            fields: map(json!({"Description": edited})),
        }],
    );
    let h = &ev[0].header;
    assert_eq!(h.diff_fields, ["Description"]);
    assert_eq!(h.changed_fields, ["Description", "LastModifiedDate"]);
    let d = ev[0].fields["Description"].as_str().unwrap();
    assert!(
        d.starts_with("--- \n+++ ") && d.contains("\n@@ -8,1 +8,1 @@\n-paragraph 07: the quick"),
        "{d}"
    );
    let schema =
        forcebus_avro::change::change_event_schema(org.schema().object("Account").unwrap());
    let decoded = forcebus_avro::to_json(
        &schema,
        &forcebus_avro::decode(&schema, &forcebus_events::change::to_avro(&ev[0], &schema))
            .unwrap(),
    );
    let diff_names = forcebus_avro::change::names_from_bitmap(
        schema.as_record().unwrap(),
        &serde_json::from_value::<Vec<String>>(decoded["ChangeEventHeader"]["diffFields"].clone())
            .unwrap(),
    );
    assert_eq!(diff_names, ["Description"]);
    assert_eq!(
        decoded["Description"].as_str(),
        Some(d),
        "Pub/Sub carries the diff text in the field"
    );
    let (_, ev) = run(
        &org,
        &c,
        vec![Op::Update {
            object: None,
            id,
            fields: map(json!({"Description": "short now"})),
        }],
    );
    assert!(ev[0].header.diff_fields.is_empty());
    assert_eq!(ev[0].fields["Description"], "short now");
}

#[test]
fn golden_cometd_json_forms() {
    let (org, c) = org();
    let metadata = org.schema();
    let account = metadata.object("Account").unwrap();
    let user = c.user_id.to18();
    let (r, ev) = run(
        &org,
        &c,
        vec![create(
            "Account",
            json!({"Name": "Acme", "BillingCity": "Paris", "NumberOfEmployees": 5}),
        )],
    );
    let id = r.results[0].as_ref().unwrap().id().to18();
    let key = ev[0].header.transaction_key.clone();
    let commit = ev[0].header.commit_number;
    assert_eq!(
        forcebus_events::change::cometd_payload(&ev[0], account),
        json!({
            "ChangeEventHeader": {
                "entityName": "Account", "recordIds": [id], "changeType": "CREATE", "changedFields": [],
                "changeOrigin": "com/salesforce/api/rest/59.0;client=etl-sync", "transactionKey": key,
                "sequenceNumber": 1, "commitTimestamp": 1714640127000i64, "commitNumber": commit, "commitUser": user,
            },
            "Name": "Acme",
            "BillingAddress": {"City": "Paris"},
            "NumberOfEmployees": 5,
            "OwnerId": user,
            "CreatedDate": "2024-05-02T08:55:27.000Z",
            "CreatedById": user,
            "LastModifiedDate": "2024-05-02T08:55:27.000Z",
            "LastModifiedById": user,
        })
    );
    let (_, ev) = run(
        &org,
        &c,
        vec![Op::Update {
            object: None,
            id: id.clone(),
            fields: map(json!({"Phone": "+1 555 0100", "BillingCity": null})),
        }],
    );
    let payload = forcebus_events::change::cometd_payload(&ev[0], account);
    assert_eq!(
        payload["ChangeEventHeader"]["changedFields"],
        json!(["BillingAddress.City", "Phone", "LastModifiedDate"])
    );
    assert!(
        payload["ChangeEventHeader"].get("nulledFields").is_none()
            && payload["ChangeEventHeader"].get("diffFields").is_none()
    );
    let body: Vec<&str> = payload
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        body,
        [
            "ChangeEventHeader",
            "BillingAddress",
            "Phone",
            "LastModifiedDate"
        ]
    );
    assert_eq!(
        payload["BillingAddress"],
        json!({"City": null}),
        "a part set to null is shown as null, like any field"
    );
    let (_, ev) = run(&org, &c, vec![Op::Delete { object: None, id }]);
    let payload = forcebus_events::change::cometd_payload(&ev[0], account);
    assert_eq!(payload.as_object().unwrap().len(), 1, "DELETE: header only");
}

#[test]
fn entity_selection_and_channels() {
    let cdc = CdcConfig {
        entities: Some(vec!["account".into(), "Invoice__c".into()]),
        ..Default::default()
    };
    let (org, c) = open_with(Arc::new(SqliteStore::in_memory().unwrap()), cdc);
    let (_, ev) = run(
        &org,
        &c,
        vec![
            create("Account", json!({"Name": "A"})),
            create("Contact", json!({"LastName": "C"})),
        ],
    );
    assert_eq!(
        ev.iter()
            .map(|e| e.header.entity_name.as_str())
            .collect::<Vec<_>>(),
        ["Account"],
        "Contact is not selected"
    );
    let all = org.change_channel("/data/ChangeEvents").unwrap();
    assert_eq!(
        all.kinds,
        [
            "AccountChangeEvent".to_owned(),
            "Invoice__ChangeEvent".to_owned()
        ]
        .into()
    );
    assert_eq!(
        org.change_channel("/data/Invoice__ChangeEvent")
            .unwrap()
            .kinds
            .len(),
        1
    );
    assert!(
        org.change_channel("/data/ContactChangeEvent").is_none(),
        "not selected"
    );
    assert!(org.change_channel("/data/NopeChangeEvent").is_none());
    assert!(org.change_channel("/event/Foo__e").is_none());
    let mut cursor = org
        .log()
        .subscribe(all, forcebus_eventlog::Start::Earliest)
        .unwrap();
    assert_eq!(cursor.poll(10).unwrap().len(), 1);
}

#[test]
fn retention_expires_events_and_old_positions_are_refused() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let clock = Arc::new(ManualClock::new("2024-05-02T08:55:27Z".parse().unwrap()));
    let seed = UserSeed {
        username: "admin@example.com".into(),
        first_name: "A".into(),
        last_name: "B".into(),
        email: "admin@example.com".into(),
        profile: None,
        permission_sets: Vec::new(),
    };
    let org = Org::open(store, schema(), clock.clone(), "T", &[seed]).unwrap();
    let user = org.user_by_username("admin@example.com").unwrap().id;
    let c = Caller {
        user_id: user,
        api: Api::Rest,
        version: "59.0".into(),
        client: None,
    };
    let (r, _) = run(&org, &c, vec![create("Account", json!({"Name": "Old"}))]);
    let old = r.committed.unwrap().events[0].replay_id;
    clock.advance(chrono::Duration::hours(71));
    let (r, _) = run(&org, &c, vec![create("Account", json!({"Name": "New"}))]);
    let new = r.committed.unwrap().events[0].replay_id;
    let channel = || org.change_channel("/data/AccountChangeEvent").unwrap();
    clock.advance(chrono::Duration::hours(2));
    assert_eq!(
        org.log()
            .expire(org.clock().now().timestamp_millis())
            .unwrap(),
        2,
        "the seed user's CREATE and the old account, both past 72 hours"
    );
    let err = org
        .log()
        .subscribe(channel(), forcebus_eventlog::Start::After(old - 1))
        .unwrap_err();
    assert!(
        matches!(err, forcebus_eventlog::LogError::Expired { .. }),
        "{err}"
    );
    let mut cursor = org
        .log()
        .subscribe(channel(), forcebus_eventlog::Start::Earliest)
        .unwrap();
    assert_eq!(
        cursor
            .poll(10)
            .unwrap()
            .iter()
            .map(|e| e.replay_id)
            .collect::<Vec<_>>(),
        [new]
    );
}

#[test]
fn the_first_user_creates_itself() {
    let (org, c) = org();
    let mut cursor = org
        .log()
        .subscribe(
            org.change_channel("/data/UserChangeEvent").unwrap(),
            forcebus_eventlog::Start::Earliest,
        )
        .unwrap();
    let events = cursor.poll(10).unwrap();
    let e: ChangeEvent = serde_json::from_slice(&events[0].payload).unwrap();
    let me = c.user_id.to18();
    assert_eq!(e.header.record_ids, std::slice::from_ref(&me));
    assert_eq!(e.header.commit_user, me);
    assert_eq!(
        (
            e.fields["CreatedById"].as_str(),
            e.fields["LastModifiedById"].as_str()
        ),
        (Some(me.as_str()), Some(me.as_str()))
    );
    assert!(e.fields.get("OwnerId").is_none(), "User has no owner");
}

/// A custom channel's subscriber gets the events of members added after it subscribed.
#[test]
fn a_member_added_after_a_subscription_routes_its_events_to_it() {
    let (org, c) = org();
    run(
        &org,
        &c,
        vec![create(
            "PlatformEventChannel",
            json!({"DeveloperName": "Sales", "ChannelType": "data", "MasterLabel": "Sales"}),
        )],
    );
    let channel = org
        .change_channel("/data/Sales__chn")
        .expect("a declared channel");
    let mut cursor = org
        .log()
        .subscribe(channel, forcebus_eventlog::Start::Latest)
        .unwrap();
    run(
        &org,
        &c,
        vec![create(
            "PlatformEventChannelMember",
            json!({"DeveloperName": "Sales_chn_ContactChangeEvent", "EventChannel": "Sales__chn", "SelectedEntity": "ContactChangeEvent"}),
        )],
    );
    run(
        &org,
        &c,
        vec![create("Account", json!({"Name": "Not a member"}))],
    );
    run(
        &org,
        &c,
        vec![create("Contact", json!({"LastName": "Late"}))],
    );
    let events = cursor.poll(10).unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["ContactChangeEvent"],
        "only the member's entity, live"
    );
}
