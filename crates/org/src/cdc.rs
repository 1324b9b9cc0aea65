//! Change Data Capture: the change events of a transaction, built from each touched
//! record's state before and after it (`org-rest-cdc.md` §4).
//!
//! One event per record change (repeated changes in a transaction are already one end
//! state); identical updates, and deletes, of several records of one entity merge into one
//! event listing every id; events past the overflow threshold become one `GAP_OVERFLOW` per
//! entity; an event too large becomes a header-only `GAP_*` event. Events are stored as a
//! neutral JSON document ([`ChangeEvent`]); each protocol renders it once in its own format.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use forcebus_avro::change::{EventField, event_fields};
use forcebus_meta::{FieldType, ObjectDef, Schema};

use crate::record::Record;

/// Retention class of change and platform events (72 hours).
pub const CLASS_EVENTS: u8 = 0;

/// The record id overflow events carry.
pub const OVERFLOW_ID: &str = "000000000000000AAA";

/// CDC settings.
#[derive(Debug, Clone)]
pub struct CdcConfig {
    /// Merge identical updates and deletes of several records into one event.
    pub merge: bool,
    /// Changes in one transaction past which events become `GAP_OVERFLOW`.
    pub overflow_threshold: usize,
    /// Largest event; larger ones become header-only `GAP_*` events.
    pub max_event_bytes: usize,
    /// Objects that publish change events; every object when `None` (unlike Salesforce,
    /// where nothing is selected until an admin selects it).
    pub entities: Option<Vec<String>>,
}

impl Default for CdcConfig {
    fn default() -> Self {
        Self {
            merge: true,
            overflow_threshold: 100_000,
            max_event_bytes: 1 << 20,
            entities: None,
        }
    }
}

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

/// A change event as stored in the log.
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

/// A member of a custom channel, as the transaction sees it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) channel: String,
    pub(crate) entity: String,
    pub(crate) filter: Option<String>,
    pub(crate) enriched: Vec<String>,
}

impl Member {
    pub(crate) fn from_record(r: &Record) -> Option<Self> {
        let channel = r.get_str("EventChannel")?.to_owned();
        (!r.is_deleted && channel != "ChangeEvents").then(|| Self {
            channel,
            entity: r.get_str("SelectedEntity").unwrap_or_default().to_owned(),
            filter: r
                .get_str("FilterExpression")
                .filter(|f| !f.trim().is_empty())
                .map(str::to_owned),
            enriched: {
                let mut names: Vec<String> = r
                    .get_str("EnrichedFields")
                    .and_then(|s| serde_json::from_str(s).ok())
                    .unwrap_or_default();
                // Fields a filter names are enriched too (`org-rest-cdc.md` §4.8).
                for f in r
                    .get_str("FilterExpression")
                    .map(crate::filter::referenced_fields)
                    .unwrap_or_default()
                {
                    if !names.iter().any(|n| n.eq_ignore_ascii_case(&f)) {
                        names.push(f);
                    }
                }
                names
            },
        })
    }
}

/// What the transaction is, for every event it produces.
pub(crate) struct TxnInfo<'a> {
    pub(crate) schema: &'a Schema,
    pub(crate) members: Vec<Member>,
    pub(crate) now: chrono::DateTime<chrono::Utc>,
    pub(crate) transaction_key: &'a str,
    pub(crate) change_origin: &'a str,
    pub(crate) commit_timestamp: i64,
    pub(crate) commit_number: i64,
    pub(crate) commit_user: String,
}

/// One record's change.
pub(crate) struct Change<'a> {
    pub(crate) object: &'a ObjectDef,
    pub(crate) before: Option<&'a Record>,
    pub(crate) after: Option<&'a Record>,
}

fn part_value(rec: &Record, f: Option<&forcebus_meta::FieldDef>) -> Value {
    f.map_or(Value::Null, |f| rec.get(&f.name).clone())
}

/// What one record change amounts to.
struct Described {
    kind: &'static str,
    body: Map<String, Value>,
    changed: Vec<String>,
    nulled: Vec<String>,
    /// Fields whose value is a unified diff.
    diffs: Vec<String>,
}

