//! SOSL statements against a small table of records.

use forcebus_meta::{FieldDef, FieldType, ObjectDef, RecordId, Schema};
use proptest::prelude::*;
use serde_json::{Value as Json, json};

use super::*;
use crate::eval::{Context, Record, Source};

#[derive(Debug)]
struct Rec {
    id: RecordId,
    object: &'static str,
    fields: Json,
    deleted: bool,
}

impl Record for Rec {
    fn id(&self) -> RecordId {
        self.id
    }
    fn is_deleted(&self) -> bool {
        self.deleted
    }
    fn value(&self, _: &ObjectDef, field: &FieldDef) -> Json {
        if field.name == "Id" {
            return json!(self.id.to18());
        }
        self.fields.get(&field.name).cloned().unwrap_or(Json::Null)
    }
}

struct Table(Vec<Rec>);

impl Source for Table {
    type Rec = Rec;
    fn get(&self, id: RecordId) -> Option<&Rec> {
        self.0.iter().find(|r| r.id == id)
    }
    fn scan<'a>(&'a self, object: &str) -> Box<dyn Iterator<Item = &'a Rec> + 'a> {
        let object = object.to_owned();
        Box::new(self.0.iter().filter(move |r| r.object == object))
    }
    fn lookup(&self, _: &str, _: &str, _: &str) -> Option<Vec<&Rec>> {
        None
    }
}

fn schema() -> Schema {
    let object = |name: &str, prefix: &str, extra: Vec<FieldDef>| {
        let mut id = FieldDef::new("Id", "Id", FieldType::Id);
        id.nillable = false;
        let mut name_field = FieldDef::new("Name", "Name", FieldType::String);
        name_field.name_field = true;
        let mut fields = vec![id, name_field];
        fields.extend(extra);
        ObjectDef::new(name, name, &format!("{name}s"), prefix, fields)
    };
    Schema::new(vec![
        object(
            "Account",
            "001",
            vec![
                FieldDef::new("Phone", "Phone", FieldType::Phone),
                FieldDef::new("Industry", "Industry", FieldType::Picklist),
                FieldDef::new("Employees", "Employees", FieldType::Int),
            ],
        ),
        object(
            "Contact",
            "003",
            vec![FieldDef::new("Email", "Email", FieldType::Email)],
        ),
    ])
}

fn table() -> Table {
    let rec = |n: u64, object: &'static str, fields: Json, deleted: bool| Rec {
        id: RecordId::mint(if object == "Account" { "001" } else { "003" }, n),
        object,
        fields,
        deleted,
    };
    Table(vec![
        rec(
            1,
            "Account",
            json!({"Name": "Acme Corporation", "Phone": "555-0100", "Industry": "Energy", "Employees": 12}),
            false,
        ),
        rec(
            2,
            "Account",
            json!({"Name": "Globex", "Industry": "Acme Energy"}),
            false,
        ),
        rec(3, "Account", json!({"Name": "Acme Acme Acme"}), false),
        rec(4, "Account", json!({"Name": "Acme Deleted"}), true),
        rec(
            5,
            "Contact",
            json!({"Name": "Jo Acme", "Email": "jo@acme.example"}),
            false,
        ),
        rec(6, "Account", json!({"Name": "Initech 12"}), false),
        rec(7, "Account", json!({"Name": "Dial 555 Now"}), false),
    ])
}

fn ctx() -> Context {
    Context {
        now: "2024-05-01T12:00:00Z".parse().unwrap(),
        version: "59.0".into(),
        all_rows: false,
        seen: Default::default(),
    }
}

fn search(text: &str) -> Result<Vec<(String, Vec<Json>)>, SoqlError> {
    let schema = schema();
    let s = parse_search(text)?;
    let found = run(&s, &schema, &crate::Everything, &table(), &ctx())?;
    Ok(found
        .into_iter()
        .map(|f| (f.object.name.clone(), f.rows))
        .collect())
}

fn names(rows: &[Json]) -> Vec<&str> {
    rows.iter()
        .map(|r| r["Name"].as_str().unwrap_or("?"))
        .collect()
}

#[test]
fn returning_lists_shape_filter_order_and_limit() {
    let r = search(
        "FIND {acme} RETURNING Account(Name, Industry ORDER BY Name DESC), Contact(Name, Email)",
    )
    .unwrap();
    assert_eq!(r[0].0, "Account");
    assert_eq!(
        names(&r[0].1),
        ["Globex", "Acme Corporation", "Acme Acme Acme"],
        "deleted records are never found"
    );
    assert_eq!(r[0].1[0]["attributes"]["type"], "Account");
    assert_eq!(names(&r[1].1), ["Jo Acme"]);
    let r = search("find {ACME} returning Account(Name WHERE Industry = 'Energy')").unwrap();
    assert_eq!(names(&r[0].1), ["Acme Corporation"]);
    let r = search("FIND {acme} RETURNING Account(Name LIMIT 1), Contact(Name)").unwrap();
    assert_eq!(
        names(&r[0].1),
        ["Acme Acme Acme"],
        "without ORDER BY the best match first"
    );
    let r = search("FIND {acme} RETURNING Account(Name), Contact(Name) LIMIT 3").unwrap();
    assert_eq!(
        (r[0].1.len(), r[1].1.len()),
        (3, 0),
        "the overall limit is shared in order"
    );
}

