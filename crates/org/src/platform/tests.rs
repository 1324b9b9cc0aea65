//! Definitions, validation and both renderings of platform events.

use forcebus_events::Schemas;
use forcebus_events::platform::{LOG_FORM, avro_event, read_log, values_from_avro};
use serde_json::{Value, json};

use super::*;
use crate::error::Code;

fn config(toml_fields: Value) -> EventConfig {
    serde_json::from_value(json!({"fields": toml_fields})).expect("config")
}

#[test]
fn definitions_check_names_and_field_types() {
    let ok = EventDef::build(
        "Order_Shipped__e",
        &config(
            json!([{"name": "Order_Number__c", "type": "string", "length": 20, "required": true},
                       {"name": "Weight__c", "type": "double", "precision": 10, "scale": 2}]),
        ),
        "e00",
    )
    .expect("valid");
    let names: Vec<&str> = ok.object.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ReplayId",
            "CreatedDate",
            "CreatedById",
            "EventUuid",
            "Order_Number__c",
            "Weight__c"
        ]
    );
    assert_eq!(ok.schema_id.len(), 22);
    for bad in ["Order", "Order__c", "1Order__e", "Or__der__e", "__e"] {
        assert!(
            EventDef::build(bad, &EventConfig::default(), "e00").is_err(),
            "{bad}"
        );
    }
    let err = EventDef::build(
        "X__e",
        &config(json!([{"name": "P__c", "type": "picklist", "picklist": ["a"]}])),
        "e00",
    )
    .unwrap_err();
    assert!(err.contains("platform_events.X__e.fields.P__c"), "{err}");
    let changed = EventDef::build(
        "Order_Shipped__e",
        &config(
            json!([{"name": "Order_Number__c", "type": "string", "length": 20, "required": true}]),
        ),
        "e00",
    )
    .expect("valid");
    assert_ne!(changed.schema_id, ok.schema_id);
}

#[test]
fn the_log_form_reads_back_as_the_json_form_did() {
    let def = EventDef::build(
        "Every_Type__e",
        &config(json!([
            {"name": "S__c", "type": "string", "length": 20},
            {"name": "T__c", "type": "textarea", "length": 1000},
            {"name": "D__c", "type": "double", "precision": 8, "scale": 3},
            {"name": "I__c", "type": "int", "precision": 9},
            {"name": "B__c", "type": "boolean"},
            {"name": "Day__c", "type": "date"},
            {"name": "At__c", "type": "datetime"},
            {"name": "Empty__c", "type": "string", "length": 5},
        ])),
        "e00",
    )
    .expect("valid");
    let input = json!({"S__c": "caf\u{e9} \"q\"", "T__c": "line\nline", "D__c": 12.5,
        "I__c": -42, "B__c": true, "Day__c": "1969-12-31", "At__c": "2024-02-29T23:59:59.999Z"});
    let e = def
        .prepare_as(
            input.as_object().expect("object"),
            "005000000000001AAA",
            "2024-05-02T09:15:27.481+0000",
            Some("a-publisher-chosen-id"),
        )
        .expect("valid");
    let log = e.to_log(&def.schema).expect("fits");
    assert_eq!(log[0], LOG_FORM);
    let schemas = Schemas::default();
    schemas.add(&def.schema);
    let (back, _) = read_log(&log, &schemas).expect("the log form");
    assert_eq!(
        (back.schema.as_str(), back.uuid.as_str()),
        (def.schema_id.as_str(), "a-publisher-chosen-id")
    );
    let delivered = avro_event(&bytes::Bytes::from(log.clone()), &schemas).expect("renders");
    assert_eq!(
        delivered.payload[..],
        e.to_avro(def.schema.avro()).expect("encodes")[..]
    );
    // Compared as text: the field order is on the wire too.
    assert_eq!(
        serde_json::to_string(&back.payload).expect("serialises"),
        serde_json::to_string(&e.payload).expect("serialises")
    );
    assert!(e.payload["Empty__c"].is_null());
    // The older JSON form is read as JSON, not mistaken for the log form.
    let json_form = serde_json::to_vec(&e).expect("serialises");
    assert_eq!(read_log(&json_form, &schemas).expect("readable").0, e);
    // A value the field takes but its Avro type cannot hold is refused, not nulled.
    let wide = EventDef::build(
        "Wide__e",
        &config(json!([{"name": "N__c", "type": "int", "precision": 12}])),
        "e01",
    )
    .expect("valid");
    let big = wide
        .prepare(
            json!({"N__c": 5_000_000_000i64})
                .as_object()
                .expect("object"),
            "005000000000001AAA",
            "2024-05-02T09:15:27.481+0000",
        )
        .expect("valid for the field");
    let err = wide.log_form(&big).unwrap_err();
    assert_eq!(err.code, Code::NumberOutsideValidRange, "{err:?}");
    assert_eq!(err.fields, vec!["N__c".to_owned()]);
    let fits = wide
        .prepare(
            json!({"N__c": 2_000_000_000i64})
                .as_object()
                .expect("object"),
            "005000000000001AAA",
            "2024-05-02T09:15:27.481+0000",
        )
        .expect("valid");
    assert!(wide.log_form(&fits).is_ok());
}

