//! The org's formulas: formula fields computed on every read (their own object's fields,
//! a parent's, the running user's), never written, never stored; validation rules run on
//! every write, each broken rule an error of its own, a refused write changing nothing;
//! the test control that turns them off.

use std::collections::BTreeMap;
use std::sync::Arc;

use forcebus_meta::standard;
use forcebus_org::custom::ObjectConfig;
use forcebus_org::{Api, Caller, Code, Mode, Op, Org, Schema, SystemClock, UserSeed};
use forcebus_store::{SqliteStore, Store};
use serde_json::{Value, json};

/// An org whose schema is the catalogue plus `objects` (the config file's form).
fn org_with(objects: Value) -> (Org, Caller) {
    org_at(objects, Arc::new(SystemClock))
}

/// [`org_with`] on `clock`.
fn org_at(objects: Value, clock: Arc<dyn forcebus_org::Clock>) -> (Org, Caller) {
    let objects: BTreeMap<String, ObjectConfig> = serde_json::from_value(objects).unwrap();
    let mut schema = Schema::new(standard::catalogue());
    forcebus_org::custom::apply(&mut schema, &objects).unwrap();
    let problems = forcebus_org::formulas::Formulas::of(Arc::new(schema.clone()));
    assert_eq!(problems.problems(), &[], "the test's formulas compile");
    let seed = UserSeed {
        username: "a@b.c".into(),
        first_name: "Ada".into(),
        last_name: "B".into(),
        email: "ada@b.c".into(),
        profile: None,
        permission_sets: Vec::new(),
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let org = Org::open(store, schema, clock, "T", &[seed]).unwrap();
    let caller = Caller {
        user_id: org.user_by_username("a@b.c").unwrap().id,
        api: Api::Rest,
        version: "62.0".into(),
        client: None,
    };
    (org, caller)
}

fn create(
    org: &Org,
    c: &Caller,
    object: &str,
    fields: Value,
) -> Result<String, forcebus_org::OrgError> {
    let r = org
        .execute(
            c,
            vec![Op::Create {
                object: object.into(),
                fields: fields.as_object().unwrap().clone(),
            }],
            Mode::ALL_OR_NONE,
        )
        .unwrap()
        .wait()
        .unwrap();
    r.results[0]
        .as_ref()
        .map(|o| o.id().to18())
        .map_err(Clone::clone)
}

fn query(org: &Org, soql: &str) -> Vec<Value> {
    org.query(soql, "62.0", false, &|_| true).unwrap().records
}

fn accounts() -> Value {
    json!({
        "Account": {"fields": [
            {"name": "Score__c", "type": "double", "precision": 18, "scale": 2},
            {"name": "Health__c", "type": "string", "formula": "IF(Score__c > 50, \"Good\", \"Poor\")"},
            {"name": "Twice__c", "type": "double", "precision": 18, "scale": 1, "formula": "Score__c * 2"}
        ]},
        "Contact": {"fields": [
            {"name": "Account_Health__c", "type": "string", "formula": "Account.Health__c & \" for \" & $User.Email"}
        ]},
        "Opportunity": {"validation_rules": [
            {"name": "Amount_Positive", "condition": "Amount < 0", "message": "Amount must be positive", "display_field": "Amount"},
            {"name": "Amount_Sane", "condition": "Amount < -100", "message": "Amount is far too small"}
        ]}
    })
}

#[test]
fn formula_fields_are_computed_on_every_read() {
    let (org, c) = org_with(accounts());
    let acme = create(&org, &c, "Account", json!({"Name": "Acme", "Score__c": 70})).unwrap();
    create(&org, &c, "Account", json!({"Name": "Beta", "Score__c": 20})).unwrap();
    create(
        &org,
        &c,
        "Contact",
        json!({"LastName": "Smith", "AccountId": acme}),
    )
    .unwrap();
    let rows = query(
        &org,
        "SELECT Name, Health__c, Twice__c FROM Account WHERE Health__c = 'Good' ORDER BY Twice__c",
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["Health__c"], "Good");
    assert_eq!(rows[0]["Twice__c"], 140.0);
    let rows = query(
        &org,
        "SELECT Account_Health__c, Account.Health__c FROM Contact",
    );
    assert_eq!(rows[0]["Account_Health__c"], "Good for ada@b.c");
    assert_eq!(rows[0]["Account"]["Health__c"], "Good");
    // A parent's change shows at once in its children's formulas: nothing is stored.
    org.execute(
        &c,
        vec![Op::Update {
            object: Some("Account".into()),
            id: acme.clone(),
            fields: json!({"Score__c": 10}).as_object().unwrap().clone(),
        }],
        Mode::ALL_OR_NONE,
    )
    .unwrap()
    .wait()
    .unwrap();
    let rows = query(&org, "SELECT Account_Health__c FROM Contact");
    assert_eq!(rows[0]["Account_Health__c"], "Poor for ada@b.c");
    let stored = org
        .get(forcebus_org::RecordId::parse(&acme).unwrap())
        .unwrap();
    assert!(
        stored.get("Health__c").is_null(),
        "formula values are never stored"
    );
}

#[test]
fn writing_a_formula_field_is_refused() {
    let (org, c) = org_with(accounts());
    let e = create(
        &org,
        &c,
        "Account",
        json!({"Name": "X", "Health__c": "Good"}),
    )
    .unwrap_err();
    assert_eq!(e.code, Code::InvalidFieldForInsertUpdate);
    assert_eq!(e.fields, ["Health__c"]);
}

#[test]
fn every_broken_validation_rule_is_an_error_and_nothing_is_written() {
    let (org, c) = org_with(accounts());
    let opp =
        json!({"Name": "O", "StageName": "Prospecting", "CloseDate": "2026-12-01", "Amount": -500});
    let e = create(&org, &c, "Opportunity", opp.clone()).unwrap_err();
    assert_eq!(e.code, Code::FieldCustomValidationException);
    assert_eq!(e.message, "Amount must be positive");
    assert_eq!(e.fields, ["Amount"]);
    assert_eq!(e.also.len(), 1);
    assert_eq!(e.also[0].message, "Amount is far too small");
    assert!(e.also[0].fields.is_empty());
    assert!(query(&org, "SELECT Id FROM Opportunity").is_empty());
    // One rule broken: one error.
    let mut small = opp.clone();
    small["Amount"] = json!(-5);
    let e = create(&org, &c, "Opportunity", small).unwrap_err();
    assert!(e.also.is_empty());
    // Fine records pass; an update that breaks a rule is refused and changes nothing.
    let mut fine = opp.clone();
    fine["Amount"] = json!(5);
    let id = create(&org, &c, "Opportunity", fine).unwrap();
    let r = org
        .execute(
            &c,
            vec![Op::Update {
                object: Some("Opportunity".into()),
                id: id.clone(),
                fields: json!({"Amount": -1}).as_object().unwrap().clone(),
            }],
            Mode::ALL_OR_NONE,
        )
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(
        r.results[0].as_ref().unwrap_err().code,
        Code::FieldCustomValidationException
    );
    assert_eq!(
        query(&org, "SELECT Amount FROM Opportunity")[0]["Amount"],
        5.0
    );
}

#[test]
fn the_test_control_turns_validation_rules_off_and_on() {
    let (org, c) = org_with(accounts());
    let opp =
        json!({"Name": "O", "StageName": "Prospecting", "CloseDate": "2026-12-01", "Amount": -500});
    org.controls().set_validation_rules_off(true);
    assert!(org.control_state().active.contains(&"rules.validation_off"));
    create(&org, &c, "Opportunity", opp.clone()).unwrap();
    org.clear_controls().unwrap();
    assert!(create(&org, &c, "Opportunity", opp).is_err());
}

fn rollups() -> Value {
    json!({
        "Project__c": {"label": "Project", "fields": [
            {"name": "Budget__c", "type": "currency", "precision": 16, "scale": 2},
            {"name": "Tasks__c", "type": "double", "summary": {"operation": "count", "foreign_key": "Task__c.Project__c"}},
            {"name": "Open_Hours__c", "type": "double", "summary": {"operation": "sum", "foreign_key": "Task__c.Project__c",
                "summarized_field": "Task__c.Hours__c",
                "filters": [{"field": "Task__c.Status__c", "operation": "equals", "value": "Open,Blocked"}]}},
            {"name": "First_Due__c", "type": "double", "summary": {"operation": "min", "foreign_key": "Task__c.Project__c", "summarized_field": "Task__c.Due__c"}},
            {"name": "Over_Budget__c", "type": "boolean", "formula": "Open_Hours__c * 100 > Budget__c"},
            {"name": "Stage__c", "type": "string", "length": 20, "default_formula": "IF(ISBLANK($User.Email), \"none\", \"New\")"},
            {"name": "Review__c", "type": "date", "default_formula": "TODAY() + 30"}
        ], "validation_rules": [
            {"name": "Not_Too_Many", "condition": "Tasks__c > 3", "message": "At most three tasks"}
        ]},
        "Task__c": {"label": "Task", "fields": [
            {"name": "Project__c", "type": "reference", "reference_to": "Project__c", "master_detail": true},
            {"name": "Hours__c", "type": "double", "precision": 6, "scale": 1},
            {"name": "Status__c", "type": "picklist", "picklist": ["Open", "Blocked", "Done"]},
            {"name": "Due__c", "type": "date"}
        ]}
    })
}

fn update(
    org: &Org,
    c: &Caller,
    object: &str,
    id: &str,
    fields: Value,
) -> Result<(), forcebus_org::OrgError> {
    let r = org
        .execute(
            c,
            vec![Op::Update {
                object: Some(object.into()),
                id: id.into(),
                fields: fields.as_object().unwrap().clone(),
            }],
            Mode::ALL_OR_NONE,
        )
        .unwrap()
        .wait()
        .unwrap();
    r.results[0].as_ref().map(|_| ()).map_err(Clone::clone)
}

#[test]
fn roll_up_summaries_follow_every_write_of_a_child() {
    let (org, c) = org_with(rollups());
    let p = create(
        &org,
        &c,
        "Project__c",
        json!({"Name": "P", "Budget__c": 1000}),
    )
    .unwrap();
    let q = create(
        &org,
        &c,
        "Project__c",
        json!({"Name": "Q", "Budget__c": 10}),
    )
    .unwrap();
    let project = |id: &str| {
        query(&org, &format!("SELECT Tasks__c, Open_Hours__c, First_Due__c, Over_Budget__c FROM Project__c WHERE Id = '{id}'"))[0].clone()
    };
    assert_eq!(project(&p)["Tasks__c"], 0.0, "a new parent counts zero");
    let t1 = create(
        &org,
        &c,
        "Task__c",
        json!({"Project__c": p, "Hours__c": 4, "Status__c": "Open", "Due__c": "2026-12-10"}),
    )
    .unwrap();
    let t2 = create(
        &org,
        &c,
        "Task__c",
        json!({"Project__c": p, "Hours__c": 2.5, "Status__c": "Blocked", "Due__c": "2026-12-05"}),
    )
    .unwrap();
    create(
        &org,
        &c,
        "Task__c",
        json!({"Project__c": p, "Hours__c": 100, "Status__c": "Done"}),
    )
    .unwrap();
    let got = project(&p);
    assert_eq!(got["Tasks__c"], 3.0);
    assert_eq!(
        got["Open_Hours__c"], 6.5,
        "the filter leaves the Done task out"
    );
    assert_eq!(got["First_Due__c"], "2026-12-05");
    assert_eq!(got["Over_Budget__c"], false, "650 is within 1000");
    // Update, reparent, delete and undelete each recompute the parents they touch.
    update(&org, &c, "Task__c", &t1, json!({"Hours__c": 10})).unwrap();
    assert_eq!(project(&p)["Open_Hours__c"], 12.5);
    assert_eq!(project(&p)["Over_Budget__c"], true);
    update(&org, &c, "Task__c", &t1, json!({"Project__c": q})).unwrap();
    assert_eq!(project(&p)["Tasks__c"], 2.0);
    assert_eq!(project(&q)["Tasks__c"], 1.0);
    assert_eq!(project(&q)["Open_Hours__c"], 10.0);
    org.execute(
        &c,
        vec![Op::Delete {
            object: Some("Task__c".into()),
            id: t1.clone(),
        }],
        Mode::ALL_OR_NONE,
    )
    .unwrap()
    .wait()
    .unwrap();
    assert_eq!(project(&q)["Tasks__c"], 0.0);
    org.execute(&c, vec![Op::Undelete { id: t1.clone() }], Mode::ALL_OR_NONE)
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(project(&q)["Tasks__c"], 1.0);
    // A minimum that loses its own value is worked out again from the children left.
    assert_eq!(project(&p)["First_Due__c"], "2026-12-05");
    org.execute(
        &c,
        vec![Op::Delete {
            object: Some("Task__c".into()),
            id: t2,
        }],
        Mode::ALL_OR_NONE,
    )
    .unwrap()
    .wait()
    .unwrap();
    assert_eq!(project(&p)["First_Due__c"], Value::Null);
    assert_eq!(project(&p)["Open_Hours__c"], 0.0);
}

#[test]
fn a_parents_validation_rules_see_its_roll_ups() {
    let (org, c) = org_with(rollups());
    let p = create(&org, &c, "Project__c", json!({"Name": "P"})).unwrap();
    for _ in 0..3 {
        create(&org, &c, "Task__c", json!({"Project__c": p, "Hours__c": 1})).unwrap();
    }
    let e = create(&org, &c, "Task__c", json!({"Project__c": p, "Hours__c": 1})).unwrap_err();
    assert_eq!(e.code, Code::FieldCustomValidationException);
    assert_eq!(e.message, "At most three tasks");
    assert_eq!(
        query(&org, "SELECT Id FROM Task__c").len(),
        3,
        "the refused child is not written"
    );
}

#[test]
fn default_value_formulas_fill_a_new_record() {
    let (org, c) = org_with(rollups());
    let p = create(&org, &c, "Project__c", json!({"Name": "P"})).unwrap();
    let row = &query(
        &org,
        &format!("SELECT Stage__c, Review__c FROM Project__c WHERE Id = '{p}'"),
    )[0];
    assert_eq!(row["Stage__c"], "New");
    // TODAY() is the running user's date: the seed user is in Los Angeles.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive();
    let want = (today + chrono::Duration::days(30)).to_string();
    assert_eq!(row["Review__c"], want.as_str());
    let q = create(
        &org,
        &c,
        "Project__c",
        json!({"Name": "Q", "Stage__c": "Given"}),
    )
    .unwrap();
    let row = &query(
        &org,
        &format!("SELECT Stage__c FROM Project__c WHERE Id = '{q}'"),
    )[0];
    assert_eq!(
        row["Stage__c"], "Given",
        "a value given wins over the default"
    );
}

#[test]
fn field_history_keeps_a_row_per_tracked_change() {
    let (org, c) = org_with(json!({
        "Account": {"enable_history": true, "fields": [
            {"name": "Tier__c", "type": "picklist", "picklist": ["Gold", "Silver"], "track_history": true},
            {"name": "Note__c", "type": "string", "length": 40}
        ]},
        "Gadget__c": {"label": "Gadget", "enable_history": true, "fields": [
            {"name": "Price__c", "type": "currency", "precision": 10, "scale": 2, "track_history": true}
        ]}
    }));
    let a = create(
        &org,
        &c,
        "Account",
        json!({"Name": "Acme", "Tier__c": "Silver"}),
    )
    .unwrap();
    update(
        &org,
        &c,
        "Account",
        &a,
        json!({"Tier__c": "Gold", "Note__c": "untracked"}),
    )
    .unwrap();
    update(
        &org,
        &c,
        "Account",
        &a,
        json!({"Note__c": "still untracked"}),
    )
    .unwrap();
    let rows = query(
        &org,
        "SELECT AccountId, Field, DataType, OldValue, NewValue, CreatedById FROM AccountHistory ORDER BY CreatedDate",
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["Field"], "created");
    assert_eq!(rows[1]["Field"], "Tier__c");
    assert_eq!(rows[1]["DataType"], "DynamicEnum");
    assert_eq!(rows[1]["OldValue"], "Silver");
    assert_eq!(rows[1]["NewValue"], "Gold");
    assert_eq!(rows[1]["AccountId"], a.as_str());
    assert_eq!(rows[1]["CreatedById"], c.user_id.to18().as_str());
    let nested = query(
        &org,
        "SELECT Name, (SELECT Field FROM Histories) FROM Account",
    );
    assert_eq!(nested[0]["Histories"]["totalSize"], 2);
    let g = create(&org, &c, "Gadget__c", json!({"Name": "G", "Price__c": 5})).unwrap();
    update(&org, &c, "Gadget__c", &g, json!({"Price__c": 7.5})).unwrap();
    let rows = query(
        &org,
        "SELECT ParentId, Field, OldValue, NewValue FROM Gadget__History WHERE Field = 'Price__c'",
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["OldValue"], 5.0);
    assert_eq!(rows[0]["NewValue"], 7.5);
    // History is the org's to write.
    let e = create(
        &org,
        &c,
        "AccountHistory",
        json!({"AccountId": a, "Field": "Name"}),
    )
    .unwrap_err();
    assert_eq!(e.code, Code::InsufficientAccess, "{e:?}");
    assert_eq!(e.message, "entity type cannot be inserted: Account History");
}

#[test]
fn today_is_the_running_users_date_on_the_orgs_clock() {
    use chrono::TimeZone;
    // 03:00 GMT on 1 March is still 28 February in Los Angeles, the seed user's zone.
    let at = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 3, 0, 0).unwrap();
    let clock = Arc::new(forcebus_org::ManualClock::new(at));
    let (org, c) = org_at(
        json!({"Account": {"fields": [
            {"name": "Today__c", "type": "date", "formula": "TODAY()"},
            {"name": "Now__c", "type": "datetime", "formula": "NOW()"}
        ]}}),
        clock.clone(),
    );
    create(&org, &c, "Account", json!({"Name": "A"})).unwrap();
    let row = &query(&org, "SELECT Today__c, Now__c FROM Account")[0];
    assert_eq!(row["Today__c"], "2026-02-28");
    assert_eq!(row["Now__c"], "2026-03-01T03:00:00.000+0000");
    clock.advance(chrono::Duration::hours(10));
    let row = &query(&org, "SELECT Today__c FROM Account")[0];
    assert_eq!(
        row["Today__c"], "2026-03-01",
        "the clock moved: so did TODAY()"
    );
}

