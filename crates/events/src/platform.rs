//! Platform events (`org-rest-cdc.md` §5): the form the log stores, and its two wire
//! forms.
//!
//! A published event is a [`Stored`] document (schema id, `EventUuid`, field values as
//! stored). The log keeps it as [`LOG_FORM`], the schema id and the `EventUuid`, then the
//! Avro payload in the schema it was published with, so the Pub/Sub API delivers it
//! without re-encoding ([`avro_event`]). The Streaming API shows
//! `{"schema", "payload", "event": {"EventUuid", "replayId"}}` ([`cometd_data`]). Events
//! stored as JSON documents by earlier versions stay readable in both forms.

use std::sync::Arc;

use bytes::Bytes;
use forcebus_avro::{Field, Schema as S, Value as A};
use forcebus_meta::{FieldDef, FieldType, ObjectDef};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::schemas::{EventSchema, Schemas};
use crate::time;
use crate::values::{avro_scalar, nullable};

/// First byte of a platform event in the log (the form [`Stored::to_log`] writes). Events
/// stored by earlier versions are JSON documents, which start with `{`, and stay readable.
pub const LOG_FORM: u8 = 0xA1;

/// A platform event as published: what the log holds, before encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stored {
    /// The schema id it was published with.
    pub schema: String,
    /// `EventUuid`.
    pub uuid: String,
    /// `CreatedDate`, `CreatedById` and the custom fields, as stored values.
    pub payload: Map<String, Value>,
}

/// A platform event as the Pub/Sub API delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvroEvent {
    /// `EventUuid` (the `ProducerEvent` id).
    pub uuid: String,
    /// The schema it was published with.
    pub schema_id: String,
    /// The Avro payload in that schema.
    pub payload: Bytes,
}

impl Stored {
    /// The `data` of a Streaming API message: the fields `schema` (the one the event was
    /// published with) types as datetimes in UTC with `Z`, the rest as stored.
    pub fn cometd_data(&self, replay_id: u64, schema: &S) -> Value {
        let datetime = |name: &str| {
            schema.as_record().is_some_and(|r| {
                r.fields.iter().any(|f| {
                    f.name == name && f.doc.as_deref().is_some_and(|d| d.ends_with(":DateTime"))
                })
            })
        };
        let payload: Map<String, Value> = self
            .payload
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) if datetime(k) => json!(time::iso_z(s)),
                    other => other.clone(),
                };
                (k.clone(), v)
            })
            .collect();
        json!({"schema": self.schema, "payload": payload,
               "event": {"EventUuid": self.uuid, "replayId": replay_id}})
    }

    /// The log's form of the event: [`LOG_FORM`], then the schema id and the `EventUuid`
    /// (each a little-endian `u16` length and its bytes), then the Avro payload against
    /// `schema`. Subscribers get the payload without re-encoding; replay reads it as is.
    /// On failure, the field whose value its Avro type cannot hold, if that was why.
    pub fn to_log(&self, schema: &EventSchema) -> Result<Vec<u8>, Option<String>> {
        let schema = schema.avro();
        let avro =
            forcebus_avro::encode(schema, &self.avro_record(schema, true)?).map_err(|_| None)?;
        log_entry(&self.schema, &self.uuid, &avro).ok_or(None)
    }

    /// The Avro payload against `schema` (the schema this event was published with). A
    /// value its type cannot hold is sent as null (events stored as JSON, before the log
    /// form refused such values).
    pub fn to_avro(&self, schema: &S) -> Option<Vec<u8>> {
        let record = self.avro_record(schema, false).ok()?;
        forcebus_avro::encode(schema, &record).ok()
    }

    /// The Avro record against `schema`. A nullable field's value that its type cannot
    /// hold is an error naming the field when `strict`, and null otherwise.
    fn avro_record(&self, schema: &S, strict: bool) -> Result<A, Option<String>> {
        let rec = schema.as_record().ok_or(None)?;
        let values = rec
            .fields
            .iter()
            .map(|f| avro_field(f, self.payload.get(&f.name), strict))
            .collect::<Result<Vec<A>, Option<String>>>()?;
        Ok(A::Record(values))
    }
}

/// A platform event's log entry ([`LOG_FORM`]): the schema id and the `EventUuid`, each
/// a little-endian `u16` length and its bytes, then the Avro payload. `None` when either
/// is longer than a `u16` can say.
pub fn log_entry(schema_id: &str, uuid: &str, avro: &[u8]) -> Option<Vec<u8>> {
    let mut out = log_entry_head(schema_id, uuid, avro.len())?;
    out.extend_from_slice(avro);
    Some(out)
}

