//! SOSL text from the network (`/search?q=`): parsing must never panic, and whatever parses
//! must run over a few records without panicking either (term matching, the RETURNING
//! queries).
#![no_main]

use forcebus_meta::{FieldDef, FieldType, ObjectDef, RecordId, Schema};
use forcebus_soql::{Context, Record, Source};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

struct Rec(RecordId, Value);

impl Record for Rec {
    fn id(&self) -> RecordId {
        self.0
    }
    fn is_deleted(&self) -> bool {
        false
    }
    fn value(&self, _: &ObjectDef, f: &FieldDef) -> Value {
        self.1.get(&f.name).cloned().unwrap_or(Value::Null)
    }
}

struct Recs(Vec<Rec>);

impl Source for Recs {
    type Rec = Rec;
    fn get(&self, id: RecordId) -> Option<&Rec> {
        self.0.iter().find(|r| r.0 == id)
    }
    fn scan<'a>(&'a self, _: &str) -> Box<dyn Iterator<Item = &'a Rec> + 'a> {
        Box::new(self.0.iter())
    }
    fn lookup(&self, _: &str, _: &str, _: &str) -> Option<Vec<&Rec>> {
        None
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(search) = forcebus_soql::sosl::parse_search(text) else { return };
    let mut name = FieldDef::new("Name", "Name", FieldType::String);
    name.name_field = true;
    let fields = vec![
        FieldDef::new("Id", "Id", FieldType::Id),
        name,
        FieldDef::new("Email", "Email", FieldType::Email),
        FieldDef::new("Amount", "Amount", FieldType::Double),
    ];
    let schema = Schema::new(vec![ObjectDef::new("Account", "Account", "Accounts", "001", fields)]);
    let recs = Recs(vec![
        Rec(RecordId::mint("001", 1), json!({"Name": "Acme Corp 2024", "Email": "a@acme.example", "Amount": 5.0})),
        Rec(RecordId::mint("001", 2), json!({"Name": "Globex"})),
    ]);
    let ctx = Context {
        now: "2024-05-01T12:00:00Z".parse().expect("a datetime"),
        version: "59.0".into(),
        all_rows: false,
        seen: Default::default(),
    };
    let _ = forcebus_soql::sosl::run(&search, &schema, &|_| true, &recs, &ctx);
});