#[test]
fn publishing_validates_and_renders_both_forms() {
    let def = EventDef::build(
        "Low_Ink__e",
        &config(
            json!([{"name": "Model__c", "type": "string", "length": 5, "required": true},
                       {"name": "Pct__c", "type": "double", "precision": 5, "scale": 2},
                       {"name": "Seen__c", "type": "datetime"},
                       {"name": "Urgent__c", "type": "boolean"}]),
        ),
        "e00",
    )
    .expect("valid");
    let by = "005000000000001AAA";
    let now = "2024-05-02T09:15:27.481+0000";
    let input = |v: Value| v.as_object().cloned().expect("object");
    let e = def
        .prepare(
            &input(
                json!({"Model__c": "XZO-5", "Pct__c": 0.2, "Seen__c": "2024-05-01T00:00:00.000Z"}),
            ),
            by,
            now,
        )
        .expect("valid");
    let data = e.cometd_data(7, def.schema.avro());
    assert_eq!(
        data["payload"],
        json!({"CreatedDate": "2024-05-02T09:15:27.481Z", "CreatedById": by, "Model__c": "XZO-5",
               "Pct__c": 0.2, "Seen__c": "2024-05-01T00:00:00.000Z", "Urgent__c": false})
    );
    assert_eq!(data["event"]["replayId"], 7);
    assert_eq!(data["event"]["EventUuid"], json!(e.uuid));
    assert_eq!(data["schema"], json!(def.schema_id));
    let bytes = e.to_avro(def.schema.avro()).expect("encodes");
    let back = forcebus_avro::decode(def.schema.avro(), &bytes).expect("decodes");
    let values = values_from_avro(&def.object, def.schema.avro(), &back);
    assert_eq!(values["Model__c"], "XZO-5");
    assert_eq!(values["Seen__c"], "2024-05-01T00:00:00.000+0000");
    assert_eq!(values["Urgent__c"], false);
    // Only fields typed as datetimes are shown in the Z form, not text that looks like one.
    let text = EventDef::build(
        "Note__e",
        &config(json!([{"name": "Note__c", "type": "string", "length": 40}])),
        "e01",
    )
    .expect("valid");
    let looks_like = "2024-05-01T00:00:00.000+0000";
    let n = text
        .prepare(&input(json!({"Note__c": looks_like})), by, now)
        .expect("valid");
    let data = n.cometd_data(1, text.schema.avro());
    assert_eq!(data["payload"]["Note__c"], looks_like);
    assert_eq!(data["payload"]["CreatedDate"], "2024-05-02T09:15:27.481Z");
    let cases = [
        (json!({"Nope__c": 1}), Code::InvalidField),
        (json!({"Pct__c": 1}), Code::RequiredFieldMissing),
        (json!({"Model__c": "TOO LONG"}), Code::StringTooLong),
        (
            json!({"Model__c": "a", "CreatedDate": now}),
            Code::InvalidFieldForInsertUpdate,
        ),
        (
            json!({"Model__c": "a", "Pct__c": "x"}),
            Code::JsonParserError,
        ),
    ];
    for (body, code) in cases {
        let err = def.prepare(&input(body.clone()), by, now).unwrap_err();
        assert_eq!(err.code, code, "{body}: {err:?}");
    }
}

/// A random value of an event schema's field: null, or a value of its type (now and then
/// out of range for the event's field).
fn arb_avro(s: &forcebus_avro::Schema) -> proptest::strategy::BoxedStrategy<forcebus_avro::Value> {
    use forcebus_avro::{Schema as S, Value as A};
    use proptest::prelude::*;
    match s {
        S::Union(branches) => {
            let inner = branches.get(1).cloned().unwrap_or(S::Null);
            prop_oneof![
                1 => Just(A::Union(0, Box::new(A::Null))),
                4 => arb_avro(&inner).prop_map(|v| A::Union(1, Box::new(v))),
            ]
            .boxed()
        }
        S::String => prop_oneof![
            Just(String::new()),
            "[a-z \u{e9}]{0,25}",
            Just("true".to_owned()),
            Just("2024-02-29".to_owned()),
        ]
        .prop_map(A::String)
        .boxed(),
        S::Boolean => any::<bool>().prop_map(A::Boolean).boxed(),
        S::Int => prop_oneof![1 => any::<i32>(), 4 => -1000..1000i32]
            .prop_map(A::Int)
            .boxed(),
        S::Long => prop_oneof![any::<i64>(), -10_000_000_000_000..10_000_000_000_000i64]
            .prop_map(A::Long)
            .boxed(),
        S::Double => prop_oneof![
            8 => -99_999.0..99_999.0f64,
            1 => -1e12..1e12f64,
            1 => Just(0.125),
            1 => Just(f64::MAX),
            1 => Just(f64::NAN),
            1 => Just(123456.789)
        ]
        .prop_map(A::Double)
        .boxed(),
        _ => Just(A::Null).boxed(),
    }
}

