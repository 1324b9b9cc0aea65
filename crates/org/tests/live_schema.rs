//! Schema changes while the org runs: a custom field or object takes effect at once, its
//! object's change events get a new schema id (the old one stays resolvable), everything
//! survives a restart, a deleted field's values go, and bad changes change nothing.

use std::sync::Arc;

use forcebus_events::change::ChangeEvent;
use forcebus_meta::{FieldType, standard};
use forcebus_org::custom::{FieldConfig, ObjectConfig};
use forcebus_org::{Api, Caller, Code, Mode, Op, Org, RecordId, Schema, SystemClock, UserSeed};
use forcebus_store::{Durability, SqliteStore, Store};
use serde_json::{Value, json};

fn open(store: Arc<dyn Store>) -> (Org, Caller) {
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
    (org, caller)
}

fn field(name: &str, ftype: FieldType) -> FieldConfig {
    serde_json::from_value(json!({"name": name, "type": ftype.name()})).unwrap()
}

fn create(org: &Org, c: &Caller, object: &str, fields: Value) -> (String, Option<ChangeEvent>) {
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
    let id = r.results[0]
        .as_ref()
        .unwrap_or_else(|e| panic!("{e:?}"))
        .id()
        .to18();
    let events = &r.committed.unwrap().events;
    (
        id,
        events
            .first()
            .map(|e| serde_json::from_slice(&e.payload).unwrap()),
    )
}

#[test]
fn a_new_field_is_live_at_once_with_a_new_change_event_schema() {
    let (org, c) = open(Arc::new(SqliteStore::in_memory().unwrap()));
    let before = org.change_schema_id("Account").unwrap();
    let (_, old_event) = create(&org, &c, "Account", json!({"Name": "Before"}));
    assert_eq!(old_event.unwrap().schema_id, before);
    let score: FieldConfig = serde_json::from_value(
        json!({"name": "Score__c", "type": "double", "precision": 5, "scale": 1}),
    )
    .unwrap();
    let id = org.add_custom_field("account", score).unwrap();
    assert!(id.starts_with("00N"), "{id}");
    let after = org.change_schema_id("Account").unwrap();
    assert_ne!(after, before, "a new field, a new schema id");
    assert!(
        org.schemas().json(&before).is_some(),
        "the old id still resolves"
    );
    assert!(
        org.schema()
            .object("Account")
            .unwrap()
            .field("Score__c")
            .is_some()
    );
    let e = create(
        &org,
        &c,
        "Account",
        json!({"Name": "After", "Score__c": 4.5}),
    )
    .1
    .unwrap();
    assert_eq!(e.schema_id, after);
    assert_eq!(e.fields["Score__c"], json!(4.5));
    let avro = org.schemas().json(&after).unwrap().to_string();
    assert!(avro.contains("Score__c"), "the new schema names the field");
    // Contact is untouched.
    assert_eq!(
        org.change_schema_id("Contact"),
        open(Arc::new(SqliteStore::in_memory().unwrap()))
            .0
            .change_schema_id("Contact")
    );
}

