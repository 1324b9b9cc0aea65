//! What record access costs a query: 100,000 records of a Private object, owned by twenty
//! users (5,000 each), queried by the administrator (every record, no sharing), by one
//! owner on a Minimum Access profile with a permission set (their 5,000, found through
//! the owner index), and by a manager above every owner in the role hierarchy (all
//! 100,000, through the index of each owner). The same filter and columns in each.

use std::collections::BTreeMap;
use std::sync::Arc;

use criterion::{Criterion, criterion_main};
use forcebus_meta::standard;
use forcebus_org::access::declared::{FieldGrant, ObjectGrant, PermissionSetConfig};
use forcebus_org::custom::ObjectConfig;
use forcebus_org::{Api, Caller, Mode, Op, Org, OrgOptions, Schema, SystemClock, UserSeed};
use forcebus_store::SqliteStore;
use serde_json::{Value, json};

const RECORDS: usize = 100_000;
const OWNERS: usize = 20;
const QUERY: &str = "SELECT Id, Name, Amount__c FROM Deal__c WHERE Amount__c > 10";

fn seed(username: &str, profile: Option<&str>) -> UserSeed {
    UserSeed {
        username: username.into(),
        first_name: "B".into(),
        last_name: username.into(),
        email: username.into(),
        profile: profile.map(str::to_owned),
        permission_sets: if profile.is_some() {
            vec!["Deals".into()]
        } else {
            Vec::new()
        },
    }
}

fn caller(org: &Org, username: &str) -> Caller {
    Caller {
        user_id: org.user_by_username(username).unwrap().id,
        api: Api::Rest,
        version: "62.0".into(),
        client: None,
    }
}

fn run(org: &Org, c: &Caller, ops: Vec<Op>) -> Vec<String> {
    let r = org
        .execute(c, ops, Mode::ALL_OR_NONE)
        .unwrap()
        .wait()
        .unwrap();
    r.results
        .iter()
        .map(|o| o.as_ref().unwrap().id().to18())
        .collect()
}

fn create(object: &str, fields: Value) -> Op {
    Op::Create {
        object: object.into(),
        fields: fields.as_object().unwrap().clone(),
    }
}

/// The org, its administrator, an owner and the manager above every owner.
fn org() -> Org {
    let objects: BTreeMap<String, ObjectConfig> = serde_json::from_value(json!({
        "Deal__c": {"label": "Deal", "sharing_model": "Private", "fields": [
            {"name": "Amount__c", "type": "double", "precision": 18, "scale": 2}
        ]}
    }))
    .unwrap();
    let mut schema = Schema::new(standard::catalogue());
    forcebus_org::custom::apply(&mut schema, &objects).unwrap();
    let minimum = Some("Minimum Access - API Only Integrations");
    let mut users = vec![seed("admin@b.c", None), seed("boss@b.c", minimum)];
    users.extend((0..OWNERS).map(|i| seed(&format!("owner{i}@b.c"), minimum)));
    let deals = PermissionSetConfig {
        name: "Deals".into(),
        objects: [(
            "Deal__c".to_owned(),
            ObjectGrant {
                read: true,
                create: true,
                edit: true,
                ..ObjectGrant::default()
            },
        )]
        .into(),
        fields: [(
            "Deal__c.Amount__c".to_owned(),
            FieldGrant {
                read: true,
                edit: true,
            },
        )]
        .into(),
        ..PermissionSetConfig::default()
    };
    let options = OrgOptions {
        permission_sets: vec![deals],
        ..OrgOptions::default()
    };
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let org = Org::open_with(store, schema, Arc::new(SystemClock), "B", &users, options).unwrap();
    let admin = caller(&org, "admin@b.c");
    let roles = |name: &str, parent: Option<&str>| {
        let mut f = json!({"Name": name, "OpportunityAccessForAccountOwner": "Edit"});
        if let Some(p) = parent {
            f["ParentRoleId"] = json!(p);
        }
        run(&org, &admin, vec![create("UserRole", f)]).remove(0)
    };
    let top = roles("Boss", None);
    let below = roles("Owner", Some(&top));
    let set_role = |user: &str, role: &str| Op::Update {
        object: None,
        id: caller(&org, user).user_id.to18(),
        fields: json!({"UserRoleId": role}).as_object().unwrap().clone(),
    };
    let mut ops = vec![set_role("boss@b.c", &top)];
    ops.extend((0..OWNERS).map(|i| set_role(&format!("owner{i}@b.c"), &below)));
    run(&org, &admin, ops);
    for i in 0..OWNERS {
        let owner = caller(&org, &format!("owner{i}@b.c"));
        for chunk in 0..(RECORDS / OWNERS / 1000) {
            let ops = (0..1000)
                .map(|n| {
                    let amount = ((chunk * 1000 + n) % 100) as f64;
                    create(
                        "Deal__c",
                        json!({"Name": format!("D{i}-{chunk}-{n}"), "Amount__c": amount}),
                    )
                })
                .collect();
            run(&org, &owner, ops);
        }
    }
    org
}

fn access(c: &mut Criterion) {
    let org = org();
    let mut g = c.benchmark_group("private_object_100k");
    g.sample_size(20);
    for (label, username) in [
        ("administrator", "admin@b.c"),
        ("owner_of_5k", "owner0@b.c"),
        ("manager_of_all", "boss@b.c"),
    ] {
        let user = org.user_by_username(username).unwrap().id;
        let rows = org
            .query_paged(Some(user), QUERY, "62.0", false, &|_| true, 0)
            .unwrap()
            .total_size;
        eprintln!("{label}: {rows} rows");
        g.bench_function(label, |b| {
            b.iter(|| {
                org.query_paged(Some(user), QUERY, "62.0", false, &|_| true, 200)
                    .unwrap()
                    .total_size
            });
        });
    }
    g.finish();
}

fn benches() {
    let mut c = Criterion::default().configure_from_args();
    access(&mut c);
}

criterion_main!(benches);