/// The definition both publishing paths are compared on: every field type, some
/// required, a checkbox with a default.
fn every_type() -> EventDef {
    EventDef::build(
        "Every_Type__e",
        &config(json!([
            {"name": "S__c", "type": "string", "length": 20, "required": true},
            {"name": "T__c", "type": "textarea", "length": 1000},
            {"name": "D__c", "type": "double", "precision": 8, "scale": 3},
            {"name": "I__c", "type": "int", "precision": 9},
            {"name": "B__c", "type": "boolean"},
            {"name": "Day__c", "type": "date", "required": true},
            {"name": "At__c", "type": "datetime"},
            {"name": "Short__c", "type": "string", "length": 5},
        ])),
        "e00",
    )
    .expect("valid")
}

/// The fields of a definition's schema.
fn schema_fields(def: &EventDef) -> &[forcebus_avro::Field] {
    &def.schema.avro().as_record().expect("a record").fields
}

proptest::proptest! {
    /// A Pub/Sub record in the definition's own schema, checked and encoded in place,
    /// gives the bytes (or the error) the general path gives through field maps.
    #[test]
    fn avro_and_json_publishing_agree(
        values in schema_fields(&every_type())
            .iter()
            .map(|f| arb_avro(&f.schema))
            .collect::<Vec<_>>()
    ) {
        let def = every_type();
        let record = forcebus_avro::Value::Record(values);
        let (by, now, uuid) = ("005000000000001AAA", "2024-05-02T09:15:27.481+0000", "u-1");
        let general = def.prepare_json(
            &values_from_avro(&def.object, def.schema.avro(), &record),
            by,
            now,
            Some(uuid),
        );
        let in_place = def.prepare_avro(&record, by, now, Some(uuid));
        proptest::prop_assert_eq!(in_place, general);
    }
}

#[test]
fn a_definitions_schema_has_its_fields_in_order() {
    // What publishing in place relies on (else it takes the general path): the schema's
    // fields are the definition's, less `ReplayId` and `EventUuid`, in order.
    let def = every_type();
    let schema: Vec<&str> = schema_fields(&def)
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    let fields: Vec<&str> = def
        .object
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| !["ReplayId", "EventUuid"].contains(n))
        .collect();
    assert_eq!(schema, fields);
}

#[test]
fn a_schema_in_another_order_takes_the_general_path() {
    use forcebus_avro::Value as A;
    // A definition whose schema lists its custom fields in another order: publishing in
    // place does not apply, and the general path maps the record's fields by name.
    let fields = json!([
        {"name": "A__c", "type": "string", "length": 20, "required": true},
        {"name": "B__c", "type": "int", "precision": 9},
    ]);
    let swapped = json!([fields[1].clone(), fields[0].clone()]);
    let mut def = EventDef::build("Order__e", &config(fields), "e00").expect("valid");
    def.schema = EventDef::build("Order__e", &config(swapped), "e00")
        .expect("valid")
        .schema;
    let names: Vec<&str> = schema_fields(&def)
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, ["CreatedDate", "CreatedById", "B__c", "A__c"]);
    let record = A::Record(vec![
        A::Long(0),
        A::String("005000000000001AAA".into()),
        A::Union(1, Box::new(A::Int(7))),
        A::Union(1, Box::new(A::String("first".into()))),
    ]);
    let (by, now) = ("005000000000001AAA", "2024-05-02T09:15:27.481+0000");
    let (uuid, bytes) = def
        .prepare_avro(&record, by, now, Some("u-1"))
        .expect("valid");
    assert_eq!(
        (uuid.clone(), bytes.clone()),
        def.prepare_json(
            &values_from_avro(&def.object, def.schema.avro(), &record),
            by,
            now,
            Some("u-1"),
        )
        .expect("valid")
    );
    assert_eq!(uuid, "u-1");
    let entry = forcebus_events::platform::avro_event_in_place(&bytes.into()).expect("log form");
    let back = forcebus_avro::decode(def.schema.avro(), &entry.payload).expect("decodes");
    let A::Record(values) = back else {
        panic!("a record: {back:?}")
    };
    assert_eq!(values[2], A::Union(1, Box::new(A::Int(7))));
    assert_eq!(values[3], A::Union(1, Box::new(A::String("first".into()))));
}