/// Change type, body, changed and nulled fields of one change; `None` when nothing is emitted.
fn describe(c: &Change<'_>) -> Option<Described> {
    fn live(r: Option<&Record>) -> Option<&Record> {
        r.filter(|r| !r.is_deleted)
    }
    let kind = match (c.before, c.after) {
        (None, Some(a)) if !a.is_deleted => "CREATE",
        (Some(b), Some(a)) if !b.is_deleted && !a.is_deleted => "UPDATE",
        (Some(b), Some(a)) if !b.is_deleted && a.is_deleted => "DELETE",
        (Some(b), Some(a)) if b.is_deleted && !a.is_deleted => "UNDELETE",
        _ => return None,
    };
    let mut body = Map::new();
    let (mut changed, mut nulled, mut diffs) = (Vec::new(), Vec::new(), Vec::new());
    let fields = event_fields(c.object);
    match kind {
        "CREATE" | "UNDELETE" => {
            let after = live(c.after)?;
            for ef in &fields {
                match ef {
                    EventField::Scalar(f) => {
                        let v = after.get(&f.name);
                        if !v.is_null() {
                            body.insert(f.name.clone(), v.clone());
                        }
                    }
                    EventField::Compound { name, parts } => {
                        let m: Map<String, Value> = parts
                            .iter()
                            .map(|(p, f)| (p.clone(), part_value(after, *f)))
                            .filter(|(_, v)| !v.is_null())
                            .collect();
                        if !m.is_empty() {
                            body.insert(name.clone(), Value::Object(m));
                        }
                    }
                }
            }
        }
        "UPDATE" => {
            let (before, after) = (c.before?, c.after?);
            for ef in &fields {
                match ef {
                    EventField::Scalar(f) => {
                        let (old, new) = (before.get(&f.name), after.get(&f.name));
                        if old != new || f.name == "LastModifiedDate" {
                            changed.push(f.name.clone());
                            if new.is_null() {
                                nulled.push(f.name.clone());
                            }
                            let diff = match (f.ftype, old, new) {
                                (FieldType::Textarea, Value::String(o), Value::String(n))
                                    if f.length > 255 =>
                                {
                                    crate::textdiff::diff(o, n)
                                }
                                _ => None,
                            };
                            match diff {
                                Some(d) => {
                                    diffs.push(f.name.clone());
                                    body.insert(f.name.clone(), Value::String(d));
                                }
                                None => {
                                    body.insert(f.name.clone(), new.clone());
                                }
                            }
                        }
                    }
                    EventField::Compound { name, parts } => {
                        let mut m = Map::new();
                        for (p, f) in parts {
                            let (old, new) = (part_value(before, *f), part_value(after, *f));
                            if old != new {
                                changed.push(format!("{name}.{p}"));
                                if new.is_null() {
                                    nulled.push(format!("{name}.{p}"));
                                }
                                m.insert(p.clone(), new);
                            }
                        }
                        if !m.is_empty() {
                            body.insert(name.clone(), Value::Object(m));
                        }
                    }
                }
            }
        }
        _ => {}
    }
    Some(Described {
        kind,
        body,
        changed,
        nulled,
        diffs,
    })
}

/// A header-only event: gaps (`GAP_*`, `GAP_OVERFLOW`) carry no body.
fn gap(
    entity: &str,
    change_type: String,
    record_ids: Vec<String>,
    txn: &TxnInfo<'_>,
    schema_ids: &HashMap<String, String>,
) -> ChangeEvent {
    ChangeEvent {
        schema_id: schema_ids.get(entity).cloned().unwrap_or_default(),
        header: Header {
            entity_name: entity.to_owned(),
            record_ids,
            change_type,
            change_origin: txn.change_origin.to_owned(),
            transaction_key: txn.transaction_key.to_owned(),
            sequence_number: 0,
            commit_timestamp: txn.commit_timestamp,
            commit_number: txn.commit_number,
            commit_user: txn.commit_user.clone(),
            nulled_fields: Vec::new(),
            diff_fields: Vec::new(),
            changed_fields: Vec::new(),
        },
        fields: Map::new(),
        channels: Vec::new(),
        enriched: Map::new(),
    }
}