#[test]
fn schema_changes_survive_a_restart_with_their_ids_and_records() {
    let dir = std::env::temp_dir().join(format!("fb-live-schema-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = || Arc::new(SqliteStore::open(&dir, Durability::Full).unwrap()) as Arc<dyn Store>;
    let (object_id, field_id, record, schema_id) = {
        let (org, c) = open(store());
        let object_id = org
            .add_custom_object(
                "Employee__c",
                serde_json::from_value::<ObjectConfig>(json!({"label": "Employee"})).unwrap(),
            )
            .unwrap();
        let field_id = org
            .add_custom_field("Employee__c", field("Title__c", FieldType::String))
            .unwrap();
        let (record, _) = create(
            &org,
            &c,
            "Employee__c",
            json!({"Name": "Ada", "Title__c": "Engineer"}),
        );
        (
            object_id,
            field_id,
            record,
            org.change_schema_id("Employee__c").unwrap(),
        )
    };
    let (org, _) = open(store());
    let schema = org.schema();
    let employee = schema.object("Employee__c").expect("the object is back");
    assert_eq!(
        employee.key_prefix,
        &record[..3],
        "its records keep their key prefix"
    );
    assert!(employee.field("Title__c").is_some());
    assert_eq!(org.change_schema_id("Employee__c").unwrap(), schema_id);
    let r = org.get(RecordId::parse(&record).unwrap()).unwrap();
    assert_eq!(r.get_str("Title__c"), Some("Engineer"));
    let runtime = org.runtime_schema();
    assert_eq!(runtime.objects["Employee__c"].id, object_id);
    assert_eq!(
        runtime.field("employee__c", "title__c").unwrap().id,
        field_id
    );
    // Ids keep growing after a restart.
    let next = org
        .add_custom_field("Employee__c", field("Level__c", FieldType::Double))
        .unwrap();
    assert!(next > field_id, "{next} after {field_id}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_deleted_field_leaves_at_once_and_its_values_go_with_it() {
    let (org, c) = open(Arc::new(SqliteStore::in_memory().unwrap()));
    org.add_custom_field("Account", field("Tier__c", FieldType::String))
        .unwrap();
    let (id, _) = create(&org, &c, "Account", json!({"Name": "A", "Tier__c": "Gold"}));
    let with = org.change_schema_id("Account").unwrap();
    org.delete_custom_field("Account", "tier__c").unwrap();
    assert!(
        org.schema()
            .object("Account")
            .unwrap()
            .field("Tier__c")
            .is_none()
    );
    assert_ne!(org.change_schema_id("Account").unwrap(), with);
    let rid = RecordId::parse(&id).unwrap();
    assert!(
        org.get(rid).unwrap().get("Tier__c").is_null(),
        "cleared from the record"
    );
    // A field of the same name made later starts empty.
    org.add_custom_field("Account", field("Tier__c", FieldType::String))
        .unwrap();
    assert!(org.get(rid).unwrap().get("Tier__c").is_null());
    assert_eq!(
        org.change_schema_id("Account").unwrap(),
        with,
        "the same fields, the same schema id"
    );
}

#[test]
fn bad_schema_changes_are_refused_and_change_nothing() {
    let (org, c) = open(Arc::new(SqliteStore::in_memory().unwrap()));
    org.add_custom_field("Account", field("Ok__c", FieldType::String))
        .unwrap();
    let before = (org.runtime_schema(), org.change_schema_id("Account"));
    let code = |r: Result<String, forcebus_org::OrgError>| r.unwrap_err().code;
    assert_eq!(
        code(org.add_custom_field("Account", field("Ok__c", FieldType::String))),
        Code::DuplicateDeveloperName
    );
    assert_eq!(
        code(org.add_custom_field("Account", field("Name__c", FieldType::Id))),
        Code::InvalidInput
    );
    for bad in ["Bad", "A__B__c", "_x__c", "x___c", "1x__c", "x y__c"] {
        assert_eq!(
            code(org.add_custom_field("Account", field(bad, FieldType::String))),
            Code::FieldIntegrityException,
            "{bad}"
        );
    }
    assert_eq!(
        code(org.add_custom_field("Nope__c", field("X__c", FieldType::String))),
        Code::InvalidType
    );
    let lookup: FieldConfig = serde_json::from_value(
        json!({"name": "P__c", "type": "reference", "reference_to": "Nope__c"}),
    )
    .unwrap();
    assert_eq!(
        code(org.add_custom_field("Account", lookup)),
        Code::InvalidInput
    );
    assert_eq!(
        code(org.add_custom_object("Account", ObjectConfig::default())),
        Code::FieldIntegrityException
    );
    assert_eq!(
        code(
            org.add_custom_object("Thing__c", ObjectConfig::default())
                .and_then(|_| org.add_custom_object("Thing__c", ObjectConfig::default()))
        ),
        Code::DuplicateDeveloperName
    );
    // Standard fields are not the API's to delete.
    assert_eq!(
        org.delete_custom_field("Account", "Name").unwrap_err().code,
        Code::InvalidInput
    );
    assert_eq!(
        org.delete_custom_field("Account", "Nope__c")
            .unwrap_err()
            .code,
        Code::NotFound
    );
    // A field a PushTopic names stays until the topic changes.
    create(
        &org,
        &c,
        "PushTopic",
        json!({"Name": "OkTopic", "Query": "SELECT Id, Ok__c FROM Account", "ApiVersion": 62.0}),
    );
    let e = org.delete_custom_field("Account", "Ok__c").unwrap_err();
    assert_eq!(e.code, Code::FieldIntegrityException);
    assert!(e.message.contains("OkTopic"), "{}", e.message);
    let mut after = org.runtime_schema();
    after.objects.remove("Thing__c");
    after.next_id = before.0.next_id;
    assert_eq!(after, before.0, "only the object that was valid was made");
    assert_eq!(org.change_schema_id("Account"), before.1);
}

#[test]
fn a_field_changes_when_every_value_fits_and_its_schema_follows() {
    let (org, c) = open(Arc::new(SqliteStore::in_memory().unwrap()));
    org.add_custom_field("Account", field("Code__c", FieldType::String))
        .unwrap();
    let (_, _) = create(
        &org,
        &c,
        "Account",
        json!({"Name": "A", "Code__c": "ABCDEF"}),
    );
    let with_text = org.change_schema_id("Account").unwrap();
    let relabel: FieldConfig =
        serde_json::from_value(json!({"name": "Code__c", "type": "string", "label": "Code (new)"}))
            .unwrap();
    assert!(org.update_custom_field("Account", relabel.clone()).unwrap());
    assert!(
        !org.update_custom_field("Account", relabel).unwrap(),
        "the same again: no change"
    );
    assert_eq!(
        org.schema()
            .object("Account")
            .unwrap()
            .field("Code__c")
            .unwrap()
            .label,
        "Code (new)"
    );
    let short: FieldConfig =
        serde_json::from_value(json!({"name": "Code__c", "type": "string", "length": 3})).unwrap();
    assert_eq!(
        org.update_custom_field("Account", short).unwrap_err().code,
        Code::FieldIntegrityException
    );
    let date: FieldConfig =
        serde_json::from_value(json!({"name": "Code__c", "type": "date"})).unwrap();
    let e = org
        .update_custom_field("Account", date.clone())
        .unwrap_err();
    assert_eq!(e.message, "Cannot change type due to existing data");
    // Without data, the type may change, and the change events' schema with it.
    org.add_custom_field("Account", field("Empty__c", FieldType::String))
        .unwrap();
    let before = org.change_schema_id("Account").unwrap();
    let empty_date: FieldConfig =
        serde_json::from_value(json!({"name": "Empty__c", "type": "date"})).unwrap();
    assert!(org.update_custom_field("Account", empty_date).unwrap());
    assert_ne!(org.change_schema_id("Account").unwrap(), before);
    assert_ne!(before, with_text);
    assert_eq!(
        org.schema()
            .object("Account")
            .unwrap()
            .field("Empty__c")
            .unwrap()
            .ftype,
        FieldType::Date
    );
    // Standard fields are not the API's to change.
    let name: FieldConfig =
        serde_json::from_value(json!({"name": "Name", "type": "string"})).unwrap();
    assert_eq!(
        org.update_custom_field("Account", name).unwrap_err().code,
        Code::InvalidInput
    );
}

#[test]
fn a_deleted_object_takes_its_records_and_its_key_prefix_is_never_given_again() {
    let dir = std::env::temp_dir().join(format!("fb-delete-object-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = || Arc::new(SqliteStore::open(&dir, Durability::Full).unwrap()) as Arc<dyn Store>;
    let labels = || serde_json::from_value::<ObjectConfig>(json!({"label": "Employee"})).unwrap();
    let (kept, gone, binned) = {
        let (org, c) = open(store());
        org.add_custom_object("Employee__c", labels()).unwrap();
        let (kept, _) = create(&org, &c, "Account", json!({"Name": "Stays"}));
        let (gone, _) = create(&org, &c, "Employee__c", json!({"Name": "Ada"}));
        let (binned, _) = create(&org, &c, "Employee__c", json!({"Name": "Bin"}));
        org.execute(
            &c,
            vec![Op::Delete {
                object: None,
                id: binned.clone(),
            }],
            Mode::ALL_OR_NONE,
        )
        .unwrap()
        .wait()
        .unwrap();
        // A lookup on another object names it: that goes first, and nothing changes.
        let lookup: FieldConfig = serde_json::from_value(
            json!({"name": "Mentor__c", "type": "reference", "reference_to": "Employee__c"}),
        )
        .unwrap();
        org.add_custom_field("Contact", lookup).unwrap();
        let e = org.delete_custom_object("Employee__c").unwrap_err();
        assert_eq!(e.code, Code::FieldIntegrityException, "{e:?}");
        assert!(e.message.contains("Contact.Mentor__c"), "{}", e.message);
        assert!(org.schema().object("Employee__c").is_some());
        org.delete_custom_field("Contact", "Mentor__c").unwrap();
        // Standard and config-file objects are not the API's to delete.
        let e = org.delete_custom_object("Account").unwrap_err();
        assert_eq!(e.code, Code::InvalidInput, "{e:?}");
        assert_eq!(
            org.delete_custom_object("Nothing__c").unwrap_err().code,
            Code::NotFound
        );
        org.delete_custom_object("employee__c").unwrap();
        assert!(org.schema().object("Employee__c").is_none());
        assert!(org.change_schema_id("Employee__c").is_none());
        assert!(org.get(RecordId::parse(&gone).unwrap()).is_none());
        (kept, gone, binned)
    };
    let (org, c) = open(store());
    assert!(org.schema().object("Employee__c").is_none(), "still gone");
    for id in [&gone, &binned] {
        assert!(
            org.get(RecordId::parse(id).unwrap()).is_none(),
            "{id}: its records (the recycle bin's too) are gone"
        );
    }
    assert!(org.get(RecordId::parse(&kept).unwrap()).is_some());
    // The name is free again; the old key prefix is not.
    org.add_custom_object("Employee__c", labels()).unwrap();
    let (again, _) = create(&org, &c, "Employee__c", json!({"Name": "New"}));
    assert_ne!(&again[..3], &gone[..3], "a new key prefix");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_picklist_become_multiselect_keeps_known_values_and_announces_the_records() {
    let (org, c) = open(Arc::new(SqliteStore::in_memory().unwrap()));
    let tier: FieldConfig = serde_json::from_value(
        json!({"name": "Tier__c", "type": "picklist", "picklist": ["Gold", "Silver"]}),
    )
    .unwrap();
    org.add_custom_field("Account", tier).unwrap();
    let (gold, _) = create(&org, &c, "Account", json!({"Name": "G", "Tier__c": "Gold"}));
    let (silver, _) = create(
        &org,
        &c,
        "Account",
        json!({"Name": "S", "Tier__c": "Silver"}),
    );
    let (none, _) = create(&org, &c, "Account", json!({"Name": "N"}));
    let before = org.change_schema_id("Account").unwrap();
    let mut cursor = org
        .log()
        .subscribe(
            org.change_channel("/data/AccountChangeEvent").unwrap(),
            forcebus_eventlog::Start::Latest,
        )
        .unwrap();
    let multi: FieldConfig = serde_json::from_value(
        json!({"name": "Tier__c", "type": "multipicklist", "picklist": ["Gold", "Bronze"]}),
    )
    .unwrap();
    assert!(org.update_custom_field("Account", multi).unwrap());
    let value = |id: &str| {
        org.get(RecordId::parse(id).unwrap())
            .unwrap()
            .get("Tier__c")
            .to_value()
    };
    assert_eq!(value(&gold), "Gold", "a value of the new set stays");
    assert!(value(&silver).is_null(), "one outside it is cleared");
    let events = cursor.poll(10).unwrap();
    assert_eq!(
        events.len(),
        1,
        "one GAP_UPDATE for the records that held a value"
    );
    let event: ChangeEvent = serde_json::from_slice(&events[0].payload).unwrap();
    assert_eq!(event.header.change_type, "GAP_UPDATE");
    let mut ids = event.header.record_ids.clone();
    ids.sort();
    let mut want = vec![gold.clone(), silver.clone()];
    want.sort();
    assert_eq!(ids, want, "{none} held no value");
    assert!(event.fields.is_empty());
    // Both types are Avro strings: the schema (and its id) may stay; the event is in it.
    assert_eq!(event.schema_id, org.change_schema_id("Account").unwrap());
    assert_eq!(event.schema_id, before);
}

/// One change deleting two fields a record holds writes that record once, without both.
#[test]
fn a_deploy_deleting_two_fields_clears_both_from_each_record() {
    use forcebus_org::org::deploy::{Deletion, DeployOptions, Deployed};
    let (org, c) = open(Arc::new(SqliteStore::in_memory().unwrap()));
    for name in ["Tier__c", "Region__c"] {
        org.add_custom_field("Account", field(name, FieldType::String))
            .unwrap();
    }
    let (id, _) = create(
        &org,
        &c,
        "Account",
        json!({"Name": "A", "Tier__c": "Gold", "Region__c": "EMEA"}),
    );
    let deletions: Vec<Deletion> = ["Account.Tier__c", "Account.Region__c"]
        .into_iter()
        .map(|f| Deletion {
            kind: "CustomField",
            full_name: f.into(),
            file: "destructiveChanges.xml".into(),
            post: false,
        })
        .collect();
    let options = DeployOptions {
        all_or_none: true,
        check_only: false,
        ignore_warnings: false,
    };
    let (report, applied) = org.deploy(&[], &[], &deletions, options).unwrap();
    assert!(applied, "{report:?}");
    assert!(
        report
            .iter()
            .all(|c| matches!(c.outcome, Ok(Deployed::Deleted))),
        "{report:?}"
    );
    let r = org.get(RecordId::parse(&id).unwrap()).unwrap();
    assert!(
        r.get("Tier__c").is_null() && r.get("Region__c").is_null(),
        "{r:?}"
    );
    assert_eq!(r.get_str("Name"), Some("A"));
}

/// A schema id a client may have seen (describe, GetTopic) stays resolvable after a field
/// change replaces it, across a restart, though no event ever named it.
#[test]
fn a_replaced_schema_id_no_event_named_resolves_after_a_restart() {
    let dir = std::env::temp_dir().join(format!("fb-org-replaced-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store =
        || -> Arc<dyn Store> { Arc::new(SqliteStore::open(&dir, Durability::Full).unwrap()) };
    let before = {
        let (org, _) = open(store());
        let before = org.change_schema_id("Contact").unwrap();
        org.add_custom_field("Contact", field("Nickname__c", FieldType::String))
            .unwrap();
        assert_ne!(org.change_schema_id("Contact").unwrap(), before);
        before
    };
    let (org, _) = open(store());
    assert!(
        org.schemas().json(&before).is_some(),
        "the replaced id resolves"
    );
    drop(org);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An org waking with a runtime field on Account holds its own copy of Account, made at
/// each opening; nothing outside the org may keep it or its change-event schema, or every
/// wake of a resting org leaves them behind (a process-wide cache by object kept about
/// 20 KB a wake). The standard objects the orgs share still get one schema per process.
#[test]
fn an_org_opened_again_leaves_nothing_of_its_own_objects_outside_it() {
    let dir = std::env::temp_dir().join(format!("fb-own-objects-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let open_shared = || {
        let store = Arc::new(SqliteStore::open(&dir, Durability::Full).unwrap());
        let schema = Schema::shared(standard::shared_catalogue());
        Org::open(store, schema, Arc::new(SystemClock), "T", &[]).unwrap()
    };
    let with_field = {
        let org = open_shared();
        let plain = org.change_schema_id("Account").unwrap();
        org.add_custom_field("Account", field("Tier__c", FieldType::String))
            .unwrap();
        let with_field = org.change_schema_id("Account").unwrap();
        assert_ne!(plain, with_field);
        with_field
    };
    for _ in 0..3 {
        let org = open_shared();
        assert_eq!(org.change_schema_id("Account").unwrap(), with_field);
        let account = org.schema().object_shared("Account").unwrap();
        assert!(account.field("Tier__c").is_some());
        assert_eq!(
            Arc::weak_count(&account),
            0,
            "nothing outside the org keeps a handle on its own Account"
        );
        let contact = org.schema().object_shared("Contact").unwrap();
        let catalogue = standard::shared_catalogue()
            .find(|o| o.name == "Contact")
            .unwrap();
        assert!(
            Arc::ptr_eq(&contact, &catalogue),
            "Contact is the catalogue's"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
