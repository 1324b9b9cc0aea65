//! PushTopics through the org: the save-time query rules, and which record changes notify
//! which topics (NotifyForFields, NotifyForOperation*), with the notification's shape.

use std::sync::Arc;

use forcebus_meta::standard;
use forcebus_org::{Api, Caller, Code, ManualClock, Op, Org, OrgError, Schema, UserSeed};
use forcebus_store::SqliteStore;
use serde_json::{Map, Value, json};

fn org() -> (Org, Caller) {
    let clock = Arc::new(ManualClock::new("2024-05-02T08:55:27Z".parse().unwrap()));
    let seed = UserSeed {
        username: "admin@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Admin".into(),
        email: "admin@example.com".into(),
        profile: None,
        permission_sets: Vec::new(),
    };
    let org = Org::open(
        Arc::new(SqliteStore::in_memory().unwrap()),
        Schema::new(standard::catalogue()),
        clock,
        "T",
        &[seed],
    )
    .unwrap();
    let user = org.user_by_username("admin@example.com").unwrap().id;
    let caller = Caller {
        user_id: user,
        api: Api::Rest,
        version: "59.0".into(),
        client: None,
    };
    (org, caller)
}

fn map(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn one(org: &Org, c: &Caller, op: Op) -> (Result<forcebus_org::Outcome, OrgError>, Vec<Value>) {
    let mut r = org
        .execute(c, vec![op], forcebus_org::Mode::ALL_OR_NONE)
        .unwrap()
        .wait()
        .unwrap();
    let notes = r.committed.as_ref().map_or_else(Vec::new, |c| {
        c.events
            .iter()
            .filter(|e| e.kind.starts_with("/topic/"))
            .map(|e| {
                let mut v: Value = serde_json::from_slice(&e.payload).unwrap();
                v["channel"] = json!(e.kind);
                v
            })
            .collect()
    });
    (r.results.remove(0), notes)
}

fn topic(org: &Org, c: &Caller, fields: Value) -> Result<String, OrgError> {
    let mut f = map(json!({"Name": "T", "ApiVersion": 59.0}));
    f.extend(map(fields));
    one(
        org,
        c,
        Op::Create {
            object: "PushTopic".into(),
            fields: f,
        },
    )
    .0
    .map(|o| o.id().to18())
}

fn create(org: &Org, c: &Caller, object: &str, fields: Value) -> (String, Vec<Value>) {
    let (r, n) = one(
        org,
        c,
        Op::Create {
            object: object.into(),
            fields: map(fields),
        },
    );
    (r.unwrap().id().to18(), n)
}

fn update(org: &Org, c: &Caller, id: &str, fields: Value) -> Vec<Value> {
    let (r, n) = one(
        org,
        c,
        Op::Update {
            object: None,
            id: id.into(),
            fields: map(fields),
        },
    );
    r.unwrap();
    n
}

#[test]
fn queries_are_checked_on_save() {
    let (org, c) = org();
    let cases: &[(&str, Value, Code, &str)] = &[
        (
            "no Id",
            json!({"Query": "SELECT Name FROM Account"}),
            Code::InvalidField,
            "Id must be selected",
        ),
        (
            "limit",
            json!({"Query": "SELECT Id, Name FROM Account LIMIT 5"}),
            Code::InvalidField,
            "LIMIT",
        ),
        (
            "order",
            json!({"Query": "SELECT Id, Name FROM Account ORDER BY Name"}),
            Code::InvalidField,
            "ORDER BY",
        ),
        (
            "offset",
            json!({"Query": "SELECT Id, Name FROM Account OFFSET 5"}),
            Code::InvalidField,
            "OFFSET",
        ),
        (
            "aggregate",
            json!({"Query": "SELECT COUNT() FROM Account"}),
            Code::InvalidField,
            "Aggregate",
        ),
        (
            "group by",
            json!({"Query": "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry"}),
            Code::InvalidField,
            "Aggregate",
        ),
        (
            "relationship",
            json!({"Query": "SELECT Id, Account.Name FROM Contact"}),
            Code::InvalidField,
            "Relationships",
        ),
        (
            "relationship in where",
            json!({"Query": "SELECT Id, Name FROM Contact WHERE Account.Name = 'x'"}),
            Code::InvalidField,
            "Relationships",
        ),
        (
            "subquery",
            json!({"Query": "SELECT Id, (SELECT Id FROM Contacts) FROM Account"}),
            Code::InvalidField,
            "Subqueries",
        ),
        (
            "semi-join",
            json!({"Query": "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)"}),
            Code::InvalidField,
            "Semi-join",
        ),
        (
            "not",
            json!({"Query": "SELECT Id, Name FROM Account WHERE NOT Name = 'x'"}),
            Code::InvalidField,
            "NOT is not supported",
        ),
        (
            "text area",
            json!({"Query": "SELECT Id FROM Account WHERE Description = 'x'"}),
            Code::InvalidField,
            "can not be filtered",
        ),
        (
            "date literal",
            json!({"Query": "SELECT Id, Name FROM Account WHERE CreatedDate = TODAY"}),
            Code::InvalidField,
            "Date literals",
        ),
        (
            "compound",
            json!({"Query": "SELECT Id, BillingAddress FROM Account"}),
            Code::InvalidField,
            "Compound",
        ),
        (
            "only Id, Referenced",
            json!({"Query": "SELECT Id FROM Account"}),
            Code::InvalidField,
            "other than Id",
        ),
        (
            "bad soql",
            json!({"Query": "SELECT Id FROM"}),
            Code::InvalidField,
            "unexpected",
        ),
        (
            "unknown object",
            json!({"Query": "SELECT Id FROM Nope"}),
            Code::InvalidField,
            "Nope",
        ),
        (
            "api version",
            json!({"Query": "SELECT Id, Name FROM Account", "ApiVersion": 20.0}),
            Code::InvalidField,
            "ApiVersion",
        ),
        (
            "notify for",
            json!({"Query": "SELECT Id, Name FROM Account", "NotifyForFields": "Some"}),
            Code::InvalidOrNullForRestrictedPicklist,
            "",
        ),
        (
            "name length",
            json!({"Query": "SELECT Id, Name FROM Account", "Name": "A".repeat(26)}),
            Code::StringTooLong,
            "",
        ),
        (
            "query length",
            json!({"Query": format!("SELECT Id, Name FROM Account WHERE Name = '{}'", "x".repeat(1300))}),
            Code::StringTooLong,
            "",
        ),
        ("no query", json!({}), Code::RequiredFieldMissing, "Query"),
        (
            "read-only",
            json!({"Query": "SELECT Id, Name FROM Account", "NotifyForOperations": "All"}),
            Code::InvalidFieldForInsertUpdate,
            "",
        ),
    ];
    for (what, fields, code, text) in cases {
        let err = topic(&org, &c, fields.clone()).expect_err(what);
        assert_eq!(err.code, *code, "{what}: {err:?}");
        assert!(err.message.contains(text), "{what}: {}", err.message);
    }
    assert!(
        org.scan("PushTopic", |r| Some(r.id)).is_empty(),
        "nothing was saved"
    );
    // Allowed: NOT IN, !=, a reference id, formula-free WHERE, compound with All.
    topic(&org, &c, json!({"Query": "SELECT Id, Name, ParentId FROM Account WHERE Industry NOT IN ('x') AND Name != 'y'"})).unwrap();
    let err = topic(&org, &c, json!({"Query": "SELECT Id, Name FROM Account"})).unwrap_err();
    assert_eq!(err.code, Code::DuplicateValue, "names are unique");
    let id = topic(&org, &c, json!({"Name": "All", "Query": "SELECT Id, BillingAddress FROM Account", "NotifyForFields": "All",
        "NotifyForOperationDelete": false})).unwrap();
    let r = org
        .get(forcebus_org::RecordId::parse(&id).unwrap())
        .unwrap();
    assert_eq!(r.get_str("NotifyForOperations"), Some("Extended"));
    // An update is checked too, and a bad one changes nothing.
    let (res, _) = one(
        &org,
        &c,
        Op::Update {
            object: None,
            id: id.clone(),
            fields: map(json!({"Query": "SELECT Name FROM Account"})),
        },
    );
    assert_eq!(res.unwrap_err().code, Code::InvalidField);
    let r = org
        .get(forcebus_org::RecordId::parse(&id).unwrap())
        .unwrap();
    assert_eq!(
        r.get_str("Query"),
        Some("SELECT Id, BillingAddress FROM Account")
    );
}

#[test]
fn notifications_follow_the_query_and_the_operations() {
    let (org, c) = org();
    topic(&org, &c, json!({"Name": "Tech", "Query": "SELECT Id, Name, Industry FROM Account WHERE Industry = 'Technology'"})).unwrap();
    let (id, n) = create(
        &org,
        &c,
        "Account",
        json!({"Name": "Acme", "Industry": "Technology"}),
    );
    assert_eq!(n.len(), 1);
    assert_eq!(
        n[0],
        json!({"event": {"createdDate": "2024-05-02T08:55:27.000Z", "type": "created"},
        "sobject": {"Id": id, "Name": "Acme", "Industry": "Technology"}, "channel": "/topic/Tech"})
    );
    let (_, n) = create(
        &org,
        &c,
        "Account",
        json!({"Name": "Farm", "Industry": "Agriculture"}),
    );
    assert!(n.is_empty(), "not matching WHERE");
    assert_eq!(
        update(&org, &c, &id, json!({"Name": "Acme 2"}))[0]["event"]["type"],
        "updated"
    );
    assert!(
        update(&org, &c, &id, json!({"Phone": "1"})).is_empty(),
        "Referenced: Phone is not in the query"
    );
    assert!(
        update(&org, &c, &id, json!({"Industry": "Banking"})).is_empty(),
        "no longer matches"
    );
    let n = update(&org, &c, &id, json!({"Industry": "Technology"}));
    assert_eq!(n.len(), 1);
    let (r, n) = one(
        &org,
        &c,
        Op::Delete {
            object: None,
            id: id.clone(),
        },
    );
    r.unwrap();
    assert_eq!(n[0]["event"]["type"], "deleted");
    assert_eq!(
        n[0]["sobject"],
        json!({"Id": id}),
        "deleted carries only Id"
    );
    let (r, n) = one(&org, &c, Op::Undelete { id: id.clone() });
    r.unwrap();
    assert_eq!(n[0]["event"]["type"], "undeleted");
    assert_eq!(n[0]["sobject"]["Name"], "Acme 2");
}

#[test]
fn notify_for_fields_decides_which_updates_count() {
    let (org, c) = org();
    for (name, nff) in [
        ("All", "All"),
        ("Ref", "Referenced"),
        ("Sel", "Select"),
        ("Whr", "Where"),
    ] {
        topic(
            &org,
            &c,
            json!({"Name": name, "NotifyForFields": nff,
            "Query": "SELECT Id, Name FROM Account WHERE Industry = 'Technology'"}),
        )
        .unwrap();
    }
    let (id, n) = create(
        &org,
        &c,
        "Account",
        json!({"Name": "Acme", "Industry": "Technology"}),
    );
    assert_eq!(
        n.len(),
        4,
        "a create notifies every topic whose WHERE matches"
    );
    let channels = |n: &[Value]| -> Vec<String> {
        let mut v: Vec<String> = n
            .iter()
            .map(|x| x["channel"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        channels(&update(&org, &c, &id, json!({"Phone": "1"}))),
        ["/topic/All"]
    );
    assert_eq!(
        channels(&update(&org, &c, &id, json!({"Name": "B"}))),
        ["/topic/All", "/topic/Ref", "/topic/Sel"]
    );
    // Re-setting Industry to the same value changes nothing but the audit fields.
    assert_eq!(
        channels(&update(&org, &c, &id, json!({"Industry": "Technology"}))),
        ["/topic/All"]
    );
    assert_eq!(
        channels(&update(&org, &c, &id, json!({"Industry": "Agriculture"}))),
        Vec::<String>::new()
    );
    assert_eq!(
        channels(&update(&org, &c, &id, json!({"Industry": "Technology"}))),
        ["/topic/All", "/topic/Ref", "/topic/Whr"]
    );
}

#[test]
fn each_operation_flag_turns_its_notifications_off() {
    let (org, c) = org();
    for (flag, op) in [
        ("NotifyForOperationCreate", "created"),
        ("NotifyForOperationUpdate", "updated"),
        ("NotifyForOperationDelete", "deleted"),
        ("NotifyForOperationUndelete", "undeleted"),
    ] {
        let mut f = json!({"Name": format!("No{op}"), "Query": "SELECT Id, Name FROM Account"});
        f[flag] = json!(false);
        topic(&org, &c, f).unwrap();
    }
    let (id, n) = create(&org, &c, "Account", json!({"Name": "Acme"}));
    let seen = |n: &[Value], op: &str| -> Vec<String> {
        let mut v: Vec<String> = n
            .iter()
            .inspect(|x| assert_eq!(x["event"]["type"], op))
            .map(|x| x["channel"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        seen(&n, "created"),
        ["/topic/Nodeleted", "/topic/Noundeleted", "/topic/Noupdated"]
    );
    let n = update(&org, &c, &id, json!({"Name": "B"}));
    assert_eq!(
        seen(&n, "updated"),
        ["/topic/Nocreated", "/topic/Nodeleted", "/topic/Noundeleted"]
    );
    let (_, n) = one(
        &org,
        &c,
        Op::Delete {
            object: None,
            id: id.clone(),
        },
    );
    assert_eq!(
        seen(&n, "deleted"),
        ["/topic/Nocreated", "/topic/Noundeleted", "/topic/Noupdated"]
    );
    let (_, n) = one(&org, &c, Op::Undelete { id: id.clone() });
    assert_eq!(
        seen(&n, "undeleted"),
        ["/topic/Nocreated", "/topic/Nodeleted", "/topic/Noupdated"]
    );
}

#[test]
fn inactive_deleted_and_edited_topics() {
    let (org, c) = org();
    let tid = topic(
        &org,
        &c,
        json!({"Query": "SELECT Id, Name FROM Account", "IsActive": false}),
    )
    .unwrap();
    let (id, n) = create(&org, &c, "Account", json!({"Name": "A"}));
    assert!(n.is_empty(), "inactive");
    update(&org, &c, &tid, json!({"IsActive": true}));
    assert_eq!(
        update(&org, &c, &id, json!({"Name": "B"})).len(),
        1,
        "active after the edit"
    );
    update(
        &org,
        &c,
        &tid,
        json!({"Query": "SELECT Id, Name FROM Account WHERE Name = 'Z'"}),
    );
    assert!(
        update(&org, &c, &id, json!({"Name": "C"})).is_empty(),
        "the new query applies"
    );
    one(
        &org,
        &c,
        Op::Delete {
            object: None,
            id: tid,
        },
    )
    .0
    .unwrap();
    assert!(
        update(&org, &c, &id, json!({"Name": "Z"})).is_empty(),
        "deleted topics are silent"
    );
    assert!(org.topic_channel("/topic/T").is_none());
}

#[test]
fn filtered_channels_select_on_the_sobject() {
    let (org, c) = org();
    topic(
        &org,
        &c,
        json!({"Query": "SELECT Id, Name, Industry FROM Account"}),
    )
    .unwrap();
    assert!(
        org.topic_channel("/topic/T?Phone=1").is_none(),
        "filters name selected fields"
    );
    let ch = org.topic_channel("/topic/T?Industry=Technology").unwrap();
    create(
        &org,
        &c,
        "Account",
        json!({"Name": "A", "Industry": "Technology"}),
    );
    create(
        &org,
        &c,
        "Account",
        json!({"Name": "B", "Industry": "Banking"}),
    );
    let mut cur = org
        .log()
        .subscribe(ch, forcebus_eventlog::Start::Earliest)
        .unwrap();
    let got = cur.poll(10).unwrap();
    assert_eq!(got.len(), 1);
    let doc: Value = serde_json::from_slice(&got[0].payload).unwrap();
    assert_eq!(doc["sobject"]["Name"], "A");
}