/// The change events of one transaction, in order, sequence-numbered from 1, as log
/// entries (each serialized once). In bulk-load
/// mode every change becomes a header-only `GAP_*` event, one per entity and change type.
pub(crate) fn events(
    changes: &[Change<'_>],
    txn: &TxnInfo<'_>,
    schema_ids: &HashMap<String, String>,
    config: &CdcConfig,
    bulk_load: bool,
) -> Vec<forcebus_eventlog::NewEvent> {
    let mut out: Vec<ChangeEvent> = Vec::new();
    let mut merged: HashMap<String, usize> = HashMap::new();
    let mut counted = 0usize;
    let mut overflowed: Vec<String> = Vec::new();
    for c in changes {
        let Some(Described {
            kind,
            body: fields,
            changed,
            nulled,
            diffs,
        }) = describe(c)
        else {
            continue;
        };
        if bulk_load {
            let id = c
                .after
                .or(c.before)
                .map(|r| r.id.to18())
                .expect("a change has a record");
            let change_type = format!("GAP_{kind}");
            match out.iter_mut().find(|e| {
                e.header.entity_name == c.object.name && e.header.change_type == change_type
            }) {
                Some(e) => e.header.record_ids.push(id),
                None => out.push(gap(&c.object.name, change_type, vec![id], txn, schema_ids)),
            }
            continue;
        }
        let entity = c.object.name.clone();
        let id = c
            .after
            .or(c.before)
            .map(|r| r.id.to18())
            .expect("a change has a record");
        counted += if kind == "UPDATE" {
            changed.len().max(1)
        } else {
            1
        };
        if counted > config.overflow_threshold {
            if !overflowed.contains(&entity) {
                overflowed.push(entity);
            }
            continue;
        }
        let header = Header {
            entity_name: entity.clone(),
            record_ids: vec![id],
            change_type: kind.to_owned(),
            change_origin: txn.change_origin.to_owned(),
            transaction_key: txn.transaction_key.to_owned(),
            sequence_number: 0,
            commit_timestamp: txn.commit_timestamp,
            commit_number: txn.commit_number,
            commit_user: txn.commit_user.clone(),
            nulled_fields: nulled,
            diff_fields: diffs,
            changed_fields: changed,
        };
        let schema_id = schema_ids.get(&entity).cloned().unwrap_or_default();
        let mut event = ChangeEvent {
            schema_id,
            header,
            fields,
            channels: Vec::new(),
            enriched: Map::new(),
        };
        route(&mut event, c, txn);
        if config.merge && matches!(kind, "UPDATE" | "DELETE") {
            let key = serde_json::to_string(&(
                &entity,
                kind,
                &event.fields,
                &event.header.changed_fields,
                &event.header.nulled_fields,
            ))
            .expect("JSON values serialise");
            if let Some(&i) = merged.get(&key) {
                out[i].header.record_ids.extend(event.header.record_ids);
                continue;
            }
            merged.insert(key, out.len());
        }
        out.push(event);
    }
    for entity in overflowed {
        out.push(gap(
            &entity,
            "GAP_OVERFLOW".to_owned(),
            vec![OVERFLOW_ID.to_owned()],
            txn,
            schema_ids,
        ));
    }
    out.into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e.header.sequence_number = i as i32 + 1;
            let mut payload = serde_json::to_vec(&e).expect("change events serialise");
            if payload.len() > config.max_event_bytes && !e.header.change_type.starts_with("GAP_") {
                e.header.change_type = format!("GAP_{}", e.header.change_type);
                e.fields.clear();
                e.header.changed_fields.clear();
                e.header.nulled_fields.clear();
                payload = serde_json::to_vec(&e).expect("change events serialise");
            }
            forcebus_eventlog::NewEvent {
                kind: forcebus_avro::change::entity_name(&e.header.entity_name),
                class: CLASS_EVENTS,
                payload,
            }
        })
        .collect()
}