/// The start of a [`log_entry`], with room for an Avro payload of `payload_len` bytes
/// that the caller appends.
pub fn log_entry_head(schema_id: &str, uuid: &str, payload_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(5 + schema_id.len() + uuid.len() + payload_len);
    out.push(LOG_FORM);
    for part in [schema_id.as_bytes(), uuid.as_bytes()] {
        out.extend_from_slice(&u16::try_from(part.len()).ok()?.to_le_bytes());
        out.extend_from_slice(part);
    }
    Some(out)
}

/// One field of an event's Avro record from its stored value (`None`: the event has
/// none). A nullable field's value that its type cannot hold is an error naming the field
/// when `strict`, and null otherwise; a value a required field's type cannot hold is
/// always an error.
pub fn avro_field(f: &Field, v: Option<&Value>, strict: bool) -> Result<A, Option<String>> {
    match (&f.schema, v.filter(|v| !v.is_null())) {
        (S::Union(branches), Some(v)) if strict => branches
            .get(1)
            .and_then(|inner| avro_scalar(inner, v))
            .map(|a| A::Union(1, Box::new(a)))
            .ok_or_else(|| Some(f.name.clone())),
        (S::Union(_), _) => Ok(nullable(&f.schema, v)),
        (scalar, v) => v
            .and_then(|v| avro_scalar(scalar, v))
            .ok_or_else(|| Some(f.name.clone())),
    }
}

/// A platform event's log entry, read in place.
#[derive(Debug)]
pub(crate) struct LogView<'a> {
    pub(crate) schema: &'a str,
    pub(crate) uuid: &'a str,
    /// Where the Avro payload starts.
    pub(crate) avro_at: usize,
}

pub(crate) fn log_view(b: &[u8]) -> Option<LogView<'_>> {
    fn part<'a>(b: &'a [u8], at: &mut usize) -> Option<&'a str> {
        let len = usize::from(u16::from_le_bytes([*b.get(*at)?, *b.get(*at + 1)?]));
        let text = std::str::from_utf8(b.get(*at + 2..*at + 2 + len)?).ok()?;
        *at += 2 + len;
        Some(text)
    }
    if b.first() != Some(&LOG_FORM) {
        return None;
    }
    let mut at = 1;
    let schema = part(b, &mut at)?;
    let uuid = part(b, &mut at)?;
    Some(LogView {
        schema,
        uuid,
        avro_at: at,
    })
}

/// [`avro_event`] of an entry in the log form, read in place (its payload a slice of the
/// entry); `None` for an entry in an earlier version's JSON form.
pub fn avro_event_in_place(entry: &Bytes) -> Option<AvroEvent> {
    let v = log_view(entry)?;
    Some(AvroEvent {
        uuid: v.uuid.to_owned(),
        schema_id: v.schema.to_owned(),
        payload: entry.slice(v.avro_at..),
    })
}

/// A platform event's log entry as the Pub/Sub API delivers it: its `EventUuid`, the
/// schema id it was published with, and its payload in that schema.
pub fn avro_event(entry: &Bytes, schemas: &Schemas) -> Option<AvroEvent> {
    if let Some(event) = avro_event_in_place(entry) {
        return Some(event);
    }
    let stored: Stored = serde_json::from_slice(entry).ok()?;
    let schema = schemas.avro(&stored.schema)?;
    let payload = stored.to_avro(&schema)?.into();
    Some(AvroEvent {
        uuid: stored.uuid,
        schema_id: stored.schema,
        payload,
    })
}

/// A platform event's log entry read back: the event and the schema it was published
/// with. Entries of either form (the log form, or an earlier version's JSON document).
pub fn read_log(entry: &[u8], schemas: &Schemas) -> Option<(Stored, Arc<S>)> {
    match log_view(entry) {
        Some(v) => {
            let schema = schemas.avro(v.schema)?;
            let value = forcebus_avro::decode(&schema, &entry[v.avro_at..]).ok()?;
            let stored = Stored {
                schema: v.schema.to_owned(),
                uuid: v.uuid.to_owned(),
                payload: stored_values(&schema, &value)?,
            };
            Some((stored, schema))
        }
        None => {
            let stored: Stored = serde_json::from_slice(entry).ok()?;
            let schema = schemas.avro(&stored.schema)?;
            Some((stored, schema))
        }
    }
}

