//! Avro bytes from the network (Pub/Sub publishes): decoding against a change-event schema
//! must never panic, and whatever decodes must re-encode to a canonical form that decodes
//! and encodes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

static SCHEMA: std::sync::OnceLock<forcebus_avro::Schema> = std::sync::OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let schema = SCHEMA.get_or_init(|| {
        let objects = forcebus_meta::standard::catalogue();
        let account = objects.iter().find(|o| o.name == "Account").expect("Account is standard");
        forcebus_avro::change::change_event_schema(account)
    });
    if let Ok(v) = forcebus_avro::decode(schema, data) {
        // Compared as bytes: a decoded NaN is not equal to itself as a value.
        let canonical = forcebus_avro::encode(schema, &v).expect("decoded values encode");
        let back = forcebus_avro::decode(schema, &canonical).expect("re-encoded bytes decode");
        assert_eq!(forcebus_avro::encode(schema, &back).expect("encodes"), canonical);
    }
});