#[test]
fn a_roll_up_made_over_existing_children_counts_them_at_once() {
    let (org, c) = org_with(rollups());
    let p = create(&org, &c, "Project__c", json!({"Name": "P"})).unwrap();
    for h in [1.5, 2.5] {
        create(&org, &c, "Task__c", json!({"Project__c": p, "Hours__c": h})).unwrap();
    }
    let field: forcebus_org::custom::FieldConfig = serde_json::from_value(json!({
        "name": "All_Hours__c", "type": "double",
        "summary": {"operation": "sum", "foreign_key": "Task__c.Project__c", "summarized_field": "Task__c.Hours__c"}
    }))
    .unwrap();
    org.add_custom_field("Project__c", field).unwrap();
    let row = &query(&org, "SELECT All_Hours__c FROM Project__c")[0];
    assert_eq!(row["All_Hours__c"], 4.0);
    // A summary over a field that is not there is refused, and changes nothing.
    let bad: forcebus_org::custom::FieldConfig = serde_json::from_value(json!({
        "name": "Bad__c", "type": "double",
        "summary": {"operation": "sum", "foreign_key": "Task__c.Project__c", "summarized_field": "Task__c.Nope__c"}
    }))
    .unwrap();
    let e = org.add_custom_field("Project__c", bad).unwrap_err();
    assert_eq!(e.code, Code::FieldIntegrityException);
    assert!(
        org.schema()
            .object("Project__c")
            .unwrap()
            .field("Bad__c")
            .is_none()
    );
}