#[test]
fn scopes_pick_the_fields_searched() {
    let r = search("FIND {acme} IN NAME FIELDS RETURNING Account(Name)").unwrap();
    assert_eq!(
        names(&r[0].1),
        ["Acme Acme Acme", "Acme Corporation"],
        "Industry is not a name field"
    );
    let r = search("FIND {555*} IN PHONE FIELDS RETURNING Account(Name)").unwrap();
    assert_eq!(
        names(&r[0].1),
        ["Acme Corporation"],
        "\"Dial 555 Now\" has 555 in its name, not its phone"
    );
    let r = search("FIND {acme} IN EMAIL FIELDS RETURNING Account(Name), Contact(Name)").unwrap();
    assert_eq!(
        (names(&r[0].1), names(&r[1].1)),
        (vec![], vec!["Jo Acme"]),
        "Accounts named Acme have no email"
    );
    let r = search("FIND {12} RETURNING Account(Name)").unwrap();
    assert_eq!(
        names(&r[0].1),
        ["Initech 12"],
        "number fields are not searched"
    );
}

#[test]
fn without_returning_every_object_answers_with_ids() {
    let r = search("FIND {acme}").unwrap();
    let counts: Vec<(String, usize)> = r.iter().map(|(o, rows)| (o.clone(), rows.len())).collect();
    assert_eq!(counts, [("Account".into(), 3), ("Contact".into(), 1)]);
    assert_eq!(
        r[1].1[0].as_object().unwrap().len(),
        2,
        "attributes and Id: {:?}",
        r[1].1
    );
    let r = search("FIND {acme} RETURNING Contact").unwrap();
    assert!(r[0].1[0].get("Name").is_none());
}

#[test]
fn errors_are_salesforces() {
    for (bad, code) in [
        ("FIND acme", "MALFORMED_SEARCH"),
        ("FIND {acme", "MALFORMED_SEARCH"),
        ("SELECT Id FROM Account", "MALFORMED_SEARCH"),
        ("FIND {a}", "INVALID_SEARCH"),
        ("FIND {acme} IN BODY FIELDS", "MALFORMED_SEARCH"),
        ("FIND {acme} RETURNING Nope__c", "INVALID_TYPE"),
        ("FIND {acme} RETURNING Account(Nope)", "INVALID_FIELD"),
        (
            "FIND {acme} RETURNING Account(Name WHERE)",
            "MALFORMED_QUERY",
        ),
        (
            "FIND {acme} RETURNING Account(toLabel(Name))",
            "MALFORMED_QUERY",
        ),
        (
            "FIND {acme} WITH DATA CATEGORY Geography__c AT asia__c",
            "MALFORMED_SEARCH",
        ),
        ("FIND {acme} LIMIT 5 garbage", "MALFORMED_SEARCH"),
        (
            "FIND {acme} RETURNING Account(Name OFFSET 1), Contact(Name)",
            "MALFORMED_SEARCH",
        ),
        (
            "FIND {acme} RETURNING Account(Name OFFSET 2001)",
            "NUMBER_OUTSIDE_VALID_RANGE",
        ),
    ] {
        let e = search(bad).expect_err(bad);
        assert_eq!(e.kind.code(), code, "{bad}: {e}");
    }
    let text = "FIND {acme} RETURNING Account(Nope)";
    let e = search(text).unwrap_err();
    assert!(
        e.render(text).contains("ERROR at Row:1:Column:31"),
        "{}",
        e.render(text)
    );
}

#[test]
fn with_clauses_are_read() {
    let s = parse_search("FIND {acme} RETURNING Account WITH METADATA = 'LABELS' WITH SNIPPET (target_length=120) WITH SPELL_CORRECTION = true LIMIT 10 UPDATE TRACKING").unwrap();
    assert!(s.metadata_labels);
    assert_eq!(s.limit, Some(10));
}

proptest! {
    /// Any text parses or fails with a Salesforce error; never a panic.
    #[test]
    fn any_statement_parses_or_fails_cleanly(s in "\\PC{0,80}") {
        let _ = parse_search(&s);
        let _ = parse_search(&format!("FIND {{{s}}}"));
    }

    #[test]
    fn token_soup_after_a_term_never_panics(words in prop::collection::vec(prop_oneof![
        Just("IN"), Just("ALL"), Just("FIELDS"), Just("RETURNING"), Just("Account"), Just("("), Just(")"),
        Just(","), Just("Name"), Just("WHERE"), Just("="), Just("'x'"), Just("LIMIT"), Just("5"), Just("WITH"),
        Just("METADATA"), Just("ORDER"), Just("BY"), Just("OFFSET"), Just("UPDATE"), Just("TRACKING"),
    ], 0..20)) {
        let _ = search(&format!("FIND {{acme}} {}", words.join(" ")));
    }
}
