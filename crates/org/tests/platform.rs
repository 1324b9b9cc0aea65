//! Platform events in the log: events stored in the Avro log form and events stored as JSON
//! documents by earlier versions render alike for both protocols.

use std::sync::Arc;

use forcebus_eventlog::{NewEvent, Start};
use forcebus_events::platform::{LOG_FORM, avro_event, cometd_data};
use forcebus_meta::standard;
use forcebus_org::{Api, Caller, Org, Schema, SystemClock, UserSeed};
use forcebus_store::{Batch, SqliteStore, Store};
use serde_json::json;

#[test]
fn json_stored_events_from_earlier_versions_render_as_log_form_events_do() {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let seed = UserSeed {
        username: "a@b.c".into(),
        first_name: "A".into(),
        last_name: "B".into(),
        email: "a@b.c".into(),
        profile: None,
        permission_sets: Vec::new(),
    };
    let org = Org::open(
        store.clone(),
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
    let config = serde_json::from_value(json!({"fields": [
        {"name": "Model__c", "type": "string", "length": 20, "required": true},
        {"name": "Pct__c", "type": "double", "precision": 5, "scale": 2},
        {"name": "Seen__c", "type": "datetime"},
        {"name": "On__c", "type": "date"},
        {"name": "Urgent__c", "type": "boolean"},
    ]}))
    .unwrap();
    let (def, _) = org.define_platform_event("Low_Ink__e", config).unwrap();
    let fields = json!({"Model__c": "XZO-5", "Pct__c": 0.25, "Seen__c": "2024-05-01T10:00:00Z",
                        "On__c": "2024-05-02"});
    let fields = fields.as_object().unwrap().clone();

    // The current form, through the org.
    org.publish(&caller, &[(def.clone(), fields.clone().into(), None)], true)
        .unwrap()
        .wait()
        .unwrap()
        .remove(0)
        .unwrap();
    // The JSON document an earlier version stored for the same event.
    let by = caller.user_id.to18();
    let mut doc = def
        .prepare(&fields, &by, "2024-05-02T09:15:27.481+0000")
        .unwrap();
    let json_bytes = serde_json::to_vec(&doc).unwrap();
    assert_eq!(json_bytes[0], b'{');
    org.log()
        .append(
            vec![NewEvent {
                kind: "Low_Ink__e".into(),
                class: 0,
                payload: json_bytes,
            }],
            0,
            |w| store.commit(&Batch::from(w)),
        )
        .unwrap();

    let mut cursor = org
        .log()
        .subscribe(
            org.event_channel("/event/Low_Ink__e").unwrap(),
            Start::Earliest,
        )
        .unwrap();
    let events = cursor.poll(10).unwrap();
    assert_eq!(events.len(), 2);
    let (new, old) = (&events[0], &events[1]);
    assert_eq!(new.payload[0], LOG_FORM);

    // Streaming API: the same data apart from the event's own uuid, date and replay id.
    let mut a = cometd_data(&new.payload, new.replay_id, org.schemas()).unwrap();
    let b = cometd_data(&old.payload, old.replay_id, org.schemas()).unwrap();
    assert_eq!(b["payload"]["CreatedDate"], "2024-05-02T09:15:27.481Z");
    assert_eq!(b["event"]["EventUuid"], json!(doc.uuid));
    a["payload"]["CreatedDate"] = b["payload"]["CreatedDate"].clone();
    a["event"] = b["event"].clone();
    // Compared as text: the field order is on the wire too.
    assert_eq!(a.to_string(), b.to_string());
    assert_eq!(
        b["payload"].to_string(),
        json!({"CreatedDate": "2024-05-02T09:15:27.481Z", "CreatedById": by, "Model__c": "XZO-5",
               "Pct__c": 0.25, "Seen__c": "2024-05-01T10:00:00.000Z", "On__c": "2024-05-02",
               "Urgent__c": false})
        .to_string()
    );

    // Pub/Sub API: the JSON document is encoded to the same Avro as the stored form.
    let a = avro_event(&new.payload, org.schemas()).unwrap();
    let b = avro_event(&old.payload, org.schemas()).unwrap();
    assert_eq!((&a.schema_id, &b.uuid), (&def.schema_id, &doc.uuid));
    let created =
        cometd_data(&new.payload, new.replay_id, org.schemas()).unwrap()["payload"]["CreatedDate"]
            .as_str()
            .unwrap()
            .replace('Z', "+0000");
    doc.payload["CreatedDate"] = json!(created);
    assert_eq!(a.payload[..], doc.to_avro(def.schema.avro()).unwrap()[..]);
}