/// Records which custom channels an event passes (their member filters, evaluated on the
/// record after the change) and, for updates and deletes, their enriched fields' values.
fn route(event: &mut ChangeEvent, c: &Change<'_>, txn: &TxnInfo<'_>) {
    let entity = entity_name_of(c.object);
    let Some(record) = c.after.or(c.before) else {
        return;
    };
    for m in txn.members.iter().filter(|m| m.entity == entity) {
        let pass = m.filter.as_deref().is_none_or(|f| {
            crate::filter::matches(txn.schema, c.object, record, &event.header, f, txn.now)
        });
        if !pass {
            continue;
        }
        if !event.channels.contains(&m.channel) {
            event.channels.push(m.channel.clone());
        }
        if matches!(event.header.change_type.as_str(), "UPDATE" | "DELETE") {
            let values: Map<String, Value> = m
                .enriched
                .iter()
                .filter_map(|name| {
                    let f = c.object.field(name)?;
                    let v = record.rest_value(c.object, &f.name);
                    (!v.is_null()).then(|| (f.name.clone(), v))
                })
                .collect();
            if !values.is_empty() {
                event
                    .enriched
                    .insert(m.channel.clone(), Value::Object(values));
            }
        }
    }
}

/// Schema ids of every object's change events.
pub(crate) fn schema_ids(schema: &Schema) -> HashMap<String, String> {
    schema
        .objects()
        .iter()
        .map(|o| {
            (
                o.name.clone(),
                forcebus_avro::schema_id(&forcebus_avro::change::change_event_schema(o)),
            )
        })
        .collect()
}

/// Converts a stored value to the Avro value of `schema` (a field's type or a union
/// branch): datetimes to epoch milliseconds, dates to days since the epoch.
pub(crate) fn avro_scalar(
    schema: &forcebus_avro::Schema,
    v: &Value,
) -> Option<forcebus_avro::Value> {
    use forcebus_avro::{Schema as S, Value as A};
    Some(match (schema, v) {
        (S::String, Value::String(s)) => A::String(s.clone()),
        (S::String, other) => A::String(other.to_string()),
        (S::Boolean, Value::Bool(b)) => A::Boolean(*b),
        (S::Double, Value::Number(n)) => A::Double(n.as_f64()?),
        (S::Long, Value::Number(n)) => A::Long(n.as_i64()?),
        (S::Long, Value::String(s)) => A::Long(forcebus_meta_time::millis(s)?),
        (S::Int, Value::Number(n)) => A::Int(i32::try_from(n.as_i64()?).ok()?),
        (S::Int, Value::String(s)) => A::Int(forcebus_meta_time::days(s)?),
        _ => return None,
    })
}