#[test]
fn a_parents_change_event_carries_its_roll_ups_never_its_formulas() {
    let (org, c) = org_with(rollups());
    let p = create(
        &org,
        &c,
        "Project__c",
        json!({"Name": "P", "Budget__c": 1000}),
    )
    .unwrap();
    let r = org
        .execute(
            &c,
            vec![Op::Create {
                object: "Task__c".into(),
                fields: json!({"Project__c": p, "Hours__c": 4, "Status__c": "Open"})
                    .as_object()
                    .unwrap()
                    .clone(),
            }],
            Mode::ALL_OR_NONE,
        )
        .unwrap()
        .wait()
        .unwrap();
    let events: Vec<forcebus_events::change::ChangeEvent> = r
        .committed
        .unwrap()
        .events
        .iter()
        .map(|e| serde_json::from_slice(&e.payload).unwrap())
        .collect();
    let parent = events
        .iter()
        .find(|e| e.header.entity_name == "Project__c")
        .expect("the parent's UPDATE event");
    assert_eq!(parent.header.change_type, "UPDATE");
    for field in ["Tasks__c", "Open_Hours__c"] {
        assert!(
            parent.header.changed_fields.iter().any(|f| f == field),
            "{field} in {:?}",
            parent.header.changed_fields
        );
    }
    assert_eq!(parent.fields["Tasks__c"], 1.0);
    for e in &events {
        assert!(
            !e.fields.contains_key("Over_Budget__c"),
            "a formula field is never in an event"
        );
    }
}
