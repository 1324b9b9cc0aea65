//! Users' access: profiles and permission sets together, field-level security on every
//! read and write, object permissions, and sharing (organization-wide defaults, the role
//! hierarchy, manual shares, a parent's control), each as the running user meets it.

use std::collections::BTreeMap;
use std::sync::Arc;

use forcebus_meta::standard;
use forcebus_org::access::declared::{FieldGrant, ObjectGrant, PermissionSetConfig};
use forcebus_org::custom::ObjectConfig;
use forcebus_org::{
    Api, Caller, Code, Mode, Op, Org, OrgError, OrgOptions, Schema, SystemClock, UserSeed,
};
use forcebus_store::{SqliteStore, Store};
use serde_json::{Value, json};

const ADMIN: &str = "admin@acme.test";
const SYNC: &str = "sync@acme.test";
const REP: &str = "rep@acme.test";
const BOSS: &str = "boss@acme.test";
const PEER: &str = "peer@acme.test";

fn seed(username: &str, profile: Option<&str>, sets: &[&str]) -> UserSeed {
    UserSeed {
        username: username.into(),
        first_name: "T".into(),
        last_name: username.into(),
        email: username.into(),
        profile: profile.map(str::to_owned),
        permission_sets: sets.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// The org every test uses: a Private custom object, `Salary__c` on Account that only
/// permission sets grant, a detail object controlled by its parent, and five users.
fn org() -> Org {
    org_with_rules(Vec::new())
}

/// [`org`] with sharing rules.
fn org_with_rules(sharing_rules: Vec<forcebus_org::access::rules::SharingRuleConfig>) -> Org {
    let objects: BTreeMap<String, ObjectConfig> = serde_json::from_value(json!({
        "Account": {"fields": [
            {"name": "Salary__c", "type": "double", "precision": 18, "scale": 2},
            {"name": "Region__c", "type": "string", "length": 40}
        ]},
        "Deal__c": {"label": "Deal", "sharing_model": "Private", "fields": [
            {"name": "Amount__c", "type": "double", "precision": 18, "scale": 2},
            {"name": "Account__c", "type": "reference", "reference_to": "Account"}
        ]},
        "Step__c": {"label": "Step", "sharing_model": "ControlledByParent", "fields": [
            {"name": "Deal__c", "type": "reference", "reference_to": "Deal__c", "master_detail": true}
        ]},
        "Memo__c": {"label": "Memo", "fields": [
            {"name": "Deal__c", "type": "reference", "reference_to": "Deal__c"}
        ]}
    }))
    .unwrap();
    let mut schema = Schema::new(standard::catalogue());
    forcebus_org::custom::apply(&mut schema, &objects).unwrap();
    let grant = |read, create, edit, delete| ObjectGrant {
        read,
        create,
        edit,
        delete,
        ..ObjectGrant::default()
    };
    let sync = PermissionSetConfig {
        name: "Sync_Integration".into(),
        user_permissions: vec!["ApiEnabled".into()],
        objects: [
            ("Account".to_owned(), grant(true, true, true, false)),
            ("Deal__c".to_owned(), grant(true, true, true, true)),
            ("Step__c".to_owned(), grant(true, true, true, true)),
            ("Memo__c".to_owned(), grant(true, true, true, true)),
        ]
        .into(),
        fields: [
            (
                "Account.Region__c".to_owned(),
                FieldGrant {
                    read: true,
                    edit: false,
                },
            ),
            (
                "Deal__c.Amount__c".to_owned(),
                FieldGrant {
                    read: true,
                    edit: true,
                },
            ),
            (
                "Deal__c.Account__c".to_owned(),
                FieldGrant {
                    read: true,
                    edit: true,
                },
            ),
            (
                "Memo__c.Deal__c".to_owned(),
                FieldGrant {
                    read: true,
                    edit: true,
                },
            ),
        ]
        .into(),
        ..PermissionSetConfig::default()
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let minimum = Some("Minimum Access - API Only Integrations");
    let users = [
        seed(ADMIN, None, &[]),
        seed(SYNC, minimum, &["Sync_Integration"]),
        seed(REP, minimum, &["Sync_Integration"]),
        seed(BOSS, minimum, &["Sync_Integration"]),
        seed(PEER, minimum, &["Sync_Integration"]),
    ];
    let options = OrgOptions {
        permission_sets: vec![sync],
        sharing_rules,
        ..OrgOptions::default()
    };
    Org::open_with(store, schema, Arc::new(SystemClock), "T", &users, options).unwrap()
}

fn caller(org: &Org, username: &str) -> Caller {
    Caller {
        user_id: org.user_by_username(username).unwrap().id,
        api: Api::Rest,
        version: "62.0".into(),
        client: None,
    }
}

fn run(org: &Org, c: &Caller, op: Op) -> Result<String, OrgError> {
    let r = org
        .execute(c, vec![op], Mode::ALL_OR_NONE)
        .unwrap()
        .wait()
        .unwrap();
    r.results[0]
        .as_ref()
        .map(|o| o.id().to18())
        .map_err(Clone::clone)
}

fn create(org: &Org, c: &Caller, object: &str, fields: Value) -> Result<String, OrgError> {
    let op = Op::Create {
        object: object.into(),
        fields: fields.as_object().unwrap().clone(),
    };
    run(org, c, op)
}

fn update(org: &Org, c: &Caller, id: &str, fields: Value) -> Result<String, OrgError> {
    let op = Op::Update {
        object: None,
        id: id.into(),
        fields: fields.as_object().unwrap().clone(),
    };
    run(org, c, op)
}

/// The rows `username` gets for `soql`, or the query's error message.
fn query(org: &Org, username: &str, soql: &str) -> Result<Vec<Value>, String> {
    let user = org.user_by_username(username).unwrap().id;
    org.query_paged(Some(user), soql, "62.0", false, &|_| true, 2000)
        .map(|p| p.first)
        .map_err(|e| e.message)
}

fn names(rows: &[Value]) -> Vec<&str> {
    let mut out: Vec<&str> = rows.iter().filter_map(|r| r["Name"].as_str()).collect();
    out.sort_unstable();
    out
}

#[test]
fn field_level_security_hides_and_locks_fields_for_the_user_only() {
    let org = org();
    let admin = caller(&org, ADMIN);
    let sync = caller(&org, SYNC);
    create(
        &org,
        &admin,
        "Account",
        json!({"Name": "Acme", "Salary__c": 10, "Region__c": "EU"}),
    )
    .unwrap();
    // The administrator sees every field, as before.
    let rows = query(
        &org,
        ADMIN,
        "SELECT Name, Salary__c, Region__c, Phone FROM Account",
    )
    .unwrap();
    assert_eq!(rows[0]["Salary__c"], 10.0);
    // A field no set grants does not exist to the user; a standard field their profile
    // does not grant neither.
    for hidden in ["Salary__c", "Phone"] {
        let err = query(&org, SYNC, &format!("SELECT Name, {hidden} FROM Account")).unwrap_err();
        assert!(
            err.contains(&format!("No such column '{hidden}' on entity 'Account'")),
            "{err}"
        );
    }
    let err = query(&org, SYNC, "SELECT Name FROM Account WHERE Salary__c > 1").unwrap_err();
    assert!(err.contains("No such column 'Salary__c'"), "{err}");
    let rows = query(&org, SYNC, "SELECT Name, Region__c FROM Account").unwrap();
    assert_eq!(rows[0]["Region__c"], "EU");
    // Writing a hidden field is writing a field that is not there; a read-only one is
    // refused as Salesforce refuses it.
    let err = create(&org, &sync, "Account", json!({"Name": "B", "Salary__c": 1})).unwrap_err();
    assert_eq!(err.code, Code::InvalidField);
    let err = create(
        &org,
        &sync,
        "Account",
        json!({"Name": "B", "Region__c": "US"}),
    )
    .unwrap_err();
    assert_eq!(err.code, Code::InvalidFieldForInsertUpdate);
    assert!(
        err.message
            .starts_with("Unable to create/update fields: Region__c. Please check the security settings of this field"),
        "{}",
        err.message
    );
    assert_eq!(err.fields, ["Region__c"]);
    create(&org, &sync, "Account", json!({"Name": "B"})).unwrap();
}

#[test]
fn object_permissions_come_from_the_profile_and_every_set_together() {
    let org = org();
    let sync = caller(&org, SYNC);
    let access = org.access(sync.user_id);
    let schema = org.schema();
    let account = schema.object("Account").unwrap();
    let perms = access.object(account);
    assert!(perms.read && perms.create && perms.edit && !perms.delete);
    assert!(access.perms.api_enabled);
    // Contact: neither the Minimum Access profile nor the set grants it.
    assert!(!access.reads(schema.object("Contact").unwrap()));
    let err = create(&org, &sync, "Contact", json!({"LastName": "X"})).unwrap_err();
    assert_eq!(err.code, Code::CannotInsertUpdateActivateEntity);
    assert_eq!(err.message, "entity type cannot be inserted: Contact");
    let err = query(&org, SYNC, "SELECT Id FROM Contact").unwrap_err();
    assert!(
        err.contains("sObject type 'Contact' is not supported"),
        "{err}"
    );
    // Without Delete on Account, even their own account cannot be deleted.
    let id = create(&org, &sync, "Account", json!({"Name": "Mine"})).unwrap();
    let err = run(
        &org,
        &sync,
        Op::Delete {
            object: None,
            id: id.clone(),
        },
    )
    .unwrap_err();
    assert_eq!(err.code, Code::InsufficientAccess);
    // A Standard User: the standard objects, not the custom ones.
    let admin = caller(&org, ADMIN);
    let standard = org.profile_id("Standard User").unwrap();
    update(
        &org,
        &admin,
        &sync.user_id.to18(),
        json!({"ProfileId": standard.to18()}),
    )
    .unwrap();
    let access = org.access(sync.user_id);
    assert!(access.object(schema.object("Contact").unwrap()).create);
    assert!(access.sees(account, account.field("Phone").unwrap()));
    // The set still grants Deal__c; the profile alone would not.
    assert!(access.reads(schema.object("Deal__c").unwrap()));
}

#[test]
fn a_private_object_shows_each_user_their_own_records_their_teams_and_shares() {
    let org = org();
    let admin = caller(&org, ADMIN);
    let (rep, boss, peer) = (caller(&org, REP), caller(&org, BOSS), caller(&org, PEER));
    // The boss's role is above the rep's.
    let top = create(
        &org,
        &admin,
        "UserRole",
        json!({"Name": "Sales VP", "OpportunityAccessForAccountOwner": "Edit"}),
    )
    .unwrap();
    let below = create(
        &org,
        &admin,
        "UserRole",
        json!({"Name": "Rep", "ParentRoleId": top, "OpportunityAccessForAccountOwner": "Edit"}),
    )
    .unwrap();
    update(
        &org,
        &admin,
        &boss.user_id.to18(),
        json!({"UserRoleId": top}),
    )
    .unwrap();
    update(
        &org,
        &admin,
        &rep.user_id.to18(),
        json!({"UserRoleId": below}),
    )
    .unwrap();
    let reps = create(
        &org,
        &rep,
        "Deal__c",
        json!({"Name": "Rep's", "Amount__c": 5}),
    )
    .unwrap();
    create(&org, &peer, "Deal__c", json!({"Name": "Peer's"})).unwrap();
    create(&org, &admin, "Deal__c", json!({"Name": "Admin's"})).unwrap();
    let all = "SELECT Name FROM Deal__c";
    assert_eq!(names(&query(&org, REP, all).unwrap()), ["Rep's"]);
    assert_eq!(names(&query(&org, BOSS, all).unwrap()), ["Rep's"]);
    assert_eq!(names(&query(&org, PEER, all).unwrap()), ["Peer's"]);
    assert_eq!(
        names(&query(&org, ADMIN, all).unwrap()),
        ["Admin's", "Peer's", "Rep's"]
    );
    assert_eq!(
        query(&org, PEER, "SELECT COUNT() FROM Deal__c")
            .unwrap()
            .len(),
        0,
        "an aggregate counts only what the user sees"
    );
    // Updates and deletes of another's record are refused; the boss may, through the
    // hierarchy.
    let err = update(&org, &peer, &reps, json!({"Amount__c": 6})).unwrap_err();
    assert_eq!(err.code, Code::InsufficientAccess);
    assert_eq!(err.message, "insufficient access rights on object id");
    update(&org, &boss, &reps, json!({"Amount__c": 7})).unwrap();
    // A manual share: read, then edit.
    let share = create(
        &org,
        &rep,
        "Deal__Share",
        json!({"ParentId": reps, "UserOrGroupId": peer.user_id.to18(), "AccessLevel": "Read"}),
    )
    .unwrap();
    assert_eq!(names(&query(&org, PEER, all).unwrap()), ["Peer's", "Rep's"]);
    let err = update(&org, &peer, &reps, json!({"Amount__c": 8})).unwrap_err();
    assert_eq!(err.code, Code::InsufficientAccess);
    update(&org, &rep, &share, json!({"AccessLevel": "Edit"})).unwrap();
    update(&org, &peer, &reps, json!({"Amount__c": 8})).unwrap();
    // Edit access is not delete access.
    let err = run(
        &org,
        &peer,
        Op::Delete {
            object: None,
            id: reps.clone(),
        },
    )
    .unwrap_err();
    assert_eq!(err.code, Code::InsufficientAccess);
}

#[test]
fn a_detail_follows_its_master_and_a_lookup_needs_read_access() {
    let org = org();
    let (rep, peer) = (caller(&org, REP), caller(&org, PEER));
    let deal = create(&org, &rep, "Deal__c", json!({"Name": "D"})).unwrap();
    create(
        &org,
        &rep,
        "Step__c",
        json!({"Name": "S1", "Deal__c": deal}),
    )
    .unwrap();
    assert_eq!(
        names(&query(&org, REP, "SELECT Name FROM Step__c").unwrap()),
        ["S1"]
    );
    assert!(
        query(&org, PEER, "SELECT Name FROM Step__c")
            .unwrap()
            .is_empty()
    );
    // The peer cannot hang a step on a deal they cannot see.
    let err = create(
        &org,
        &peer,
        "Step__c",
        json!({"Name": "S2", "Deal__c": deal}),
    )
    .unwrap_err();
    assert_eq!(err.code, Code::InsufficientAccessOnCrossReferenceEntity);
    assert!(
        err.message
            .starts_with("insufficient access rights on cross-reference id: "),
        "{}",
        err.message
    );
    // A subquery shows only the children the user may see.
    let rows = query(
        &org,
        REP,
        "SELECT Name, (SELECT Name FROM Steps__r) FROM Deal__c",
    )
    .unwrap();
    assert_eq!(rows[0]["Steps__r"]["totalSize"], 1);
}

#[test]
fn access_follows_the_records_it_comes_from() {
    let org = org();
    let admin = caller(&org, ADMIN);
    let sync = caller(&org, SYNC);
    let schema = org.schema();
    let account = schema.object("Account").unwrap();
    let salary = account.field("Salary__c").unwrap();
    assert!(!org.access(sync.user_id).sees(account, salary));
    // An admin grants the field through the REST-writable FieldPermissions record.
    let set = org.permission_set_id("Sync_Integration").unwrap();
    create(
        &org,
        &admin,
        "FieldPermissions",
        json!({"ParentId": set.to18(), "SobjectType": "Account", "Field": "Account.Salary__c",
               "PermissionsRead": true, "PermissionsEdit": true}),
    )
    .unwrap();
    assert!(org.access(sync.user_id).field(account, salary).edit);
    // Taking the set away takes it all.
    let assignment = org
        .query(
            &format!(
                "SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '{}'",
                sync.user_id.to18()
            ),
            "62.0",
            false,
            &|_| true,
        )
        .unwrap()
        .records[0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    run(
        &org,
        &admin,
        Op::Delete {
            object: None,
            id: assignment,
        },
    )
    .unwrap();
    assert!(!org.access(sync.user_id).reads(account));
    // The standard profiles and their own permission sets are the org's records.
    let profiles = org
        .query("SELECT Name FROM Profile", "62.0", false, &|_| true)
        .unwrap()
        .records;
    assert!(names(&profiles).contains(&"Minimum Access - API Only Integrations"));
    let admin_profile = org.user_by_username(ADMIN).unwrap();
    assert_eq!(
        admin_profile.get_str("ProfileId"),
        Some(
            org.profile_id("System Administrator")
                .unwrap()
                .to18()
                .as_str()
        )
    );
}

#[test]
fn user_record_access_answers_for_one_user_and_the_records_named() {
    let org = org();
    let (rep, peer) = (caller(&org, REP), caller(&org, PEER));
    let reps = create(&org, &rep, "Deal__c", json!({"Name": "R"})).unwrap();
    let peers = create(&org, &peer, "Deal__c", json!({"Name": "P"})).unwrap();
    let soql = format!(
        "SELECT RecordId, HasReadAccess, HasEditAccess, HasDeleteAccess, MaxAccessLevel FROM UserRecordAccess WHERE UserId = '{}' AND RecordId IN ('{reps}', '{peers}')",
        rep.user_id.to18()
    );
    // The administrator asks about the rep: their own deal in full, the peer's not at all.
    let rows = query(&org, ADMIN, &soql).unwrap();
    let by_id = |id: &str| rows.iter().find(|r| r["RecordId"] == id).unwrap().clone();
    assert_eq!(by_id(&reps)["MaxAccessLevel"], "All");
    assert_eq!(by_id(&reps)["HasDeleteAccess"], true);
    assert_eq!(by_id(&peers)["HasReadAccess"], false);
    assert_eq!(by_id(&peers)["MaxAccessLevel"], "None");
    // The rep asking leaves out the record they may not read.
    let rows = query(&org, REP, &soql).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["RecordId"], reps.as_str());
    // Both filters are needed.
    let err = query(&org, ADMIN, "SELECT RecordId FROM UserRecordAccess").unwrap_err();
    assert!(err.contains("must filter on UserId"), "{err}");
}

#[test]
fn sharing_rules_share_by_criteria_and_by_owner() {
    let meta = json!({
        "sharingCriteriaRules": {
            "fullName": "Big_Deals", "accessLevel": "Read", "label": "Big",
            "sharedTo": {"group": "Finance"},
            "criteriaItems": {"field": "Amount__c", "operation": "greaterThan", "value": "1000"}
        },
        "sharingOwnerRules": {
            "fullName": "Reps_To_Peers", "accessLevel": "Edit", "label": "R",
            "sharedFrom": {"role": "Rep"}, "sharedTo": {"role": "Peer"}
        }
    });
    let org = org_with_rules(forcebus_org::access::rules::from_metadata("Deal__c", &meta));
    let admin = caller(&org, ADMIN);
    let (rep, boss, peer) = (caller(&org, REP), caller(&org, BOSS), caller(&org, PEER));
    let role = |name: &str| {
        create(
            &org,
            &admin,
            "UserRole",
            json!({"Name": name, "DeveloperName": name, "OpportunityAccessForAccountOwner": "Edit"}),
        )
        .unwrap()
    };
    let (rep_role, peer_role) = (role("Rep"), role("Peer"));
    update(
        &org,
        &admin,
        &rep.user_id.to18(),
        json!({"UserRoleId": rep_role}),
    )
    .unwrap();
    update(
        &org,
        &admin,
        &peer.user_id.to18(),
        json!({"UserRoleId": peer_role}),
    )
    .unwrap();
    let finance = create(
        &org,
        &admin,
        "Group",
        json!({"Name": "Finance", "DeveloperName": "Finance", "Type": "Regular"}),
    )
    .unwrap();
    create(
        &org,
        &admin,
        "GroupMember",
        json!({"GroupId": finance, "UserOrGroupId": boss.user_id.to18()}),
    )
    .unwrap();
    let big = create(
        &org,
        &rep,
        "Deal__c",
        json!({"Name": "Big", "Amount__c": 5000}),
    )
    .unwrap();
    create(
        &org,
        &rep,
        "Deal__c",
        json!({"Name": "Small", "Amount__c": 10}),
    )
    .unwrap();
    create(
        &org,
        &admin,
        "Deal__c",
        json!({"Name": "Admin's Big", "Amount__c": 9000}),
    )
    .unwrap();
    let all = "SELECT Name FROM Deal__c";
    // Finance (the boss) reads the big deals, whoever owns them, and cannot edit them.
    assert_eq!(
        names(&query(&org, BOSS, all).unwrap()),
        ["Admin's Big", "Big"]
    );
    let err = update(&org, &boss, &big, json!({"Amount__c": 1})).unwrap_err();
    assert_eq!(err.code, Code::InsufficientAccess);
    // The Peer role edits whatever the Rep role owns.
    assert_eq!(names(&query(&org, PEER, all).unwrap()), ["Big", "Small"]);
    update(&org, &peer, &big, json!({"Amount__c": 6000})).unwrap();
    // A deal that drops under the criteria leaves Finance's view.
    update(&org, &rep, &big, json!({"Amount__c": 100})).unwrap();
    assert_eq!(names(&query(&org, BOSS, all).unwrap()), ["Admin's Big"]);
}

#[test]
fn a_parent_the_user_may_not_read_reads_as_null_through_a_lookup() {
    let org = org();
    let (admin, rep) = (caller(&org, ADMIN), caller(&org, REP));
    let deal = create(&org, &rep, "Deal__c", json!({"Name": "Secret"})).unwrap();
    create(
        &org,
        &admin,
        "Memo__c",
        json!({"Name": "M", "Deal__c": deal}),
    )
    .unwrap();
    let soql = "SELECT Name, Deal__c, Deal__r.Name FROM Memo__c";
    let rows = query(&org, REP, soql).unwrap();
    assert_eq!(rows[0]["Deal__r"]["Name"], "Secret");
    // The peer sees the memo (Memo__c is public) and its lookup's id, not the deal.
    let rows = query(&org, PEER, soql).unwrap();
    assert_eq!(rows[0]["Name"], "M");
    assert_eq!(rows[0]["Deal__c"], deal.as_str());
    assert_eq!(rows[0]["Deal__r"], Value::Null, "{}", rows[0]);
    let rows = query(
        &org,
        PEER,
        "SELECT Name FROM Memo__c WHERE Deal__r.Name = 'Secret'",
    )
    .unwrap();
    assert!(
        rows.is_empty(),
        "a filter through the parent sees no more than the user"
    );
}
