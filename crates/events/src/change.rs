//! Change events (`org-rest-cdc.md` §4): the document the log stores, and its two wire
//! forms.
//!
//! The log stores a [`ChangeEvent`]: the header with field sets as names, the body fields
//! present, and the custom channels the change passed with their enrichment. The
//! Streaming API shows [`cometd_data`]; the Pub/Sub API [`to_avro`], in the schema of the
//! event's object ([`crate::EventSchema::for_change_events`]).

use forcebus_meta::{FieldType, ObjectDef};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::values::nullable;

/// The fields an object's change events carry, in schema order, compounds (addresses,
/// person names) with their parts: the body of a stored event follows it.
pub use forcebus_avro::change::{EventField, event_fields};

/// The record id overflow events carry.
pub const OVERFLOW_ID: &str = "000000000000000AAA";

/// `ChangeEventHeader`, with field sets as names (the Avro form turns them into bitmaps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Header {
    pub entity_name: String,
    pub record_ids: Vec<String>,
    pub change_type: String,
    pub change_origin: String,
    pub transaction_key: String,
    pub sequence_number: i32,
    pub commit_timestamp: i64,
    pub commit_number: i64,
    pub commit_user: String,
    pub nulled_fields: Vec<String>,
    pub diff_fields: Vec<String>,
    pub changed_fields: Vec<String>,
}

/// A change event as stored in the log. (`forcebus-org` writes this layout by hand for a
/// created record's event, its body straight from the record: `cdc::describe::WithBody`.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// Id of the schema the event was written with.
    #[serde(rename = "schemaId")]
    pub schema_id: String,
    /// The header.
    #[serde(rename = "ChangeEventHeader")]
    pub header: Header,
    /// Body fields present in the event, in schema order; compounds nested by part name.
    pub fields: Map<String, Value>,
    /// Custom channels (`<Name>__chn`) whose member filter the change passed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
    /// Per custom channel, the enriched fields' values (added to UPDATE and DELETE events).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub enriched: Map<String, Value>,
}

impl ChangeEvent {
    /// Reads a stored change event.
    pub fn from_log(payload: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(payload)
    }

    /// The event as a custom channel shows it: its enriched fields added to the body.
    pub fn for_channel(&self, channel: &str) -> ChangeEvent {
        let mut e = self.clone();
        if let Some(Value::Object(extra)) = self.enriched.get(channel) {
            for (k, v) in extra {
                e.fields.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        e
    }
}

/// The change-event entity name of an object (`Account` → `AccountChangeEvent`,
/// `Order__c` → `Order__ChangeEvent`).
pub fn entity_name_of(object: &ObjectDef) -> String {
    forcebus_avro::change::entity_name(&object.name)
}

/// The entity name of an object's change events, by object name.
pub fn entity_name(object: &str) -> String {
    forcebus_avro::change::entity_name(object)
}

/// The Avro payload of a change event, against `schema` (its object's change-event schema).
pub fn to_avro(event: &ChangeEvent, schema: &forcebus_avro::Schema) -> Vec<u8> {
    use forcebus_avro::Value as A;
    use forcebus_avro::change::{CHANGE_TYPES, FieldSet, bitmap};
    let rec = schema
        .as_record()
        .expect("change-event schemas are records");
    let h = &event.header;
    let strings = |v: &[String]| A::Array(v.iter().cloned().map(A::String).collect());
    let bits = |names: &[String]| strings(&bitmap(&FieldSet::of(rec, names)));
    let header = A::Record(vec![
        A::String(h.entity_name.clone()),
        strings(&h.record_ids),
        A::Enum(
            CHANGE_TYPES
                .iter()
                .position(|t| *t == h.change_type)
                .unwrap_or(0),
        ),
        A::String(h.change_origin.clone()),
        A::String(h.transaction_key.clone()),
        A::Int(h.sequence_number),
        A::Long(h.commit_timestamp),
        A::Long(h.commit_number),
        A::String(h.commit_user.clone()),
        bits(&h.nulled_fields),
        bits(&h.diff_fields),
        bits(&h.changed_fields),
    ]);
    let mut values = vec![header];
    values.extend(
        rec.fields
            .iter()
            .skip(1)
            .map(|f| nullable(&f.schema, event.fields.get(&f.name))),
    );
    forcebus_avro::encode(schema, &A::Record(values))
        .expect("change events match their schema by construction")
}

/// The `data` of a change event on the Streaming API: the schema id, the payload
/// ([`cometd_payload`]) and the replay id.
pub fn cometd_data(event: &ChangeEvent, object: &ObjectDef, replay_id: u64) -> Value {
    let payload = cometd_payload(event, object);
    json!({"schema": event.schema_id, "payload": payload, "event": {"replayId": replay_id}})
}

/// The `data.payload` of a change event on the Streaming API: `changedFields` as names, no
/// `nulledFields` or `diffFields`, datetimes as ISO strings in UTC, compounds with only the
/// parts present, diffed text as `{"diff": …}` (`org-rest-cdc.md` §4.2–4.6, §4.10).
pub fn cometd_payload(event: &ChangeEvent, object: &ObjectDef) -> Value {
    let mut out = Map::new();
    out.insert("ChangeEventHeader".into(), cometd_header(&event.header));
    for (name, v) in &event.fields {
        let rendered = match v {
            // CREATE and UNDELETE documents hold no null parts; an UPDATE's null part is a
            // change to null, shown like any field set to null.
            Value::Object(parts) => Value::Object(parts.clone()),
            Value::String(s) if event.header.diff_fields.contains(name) => json!({"diff": s}),
            Value::String(s)
                if object
                    .field(name)
                    .is_some_and(|f| f.ftype == FieldType::Datetime) =>
            {
                Value::String(crate::time::iso_z(s))
            }
            other => other.clone(),
        };
        out.insert(name.clone(), rendered);
    }
    Value::Object(out)
}

/// The header as CometD shows it: in this key order, field sets as names, only
/// `changedFields` of the three.
fn cometd_header(h: &Header) -> Value {
    let mut header = Map::new();
    header.insert("entityName".into(), Value::from(h.entity_name.clone()));
    header.insert("recordIds".into(), Value::from(h.record_ids.clone()));
    header.insert("changeType".into(), Value::from(h.change_type.clone()));
    header.insert(
        "changedFields".into(),
        Value::from(h.changed_fields.clone()),
    );
    header.insert("changeOrigin".into(), Value::from(h.change_origin.clone()));
    header.insert(
        "transactionKey".into(),
        Value::from(h.transaction_key.clone()),
    );
    header.insert("sequenceNumber".into(), Value::from(h.sequence_number));
    header.insert("commitTimestamp".into(), Value::from(h.commit_timestamp));
    header.insert("commitNumber".into(), Value::from(h.commit_number));
    header.insert("commitUser".into(), Value::from(h.commit_user.clone()));
    Value::Object(header)
}
