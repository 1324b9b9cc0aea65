//! Permission sets as Metadata components: deployed (created, changed, unchanged; a name
//! the org lacks refused with Salesforce's message), read back from the org's records as
//! Metadata, and deleted, each as a user assigned the set meets it.

use std::collections::BTreeMap;
use std::sync::Arc;

use forcebus_meta::standard;
use forcebus_org::access::declared::{
    FieldGrant, ObjectGrant, PermissionSetConfig, PermissionSetGroupConfig,
};
use forcebus_org::custom::ObjectConfig;
use forcebus_org::org::deploy::Deployed;
use forcebus_org::{Org, OrgOptions, Schema, SystemClock, UserSeed};
use forcebus_store::{SqliteStore, Store};
use serde_json::{Value, json};

const ADMIN: &str = "admin@acme.test";
const REP: &str = "rep@acme.test";
const MINIMUM: &str = "Minimum Access - API Only Integrations";

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

/// An org with `Salary__c` on Account, a custom object, an admin and `users`.
fn org_with(users: &[UserSeed], options: OrgOptions) -> Org {
    let objects: BTreeMap<String, ObjectConfig> = serde_json::from_value(json!({
        "Account": {"fields": [
            {"name": "Salary__c", "type": "double", "precision": 18, "scale": 2}
        ]},
        "Deal__c": {"label": "Deal", "fields": [
            {"name": "Amount__c", "type": "double", "precision": 18, "scale": 2}
        ]}
    }))
    .unwrap();
    let mut schema = Schema::new(standard::catalogue());
    forcebus_org::custom::apply(&mut schema, &objects).unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let mut all = vec![seed(ADMIN, None, &[])];
    all.extend_from_slice(users);
    Org::open_with(store, schema, Arc::new(SystemClock), "T", &all, options).unwrap()
}

fn org() -> Org {
    org_with(&[], OrgOptions::default())
}

/// A set from its Metadata, as a deploy's file gives it.
fn set(name: &str, meta: Value) -> PermissionSetConfig {
    PermissionSetConfig::from_metadata(name, &meta)
}

fn deals() -> PermissionSetConfig {
    set(
        "Deals",
        json!({
            "label": "Deal desk",
            "description": "Works deals",
            "userPermissions": {"enabled": "true", "name": "ApiEnabled"},
            "objectPermissions": [
                {"object": "deal__c", "allowRead": "true", "allowCreate": "true", "allowEdit": "true"},
                {"object": "Account", "allowRead": "true"}
            ],
            "fieldPermissions": [
                {"field": "Deal__c.Amount__c", "readable": "true", "editable": "true"},
                {"field": "account.salary__c", "readable": "true", "editable": "false"}
            ]
        }),
    )
}

/// The rows `username` gets for `soql`, or the query's error message.
fn query(org: &Org, username: &str, soql: &str) -> Result<Vec<Value>, String> {
    let user = org.user_by_username(username).unwrap().id;
    org.query_paged(Some(user), soql, "62.0", false, &|_| true, 2000)
        .map(|p| p.first)
        .map_err(|e| e.message)
}

#[test]
fn a_deployed_set_is_created_then_unchanged_then_changed() {
    let org = org();
    assert_eq!(
        org.deploy_permission_set(&deals(), true),
        Ok(Deployed::Created)
    );
    assert_eq!(
        org.deploy_permission_set(&deals(), true),
        Ok(Deployed::Unchanged)
    );
    let mut more = deals();
    more.objects.get_mut("Account").unwrap().edit = true;
    // A check alone reports the change and makes none.
    assert_eq!(
        org.deploy_permission_set(&more, false),
        Ok(Deployed::Changed)
    );
    let now = org.permission_set_config("deals").unwrap();
    assert!(!now.objects["Account"].edit);
    assert_eq!(
        org.deploy_permission_set(&more, true),
        Ok(Deployed::Changed)
    );
    assert!(org.permission_set_config("Deals").unwrap().objects["Account"].edit);
    assert_eq!(
        org.deploy_permission_set(&more, true),
        Ok(Deployed::Unchanged)
    );
}

#[test]
fn a_set_reads_back_from_its_records_in_the_schemas_spelling() {
    let org = org();
    org.deploy_permission_set(&deals(), true).unwrap();
    let back = org.permission_set_config("DEALS").unwrap();
    assert_eq!(back.name, "Deals");
    assert_eq!(back.label.as_deref(), Some("Deal desk"));
    assert_eq!(back.description.as_deref(), Some("Works deals"));
    assert_eq!(back.user_permissions, ["ApiEnabled"]);
    assert_eq!(
        back.objects["Deal__c"],
        ObjectGrant {
            read: true,
            create: true,
            edit: true,
            ..ObjectGrant::default()
        }
    );
    assert_eq!(
        back.fields["Account.Salary__c"],
        FieldGrant {
            read: true,
            edit: false
        }
    );
    // Its Metadata, read again, is the same set: a redeploy changes nothing.
    let again = set("Deals", back.to_metadata());
    assert_eq!(again, back);
    assert_eq!(
        org.deploy_permission_set(&again, true),
        Ok(Deployed::Unchanged)
    );
    let names: Vec<String> = org
        .permission_set_names()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["Deals"], "a profile's own set is not listed");
}