/// A platform event's Streaming API `data`, from its log entry.
pub fn cometd_data(entry: &[u8], replay_id: u64, schemas: &Schemas) -> Option<Value> {
    let (stored, schema) = read_log(entry, schemas)?;
    Some(stored.cometd_data(replay_id, &schema))
}

/// The stored field values of a decoded platform event (`CreatedDate`, `CreatedById`, then
/// the custom fields, nulls included), as [`Stored::payload`] holds them: datetimes in the
/// REST form, dates as `YYYY-MM-DD`.
pub fn stored_values(schema: &S, value: &A) -> Option<Map<String, Value>> {
    let rec = schema.as_record()?;
    let A::Record(values) = value else {
        return None;
    };
    let mut out = Map::new();
    for (f, v) in rec.fields.iter().zip(values) {
        let doc = f.doc.as_deref().unwrap_or_default();
        let v = match (&f.schema, v) {
            (S::Union(_), A::Union(_, inner)) => &**inner,
            (_, v) => v,
        };
        let json = match v {
            A::Null => Value::Null,
            A::Boolean(b) => Value::Bool(*b),
            A::Int(days) if doc.ends_with(":Date") => {
                Value::String(time::date_text(i64::from(*days))?)
            }
            A::Int(i) => Value::from(*i),
            A::Long(ms) if doc.ends_with(":DateTime") => Value::String(time::datetime_text(*ms)?),
            A::Long(l) => Value::from(*l),
            A::Double(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
            A::String(text) => Value::String(text.clone()),
            _ => return None,
        };
        out.insert(f.name.clone(), json);
    }
    Some(out)
}

/// Field values from a decoded Avro record of `schema` (the definition's schema, or an
/// older version of it: a Pub/Sub publish), as a client would have sent them over REST.
/// `CreatedDate` and `CreatedById` are the publisher's and are dropped; a field `event`
/// no longer has is kept, so that publishing fails on it.
pub fn values_from_avro(event: &ObjectDef, schema: &S, value: &A) -> Map<String, Value> {
    let json = forcebus_avro::to_json(schema, value);
    let mut out = Map::new();
    let Value::Object(m) = json else {
        return out;
    };
    for (name, v) in &m {
        if name != "CreatedDate"
            && name != "CreatedById"
            && event.field(name).is_none()
            && !v.is_null()
        {
            out.insert(name.clone(), v.clone());
        }
    }
    for f in event.fields.iter().filter(|f| f.custom) {
        let v = field_from_json(f, m.get(&f.name).cloned());
        if !v.is_null() {
            out.insert(f.name.clone(), v);
        }
    }
    out
}

/// A custom field's value as a client would have sent it over REST, from the JSON of its
/// Avro value ([`forcebus_avro::to_json`]; `None` when the record has no such field):
/// datetimes and dates, which Avro holds as numbers, as text.
pub fn field_from_json(f: &FieldDef, json: Option<Value>) -> Value {
    // `to_json` shows a union's value under its branch name, as Avro's JSON does.
    let v = match json {
        Some(Value::Object(branch)) if branch.len() == 1 => {
            branch.into_iter().next().map_or(Value::Null, |(_, v)| v)
        }
        Some(v) => v,
        None => Value::Null,
    };
    match (f.ftype, v) {
        (FieldType::Datetime, Value::Number(n)) => n
            .as_i64()
            .and_then(time::datetime_text)
            .map_or(Value::Null, Value::String),
        (FieldType::Date, Value::Number(n)) => n
            .as_i64()
            .and_then(time::date_text)
            .map_or(Value::Null, Value::String),
        (_, v) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any bytes are read as a log entry or refused, never a panic; an entry written
        /// reads back whole.
        #[test]
        fn log_entries_are_read_safely(
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            schema in "[A-Za-z0-9_-]{0,40}",
            uuid in "[a-f0-9-]{0,36}",
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            let _ = log_view(&junk);
            let mut entry = vec![LOG_FORM];
            for part in [schema.as_bytes(), uuid.as_bytes()] {
                entry.extend_from_slice(&(part.len() as u16).to_le_bytes());
                entry.extend_from_slice(part);
            }
            entry.extend_from_slice(&payload);
            let v = log_view(&entry).expect("an entry");
            proptest::prop_assert_eq!((v.schema, v.uuid), (schema.as_str(), uuid.as_str()));
            proptest::prop_assert_eq!(&entry[v.avro_at..], &payload[..]);
            for cut in 0..entry.len().min(5 + schema.len() + uuid.len()) {
                let _ = log_view(&entry[..cut]);
            }
        }
    }
}