/// `["null", T]` for a value that may be absent or null.
pub(crate) fn nullable(schema: &forcebus_avro::Schema, v: Option<&Value>) -> forcebus_avro::Value {
    use forcebus_avro::{Schema as S, Value as A};
    let null = A::Union(0, Box::new(A::Null));
    let (Some(v), S::Union(branches)) = (v.filter(|v| !v.is_null()), schema) else {
        return null;
    };
    let Some(inner) = branches.get(1) else {
        return null;
    };
    let value = match (inner, v) {
        (S::Record(rec), Value::Object(parts)) => A::Record(
            rec.fields
                .iter()
                .map(|f| nullable(&f.schema, parts.get(&f.name)))
                .collect(),
        ),
        (scalar, v) => match avro_scalar(scalar, v) {
            Some(a) => a,
            None => return null,
        },
    };
    A::Union(1, Box::new(value))
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

mod forcebus_meta_time {
    //! Stored date and datetime text to Avro's numbers.
    use chrono::{DateTime, NaiveDate};

    /// `2024-05-01T12:34:56.000+0000` to epoch milliseconds.
    pub(super) fn millis(s: &str) -> Option<i64> {
        stored_millis(s).or_else(|| {
            DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
                .ok()
                .map(|t| t.timestamp_millis())
        })
    }

    /// The stored form, exactly `YYYY-MM-DDTHH:MM:SS.mmm±hhmm`, read by position: every
    /// event rendered to Avro converts its datetimes, and a format-string parse is most of
    /// that cost. Anything else is left to the general parse.
    pub(super) fn stored_millis(s: &str) -> Option<i64> {
        let b = s.as_bytes();
        if b.len() != 28
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'.'
            || !matches!(b[23], b'+' | b'-')
        {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<u32> {
            b[from..to].iter().try_fold(0u32, |n, c| {
                c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
            })
        };
        let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
        let (hh, mm) = (num(24, 26)?, num(26, 28)?);
        if hh > 23 || mm > 59 {
            return None;
        }
        let offset = i64::from(hh * 60 + mm) * 60_000;
        let utc = date
            .and_hms_milli_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?)?
            .and_utc()
            .timestamp_millis();
        Some(if b[23] == b'+' {
            utc - offset
        } else {
            utc + offset
        })
    }

    /// `2024-05-01` to days since 1970-01-01.
    pub(super) fn days(s: &str) -> Option<i32> {
        let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
        i32::try_from((d - epoch).num_days()).ok()
    }
}

/// The change-event entity name of an object.
pub fn entity_name_of(object: &ObjectDef) -> String {
    forcebus_avro::change::entity_name(&object.name)
}

/// A channel showing every object's change events (`/data/ChangeEvents` before selection).
pub fn all_change_events(schema: &Schema) -> forcebus_eventlog::Channel {
    forcebus_eventlog::Channel {
        kinds: schema.objects().iter().map(entity_name_of).collect(),
        class: CLASS_EVENTS,
        filter: None,
    }
}

/// A stored datetime (`2024-05-02T08:55:27.000+0000`) as CometD shows it (`…27.000Z`).
pub(crate) fn iso_z(s: &str) -> String {
    s.strip_suffix("+0000")
        .map_or_else(|| s.to_owned(), |t| format!("{t}Z"))
}

/// The `data.payload` of a change event on the Streaming API: `changedFields` as names, no
/// `nulledFields` or `diffFields`, datetimes as ISO strings in UTC, compounds with only the
/// parts present, diffed text as `{"diff": …}` (`org-rest-cdc.md` §4.2–4.6, §4.10).
pub fn to_cometd_payload(event: &ChangeEvent, object: &ObjectDef) -> Value {
    let h = &event.header;
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
    let mut out = Map::new();
    out.insert("ChangeEventHeader".into(), Value::Object(header));
    for (name, v) in &event.fields {
        let rendered = match v {
            // CREATE and UNDELETE documents hold no null parts; an UPDATE's null part is a
            // change to null, shown like any field set to null.
            Value::Object(parts) => Value::Object(parts.clone()),
            Value::String(s) if h.diff_fields.contains(name) => serde_json::json!({"diff": s}),
            Value::String(s)
                if object
                    .field(name)
                    .is_some_and(|f| f.ftype == FieldType::Datetime) =>
            {
                Value::String(iso_z(s))
            }
            other => other.clone(),
        };
        out.insert(name.clone(), rendered);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::forcebus_meta_time::{millis, stored_millis};
    use chrono::DateTime;
    use proptest::prelude::*;

    proptest! {
        /// The positional reading of a stored datetime agrees with chrono's parse, for
        /// any instant and offset.
        #[test]
        fn stored_datetimes_read_by_position_as_chrono_reads_them(
            secs in -2_208_988_800i64..4_102_444_800,
            ms in 0i64..1000,
            offset_min in -840i32..=840,
        ) {
            let tz = chrono::FixedOffset::east_opt(offset_min * 60).unwrap();
            let t = DateTime::from_timestamp_millis(secs * 1000 + ms).unwrap().with_timezone(&tz);
            let text = t.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string();
            prop_assert_eq!(stored_millis(&text), Some(t.timestamp_millis()), "{}", text);
            prop_assert_eq!(millis(&text), Some(t.timestamp_millis()));
        }
    }

    #[test]
    fn other_forms_fall_back_or_fail() {
        assert_eq!(stored_millis("2024-05-01T12:34:56Z"), None);
        assert_eq!(
            millis("2024-05-01T12:34:56.5+0000"),
            Some(1_714_566_896_500)
        );
        assert_eq!(stored_millis("2024-13-01T12:34:56.000+0000"), None);
        assert_eq!(stored_millis("2024-05-01T12:34:56.000+2400"), None);
        assert_eq!(stored_millis("2024-05-01T1x:34:56.000+0000"), None);
        assert_eq!(millis("not a date"), None);
    }
}