#[test]
fn a_name_the_org_lacks_fails_the_set_with_salesforces_message() {
    let org = org();
    let cases = [
        (
            json!({"fieldPermissions": {"field": "Account.Nope__c", "readable": "true"}}),
            "In field: field - no CustomField named Account.Nope__c found",
        ),
        (
            json!({"objectPermissions": {"object": "Nope__c", "allowRead": "true"}}),
            "In field: object - no CustomObject named Nope__c found",
        ),
        (
            json!({"userPermissions": {"enabled": "true", "name": "FlyToTheMoon"}}),
            "Unknown user permission: FlyToTheMoon",
        ),
    ];
    for (meta, message) in cases {
        let e = org
            .deploy_permission_set(&set("Broken", meta), true)
            .unwrap_err();
        assert_eq!(e.message, message);
    }
    assert!(
        org.permission_set_config("Broken").is_none(),
        "nothing is made"
    );
}

#[test]
fn a_user_assigned_a_deployed_set_sees_what_it_grants_until_it_is_deleted() {
    let org = org();
    org.deploy_permission_set(&deals(), true).unwrap();
    org.declare_user(&seed(REP, Some(MINIMUM), &["Deals"]), &[])
        .unwrap();
    let rows = query(&org, REP, "SELECT Id, Salary__c FROM Account").unwrap();
    assert!(rows.is_empty());
    assert!(query(&org, REP, "SELECT Amount__c FROM Deal__c").is_ok());
    let mut less = deals();
    less.fields.clear();
    less.objects.remove("Account");
    org.delete_permission_set("Deals").unwrap();
    assert!(org.permission_set_config("Deals").is_none());
    let refused = query(&org, REP, "SELECT Amount__c FROM Deal__c").unwrap_err();
    assert!(refused.contains("Deal__c"), "{refused}");
    assert!(
        org.scan("ObjectPermissions", |r| (!r.is_deleted
            && r.get_str("SobjectType") == Some("Deal__c"))
        .then_some(()))
            .is_empty(),
        "its grants go with it"
    );
    assert!(org.delete_permission_set("Deals").is_err());
    // Made again, it is new.
    assert_eq!(
        org.deploy_permission_set(&less, true),
        Ok(Deployed::Created)
    );
}

/// An org whose project declares a custom profile, the Standard User profile's extra
/// field permissions, the `Deals` set and a group holding it, with a user of each.
fn declared_org() -> Org {
    let custom = set(
        "Deal Desk Profile",
        json!({
            "custom": "true",
            "userPermissions": {"enabled": "true", "name": "ApiEnabled"},
            "objectPermissions": {"object": "Deal__c", "allowRead": "true", "allowCreate": "true"},
            "fieldPermissions": {"field": "Deal__c.Amount__c", "readable": "true", "editable": "true"}
        }),
    );
    let standard = set(
        "Standard User",
        json!({
            "objectPermissions": {"object": "Deal__c", "allowRead": "true"},
            "fieldPermissions": {"field": "Account.Salary__c", "readable": "true", "editable": "false"}
        }),
    );
    let group = PermissionSetGroupConfig::from_metadata(
        "Deal_Team",
        &json!({"label": "Deal team", "permissionSets": ["Deals"]}),
    );
    let options = OrgOptions {
        profiles: vec![custom, standard],
        permission_sets: vec![deals()],
        permission_set_groups: vec![group],
        ..OrgOptions::default()
    };
    let users = [
        seed(REP, Some("Deal Desk Profile"), &[]),
        seed("std@acme.test", Some("Standard User"), &[]),
        seed("team@acme.test", Some(MINIMUM), &["Deal_Team"]),
        seed("none@acme.test", Some(MINIMUM), &[]),
    ];
    org_with(&users, options)
}

#[test]
fn a_custom_profile_is_made_with_its_own_set_and_its_users_get_it() {
    let org = declared_org();
    let profile = org.profile_id("deal desk profile").unwrap();
    let own = org.scan("PermissionSet", |p| {
        (p.get_str("ProfileId") == Some(profile.to18().as_str())).then(|| {
            (
                p.get("IsOwnedByProfile") == true,
                p.get("IsCustom") == true,
                p.get("PermissionsApiEnabled") == true,
            )
        })
    });
    assert_eq!(own, [(true, true, true)]);
    let user = org.user_by_username(REP).unwrap();
    assert_eq!(user.get_str("ProfileId"), Some(profile.to18().as_str()));
    assert!(query(&org, REP, "SELECT Amount__c FROM Deal__c").is_ok());
    assert!(
        query(&org, REP, "SELECT Id FROM Account").is_err(),
        "a custom profile grants only what it lists"
    );
    assert!(query(&org, "none@acme.test", "SELECT Id FROM Deal__c").is_err());
}

#[test]
fn a_standard_profile_gains_field_permissions_but_keeps_its_object_permissions() {
    let org = declared_org();
    let std = "std@acme.test";
    assert!(query(&org, std, "SELECT Salary__c FROM Account").is_ok());
    assert!(
        query(&org, std, "SELECT Id FROM Deal__c").is_err(),
        "a standard profile's object permissions stay what it grants"
    );
    let none = "none@acme.test";
    assert!(query(&org, none, "SELECT Salary__c FROM Account").is_err());
}

#[test]
fn a_group_holds_its_sets_and_a_user_assigned_it_gets_them() {
    let org = declared_org();
    let group = org.permission_set_group_id("deal_team").unwrap();
    let components = org.scan("PermissionSetGroupComponent", |c| {
        (c.get_str("PermissionSetGroupId") == Some(group.to18().as_str()))
            .then(|| c.get_str("PermissionSetId").map(str::to_owned))
    });
    let deals = org.permission_set_id("Deals").unwrap().to18();
    assert_eq!(components, [Some(deals)]);
    let label = org.get(group).unwrap();
    assert_eq!(label.get_str("MasterLabel"), Some("Deal team"));
    let team = "team@acme.test";
    assert!(query(&org, team, "SELECT Amount__c FROM Deal__c").is_ok());
    assert!(query(&org, team, "SELECT Salary__c FROM Account").is_ok());
}
