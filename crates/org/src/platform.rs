//! Platform events (`org-rest-cdc.md` §5): definitions `<Name>__e`, publishing, and the
//! stored form each protocol renders once.
//!
//! A definition is declared in the config file or through the metadata endpoint:
//!
//! ```toml
//! [platform_events.Order_Shipped__e]
//! label = "Order Shipped"
//! fields = [
//!   { name = "Order_Number__c", type = "string", length = 20, required = true },
//!   { name = "Weight__c", type = "double", precision = 10, scale = 2 },
//! ]
//! ```
//!
//! Custom fields may be Checkbox (`boolean`), Date, Date/Time, Number (`double`, `int`),
//! Text (`string`) and Text Area (Long) (`textarea`). The standard fields are `ReplayId`,
//! `CreatedDate`, `CreatedById` and `EventUuid`. Each definition's Avro schema (COMPACT)
//! has an id that changes with its fields; every id ever issued stays resolvable.
//!
//! An event is stored as a JSON document (`schema`, `uuid`, `payload` with stored values);
//! the Streaming API shows it as `{"schema", "payload", "event": {"EventUuid", "replayId"}}`
//! and the Pub/Sub API as the Avro record of the schema it was published with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::custom::FieldConfig;
use crate::error::{OrgError, StatusCode};
use crate::meta::{FieldDef, FieldType, ObjectDef};

/// Retention class of platform events (72 hours, like change events).
pub const CLASS: u8 = crate::cdc::CLASS_EVENTS;

/// Largest event payload (1 MB).
pub const MAX_EVENT_BYTES: usize = 1_000_000;

/// When REST publishing makes an event visible (both publish on success here).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PublishBehavior {
    /// Publish when the call runs (the default).
    #[default]
    PublishImmediately,
    /// Publish after the transaction commits.
    PublishAfterCommit,
}

/// A platform event definition as declared.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventConfig {
    /// Singular label; defaults to the name without `__e`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Plural label; defaults to the label plus `s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plural_label: Option<String>,
    /// `PublishImmediately` (default) or `PublishAfterCommit`.
    #[serde(default)]
    pub publish_behavior: PublishBehavior,
    /// Custom fields, in order.
    #[serde(default)]
    pub fields: Vec<FieldConfig>,
}

/// A platform event definition, ready to publish against.
#[derive(Debug, Clone)]
pub struct EventDef {
    /// The sObject shape (standard fields, then the custom ones): describe reads it.
    pub object: ObjectDef,
    /// The COMPACT Avro schema.
    pub schema: forcebus_avro::Schema,
    /// Its id.
    pub schema_id: String,
    /// The declaration.
    pub config: EventConfig,
}

impl EventDef {
    /// Builds a definition; `prefix` is its key prefix (`e00`, `e01`, ...).
    pub fn build(name: &str, config: &EventConfig, prefix: &str) -> Result<Self, String> {
        let at = format!("platform_events.{name}");
        let base = name.strip_suffix("__e").unwrap_or_default();
        if base.is_empty()
            || base.len() > 40
            || !base.starts_with(|c: char| c.is_ascii_alphabetic())
            || !base.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || base.contains("__")
            || base.ends_with('_')
        {
            return Err(format!(
                "{at}: a platform event's name is a letter, then up to 39 letters, digits or \
                 single underscores, ending in __e"
            ));
        }
        let label = config
            .label
            .clone()
            .unwrap_or_else(|| base.replace('_', " "));
        let plural = config
            .plural_label
            .clone()
            .unwrap_or_else(|| format!("{label}s"));
        if config.fields.len() > MAX_EVENT_FIELDS {
            return Err(format!(
                "{at}: a platform event has at most {MAX_EVENT_FIELDS} custom fields; got {}",
                config.fields.len()
            ));
        }
        let mut fields = standard_fields();
        for c in &config.fields {
            if !matches!(
                c.ftype,
                FieldType::Boolean
                    | FieldType::Date
                    | FieldType::Datetime
                    | FieldType::Double
                    | FieldType::Int
                    | FieldType::String
                    | FieldType::Textarea
            ) {
                return Err(format!(
                    "{at}.fields.{}: platform event fields are boolean, date, datetime, double, \
                     int, string or textarea; not {}",
                    c.name,
                    c.ftype.name()
                ));
            }
            if c.external_id || c.unique || c.default.is_some() && c.ftype != FieldType::Boolean {
                return Err(format!(
                    "{at}.fields.{}: platform event fields have no external id, uniqueness or \
                     default",
                    c.name
                ));
            }
            let mut f = crate::custom::field_def(name, c)
                .map_err(|e| e.replacen(&format!("objects.{name}"), &at, 1))?;
            f.updateable = false;
            if fields.iter().any(|g| g.name.eq_ignore_ascii_case(&f.name)) {
                return Err(format!("{at}.fields.{}: declared twice", c.name));
            }
            fields.push(f);
        }
        let mut object = ObjectDef::new(name, &label, &plural, prefix, fields);
        object.custom = true;
        object.deletable = false;
        let schema = forcebus_avro::platform::event_schema(&object);
        let schema_id = forcebus_avro::schema_id(&schema);
        Ok(Self {
            object,
            schema,
            schema_id,
            config: config.clone(),
        })
    }

    /// The event's name, `Order_Shipped__e`.
    pub fn name(&self) -> &str {
        &self.object.name
    }

    /// Validates one event's field values (as a client sent them) and builds its stored
    /// document.
    pub fn prepare(
        &self,
        input: &Map<String, Value>,
        created_by: &str,
        created_date: &str,
    ) -> Result<Stored, OrgError> {
        self.prepare_as(input, created_by, created_date, None)
    }

    /// [`EventDef::prepare`] with the `EventUuid` given (a Pub/Sub publisher's event id).
    pub fn prepare_as(
        &self,
        input: &Map<String, Value>,
        created_by: &str,
        created_date: &str,
        uuid: Option<&str>,
    ) -> Result<Stored, OrgError> {
        let mut values = Map::new();
        for (name, raw) in input {
            if name == "attributes" {
                continue;
            }
            let f = self
                .object
                .field(name)
                .ok_or_else(|| OrgError::no_such_field(&self.object.name, name))?;
            if !f.createable {
                return Err(crate::value::not_writable(f));
            }
            values.insert(f.name.clone(), crate::value::coerce(f, raw)?);
        }
        let mut payload = Map::new();
        payload.insert("CreatedDate".into(), json!(created_date));
        payload.insert("CreatedById".into(), json!(created_by));
        let mut missing = Vec::new();
        for f in self.object.fields.iter().filter(|f| f.custom) {
            let v = match values.remove(&f.name) {
                Some(v) => v,
                None if f.ftype == FieldType::Boolean => {
                    f.default_value.clone().unwrap_or(Value::Bool(false))
                }
                None => Value::Null,
            };
            if v.is_null() && !f.nillable {
                missing.push(f.name.clone());
            }
            payload.insert(f.name.clone(), v);
        }
        if !missing.is_empty() {
            return Err(OrgError {
                code: StatusCode::RequiredFieldMissing,
                message: format!("Required fields are missing: [{}]", missing.join(", ")),
                fields: missing,
            });
        }
        let stored = Stored {
            schema: self.schema_id.clone(),
            uuid: uuid.map_or_else(crate::new_uuid, str::to_owned),
            payload,
        };
        Ok(stored)
    }

    /// The log form of an event prepared against this definition ([`Stored::to_log`]). A
    /// value its field accepts but its Avro type cannot hold (an `int` past 32 bits) is
    /// refused here rather than stored as null.
    pub fn log_form(&self, stored: &Stored) -> Result<Vec<u8>, OrgError> {
        stored.to_log(&self.schema).map_err(|misfit| {
            let field = misfit.as_deref().and_then(|name| self.object.field(name));
            match (field, field.and_then(|f| stored.payload.get(&f.name))) {
                (Some(f), Some(v)) => crate::value::out_of_range(f, v),
                _ => OrgError::new(
                    StatusCode::UnknownException,
                    "The event cannot be encoded in its schema",
                ),
            }
        })
    }

    /// Field values from a decoded Avro record of `schema` (this definition's, or an older
    /// version of it; a Pub/Sub publish). `CreatedDate` and `CreatedById` are the
    /// publisher's and are replaced; a field the definition no longer has is kept, so
    /// that publishing fails on it.
    pub fn values_from_avro(
        &self,
        schema: &forcebus_avro::Schema,
        value: &forcebus_avro::Value,
    ) -> Map<String, Value> {
        let json = forcebus_avro::to_json(schema, value);
        let mut out = Map::new();
        let Value::Object(m) = json else {
            return out;
        };
        for (name, v) in &m {
            if name != "CreatedDate"
                && name != "CreatedById"
                && self.object.field(name).is_none()
                && !v.is_null()
            {
                out.insert(name.clone(), v.clone());
            }
        }
        for f in self.object.fields.iter().filter(|f| f.custom) {
            // `to_json` shows a union's value under its branch name, as Avro's JSON does.
            let v = match m.get(&f.name) {
                Some(Value::Object(branch)) if branch.len() == 1 => {
                    branch.values().next().cloned().unwrap_or(Value::Null)
                }
                Some(v) => v.clone(),
                None => Value::Null,
            };
            let v = match (f.ftype, v) {
                (FieldType::Datetime, Value::Number(n)) => n
                    .as_i64()
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map_or(Value::Null, |t| json!(crate::clock::format_datetime(t))),
                (FieldType::Date, Value::Number(n)) => n
                    .as_i64()
                    .and_then(|d| {
                        chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?
                            .checked_add_signed(chrono::Duration::days(d))
                    })
                    .map_or(Value::Null, |d| json!(d.format("%Y-%m-%d").to_string())),
                (_, v) => v,
            };
            if !v.is_null() {
                out.insert(f.name.clone(), v);
            }
        }
        out
    }
}

fn standard_fields() -> Vec<FieldDef> {
    let mut replay = FieldDef::new("ReplayId", "Replay ID", FieldType::String);
    replay.length = 255;
    let created = FieldDef::new("CreatedDate", "Created Date", FieldType::Datetime);
    let mut by = FieldDef::new("CreatedById", "Created By ID", FieldType::Reference);
    by.reference_to = vec!["User".into()];
    by.relationship_name = Some("CreatedBy".into());
    let mut uuid = FieldDef::new("EventUuid", "Event UUID", FieldType::String);
    uuid.length = 36;
    let mut out = vec![replay, created, by, uuid];
    for f in &mut out {
        f.createable = false;
        f.updateable = false;
        f.custom = false;
    }
    out[1].nillable = false;
    out[2].nillable = false;
    out
}

/// An event as the log stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stored {
    /// The schema id it was published with.
    pub schema: String,
    /// `EventUuid`.
    pub uuid: String,
    /// `CreatedDate`, `CreatedById` and the custom fields, as stored values.
    pub payload: Map<String, Value>,
}

impl Stored {
    /// The `data` of a Streaming API message: the fields `schema` (the one the event was
    /// published with) types as datetimes in UTC with `Z`, the rest as stored.
    pub fn cometd_data(&self, replay_id: u64, schema: &forcebus_avro::Schema) -> Value {
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
                    Value::String(s) if datetime(k) => json!(crate::cdc::iso_z(s)),
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
    pub fn to_log(&self, schema: &forcebus_avro::Schema) -> Result<Vec<u8>, Option<String>> {
        let avro =
            forcebus_avro::encode(schema, &self.avro_record(schema, true)?).map_err(|_| None)?;
        let mut out = Vec::with_capacity(5 + self.schema.len() + self.uuid.len() + avro.len());
        out.push(LOG_FORM);
        for part in [self.schema.as_bytes(), self.uuid.as_bytes()] {
            out.extend_from_slice(&u16::try_from(part.len()).map_err(|_| None)?.to_le_bytes());
            out.extend_from_slice(part);
        }
        out.extend_from_slice(&avro);
        Ok(out)
    }

    /// The Avro payload against `schema` (the schema this event was published with). A
    /// value its type cannot hold is sent as null (events stored as JSON, before the log
    /// form refused such values).
    pub fn to_avro(&self, schema: &forcebus_avro::Schema) -> Option<Vec<u8>> {
        let record = self.avro_record(schema, false).ok()?;
        forcebus_avro::encode(schema, &record).ok()
    }

    /// The Avro record against `schema`. A nullable field's value that its type cannot
    /// hold is an error naming the field when `strict`, and null otherwise.
    fn avro_record(
        &self,
        schema: &forcebus_avro::Schema,
        strict: bool,
    ) -> Result<forcebus_avro::Value, Option<String>> {
        use forcebus_avro::{Schema as S, Value as A};
        let rec = schema.as_record().ok_or(None)?;
        let values = rec
            .fields
            .iter()
            .map(|f| {
                let v = self.payload.get(&f.name);
                match (&f.schema, v.filter(|v| !v.is_null())) {
                    (S::Union(branches), Some(v)) if strict => branches
                        .get(1)
                        .and_then(|inner| crate::cdc::avro_scalar(inner, v))
                        .map(|a| A::Union(1, Box::new(a)))
                        .ok_or_else(|| Some(f.name.clone())),
                    (S::Union(_), _) => Ok(crate::cdc::nullable(&f.schema, v)),
                    (scalar, v) => v
                        .and_then(|v| crate::cdc::avro_scalar(scalar, v))
                        .ok_or_else(|| Some(f.name.clone())),
                }
            })
            .collect::<Result<Vec<A>, Option<String>>>()?;
        Ok(A::Record(values))
    }
}

/// First byte of a platform event in the log (the form [`Stored::to_log`] writes). Events
/// stored by earlier versions are JSON documents, which start with `{`, and stay readable.
pub const LOG_FORM: u8 = 0xA1;

/// A platform event's log entry, read in place.
#[derive(Debug)]
struct LogView<'a> {
    schema: &'a str,
    uuid: &'a str,
    /// Where the Avro payload starts.
    avro_at: usize,
}

fn log_view(b: &[u8]) -> Option<LogView<'_>> {
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

/// The stored field values of a decoded platform event (`CreatedDate`, `CreatedById`, then
/// the custom fields, nulls included), as [`Stored::payload`] holds them: datetimes in the
/// REST form, dates as `YYYY-MM-DD`.
fn stored_values(
    schema: &forcebus_avro::Schema,
    value: &forcebus_avro::Value,
) -> Option<Map<String, Value>> {
    use forcebus_avro::{Schema as S, Value as A};
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
                let d = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?
                    .checked_add_signed(chrono::Duration::days(i64::from(*days)))?;
                Value::String(d.format("%Y-%m-%d").to_string())
            }
            A::Int(i) => Value::from(*i),
            A::Long(ms) if doc.ends_with(":DateTime") => Value::String(
                crate::clock::format_datetime(chrono::DateTime::from_timestamp_millis(*ms)?),
            ),
            A::Long(l) => Value::from(*l),
            A::Double(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
            A::String(text) => Value::String(text.clone()),
            _ => return None,
        };
        out.insert(f.name.clone(), json);
    }
    Some(out)
}

/// The definitions of an org, by lower-case name.
#[derive(Debug, Default, Clone)]
pub(crate) struct Registry {
    pub(crate) defs: BTreeMap<String, std::sync::Arc<EventDef>>,
}

impl Registry {
    pub(crate) fn get(&self, name: &str) -> Option<&std::sync::Arc<EventDef>> {
        self.defs.get(&name.to_ascii_lowercase())
    }

    /// The next free key prefix `e00`..`e0z`, `e10`...
    pub(crate) fn next_prefix(&self) -> Option<String> {
        const B36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        (0..36 * 36)
            .map(|i| format!("e{}{}", B36[i / 36] as char, B36[i % 36] as char))
            .find(|p| !self.defs.values().any(|d| &d.object.key_prefix == p))
    }
}

/// Most platform event definitions in an org (Salesforce's allocation in Performance and
/// Unlimited Editions).
pub const MAX_EVENT_DEFINITIONS: usize = 100;

/// Most custom fields on one platform event (Salesforce's custom-field allocation per
/// object in Unlimited Edition). A definition is checked as a whole when it is saved.
pub const MAX_EVENT_FIELDS: usize = 800;

/// What the store keeps per definition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Persisted {
    pub(crate) prefix: String,
    pub(crate) config: EventConfig,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml_fields: Value) -> EventConfig {
        serde_json::from_value(json!({"fields": toml_fields})).expect("config")
    }

    #[test]
    fn definitions_check_names_and_field_types() {
        let ok = EventDef::build(
            "Order_Shipped__e",
            &config(json!([{"name": "Order_Number__c", "type": "string", "length": 20, "required": true},
                           {"name": "Weight__c", "type": "double", "precision": 10, "scale": 2}])),
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
            &config(json!([{"name": "Order_Number__c", "type": "string", "length": 20, "required": true}])),
            "e00",
        )
        .expect("valid");
        assert_ne!(changed.schema_id, ok.schema_id);
    }

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
        let view = log_view(&log).expect("the log form");
        assert_eq!(
            (view.schema, view.uuid),
            (def.schema_id.as_str(), "a-publisher-chosen-id")
        );
        assert_eq!(
            log[view.avro_at..],
            e.to_avro(&def.schema).expect("encodes")[..]
        );
        let value = forcebus_avro::decode(&def.schema, &log[view.avro_at..]).expect("decodes");
        // Compared as text: the field order is on the wire too.
        assert_eq!(
            serde_json::to_string(&stored_values(&def.schema, &value).expect("values"))
                .expect("serialises"),
            serde_json::to_string(&e.payload).expect("serialises")
        );
        assert!(e.payload["Empty__c"].is_null());
        // The older JSON form is not mistaken for the log form.
        assert!(log_view(&serde_json::to_vec(&e).expect("serialises")).is_none());
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
        assert_eq!(err.code, StatusCode::NumberOutsideValidRange, "{err:?}");
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
        let data = e.cometd_data(7, &def.schema);
        assert_eq!(
            data["payload"],
            json!({"CreatedDate": "2024-05-02T09:15:27.481Z", "CreatedById": by, "Model__c": "XZO-5",
                   "Pct__c": 0.2, "Seen__c": "2024-05-01T00:00:00.000Z", "Urgent__c": false})
        );
        assert_eq!(data["event"]["replayId"], 7);
        assert_eq!(data["event"]["EventUuid"], json!(e.uuid));
        assert_eq!(data["schema"], json!(def.schema_id));
        let bytes = e.to_avro(&def.schema).expect("encodes");
        let back = forcebus_avro::decode(&def.schema, &bytes).expect("decodes");
        let values = def.values_from_avro(&def.schema, &back);
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
        let data = n.cometd_data(1, &text.schema);
        assert_eq!(data["payload"]["Note__c"], looks_like);
        assert_eq!(data["payload"]["CreatedDate"], "2024-05-02T09:15:27.481Z");
        let cases = [
            (json!({"Nope__c": 1}), StatusCode::InvalidField),
            (json!({"Pct__c": 1}), StatusCode::RequiredFieldMissing),
            (json!({"Model__c": "TOO LONG"}), StatusCode::StringTooLong),
            (
                json!({"Model__c": "a", "CreatedDate": now}),
                StatusCode::InvalidFieldForInsertUpdate,
            ),
            (
                json!({"Model__c": "a", "Pct__c": "x"}),
                StatusCode::JsonParserError,
            ),
        ];
        for (body, code) in cases {
            let err = def.prepare(&input(body.clone()), by, now).unwrap_err();
            assert_eq!(err.code, code, "{body}: {err:?}");
        }
    }
}

const DEFINITIONS: &str = "platform_events";

/// An event to publish: its definition, its field values, and its `EventUuid` when the
/// publisher chose one.
pub type ToPublish = (std::sync::Arc<EventDef>, Map<String, Value>, Option<String>);

/// A platform event as the Pub/Sub API delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvroEvent {
    /// `EventUuid` (the `ProducerEvent` id).
    pub uuid: String,
    /// The schema it was published with.
    pub schema_id: String,
    /// The Avro payload in that schema.
    pub payload: bytes::Bytes,
}

/// An event ready to append: its kind, its document and that document serialised.
type Prepared = (String, Stored, Vec<u8>);

/// One published event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// `EventUuid`.
    pub uuid: String,
    /// Its position in the log.
    pub replay_id: u64,
}

/// The REST `id` of a published event: the definition's key prefix, not unique (§5).
pub fn rest_id(def: &EventDef) -> crate::RecordId {
    crate::RecordId::mint(&def.object.key_prefix, 1)
}

impl crate::Org {
    /// Loads stored definitions, then applies those of the config file.
    pub(crate) fn load_platform_events(
        &self,
        declared: &BTreeMap<String, EventConfig>,
    ) -> Result<(), forcebus_store::StoreError> {
        let mut registry = Registry::default();
        for (name, text) in self.store.load_values(DEFINITIONS)? {
            let built = serde_json::from_str::<Persisted>(&text)
                .map_err(|e| e.to_string())
                .and_then(|p| EventDef::build(&name, &p.config, &p.prefix));
            match built {
                Ok(def) => {
                    registry
                        .defs
                        .insert(name.to_ascii_lowercase(), std::sync::Arc::new(def));
                }
                Err(e) => {
                    tracing::error!(event = %name, error = %e, "Stored platform event is unreadable; skipped.")
                }
            }
        }
        *self.platform.write().unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(registry);
        for (name, config) in declared {
            let unchanged = self
                .platform_event(name)
                .is_some_and(|d| d.name() == name && &d.config == config);
            if !unchanged && let Err(e) = self.define_platform_event(name, config.clone()) {
                tracing::error!(event = %name, error = %e, "Declared platform event is invalid; skipped.");
            }
        }
        Ok(())
    }

    fn registry(&self) -> std::sync::Arc<Registry> {
        self.platform
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A platform event definition by name (any case).
    pub fn platform_event(&self, name: &str) -> Option<std::sync::Arc<EventDef>> {
        self.platform
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Every platform event definition, by name.
    pub fn platform_events(&self) -> Vec<std::sync::Arc<EventDef>> {
        self.platform
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .defs
            .values()
            .cloned()
            .collect()
    }

    /// Creates or replaces a definition; `Ok(true)` when it is new. A field change gives a
    /// new schema id; events already published keep theirs, and it stays resolvable.
    pub fn define_platform_event(
        &self,
        name: &str,
        config: EventConfig,
    ) -> Result<(std::sync::Arc<EventDef>, bool), String> {
        let _definer = self.definer.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.registry();
        let existing = current.get(name).cloned();
        if let Some(e) = &existing
            && e.name() != name
        {
            return Err(format!(
                "platform_events.{name}: names differ only by case from {}",
                e.name()
            ));
        }
        if self.schema.object(name).is_some() {
            return Err(format!("platform_events.{name}: an object has that name"));
        }
        if existing.is_none() && current.defs.len() >= MAX_EVENT_DEFINITIONS {
            return Err(format!(
                "platform_events.{name}: an org has at most {MAX_EVENT_DEFINITIONS} platform \
                 event definitions"
            ));
        }
        let prefix = match &existing {
            Some(e) => e.object.key_prefix.clone(),
            None => current
                .next_prefix()
                .ok_or_else(|| "too many platform events".to_owned())?,
        };
        let def = std::sync::Arc::new(EventDef::build(name, &config, &prefix)?);
        let mut batch = forcebus_store::Batch::new();
        let persisted = Persisted { prefix, config };
        batch.put(
            DEFINITIONS,
            name,
            Some(serde_json::to_string(&persisted).expect("config serialises")),
        );
        let schema_text = def.schema.to_json().to_string();
        let new_schema = !self
            .schemas_by_id
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&def.schema_id);
        if new_schema {
            batch.put(
                crate::org::SCHEMAS,
                &def.schema_id,
                Some(schema_text.clone()),
            );
        }
        self.store.commit(&batch).map_err(|e| e.to_string())?;
        if new_schema {
            self.schemas_by_id
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(def.schema_id.clone(), schema_text);
        }
        let mut next = (*current).clone();
        next.defs.insert(name.to_ascii_lowercase(), def.clone());
        *self.platform.write().unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(next);
        tracing::info!(event = %name, schema_id = %def.schema_id, "Platform event defined.");
        Ok((def, existing.is_none()))
    }

    /// Removes a definition; its events stay in the log until retention takes them, but no
    /// channel shows them. `Ok(false)` when there was none.
    pub fn remove_platform_event(&self, name: &str) -> Result<bool, forcebus_store::StoreError> {
        let _definer = self.definer.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.registry();
        let Some(def) = current.get(name).cloned() else {
            return Ok(false);
        };
        let mut batch = forcebus_store::Batch::new();
        batch.put(DEFINITIONS, def.name(), None);
        self.store.commit(&batch)?;
        let mut next = (*current).clone();
        next.defs.remove(&name.to_ascii_lowercase());
        *self.platform.write().unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(next);
        Ok(true)
    }

    /// Publishes events, each of its definition. Each is validated; the valid ones are in
    /// the log when this returns (`PublishImmediately`), in one storage commit. With
    /// `all_or_none`, one invalid event fails them all and nothing is published.
    pub fn publish(
        &self,
        caller: &crate::Caller,
        inputs: Vec<(std::sync::Arc<EventDef>, Map<String, Value>)>,
        all_or_none: bool,
    ) -> Result<Vec<Result<Published, OrgError>>, forcebus_store::StoreError> {
        let with_ids: Vec<ToPublish> = inputs.into_iter().map(|(d, m)| (d, m, None)).collect();
        self.publish_with_ids(caller, &with_ids, all_or_none)
    }

    /// [`crate::Org::publish`] where each event may bring its `EventUuid`.
    pub fn publish_with_ids(
        &self,
        caller: &crate::Caller,
        inputs: &[ToPublish],
        all_or_none: bool,
    ) -> Result<Vec<Result<Published, OrgError>>, forcebus_store::StoreError> {
        let (results, pending) = self.publish_deferred(caller, inputs, all_or_none)?;
        self.finish(pending)?;
        Ok(results)
    }

    /// [`crate::Org::publish_with_ids`] in two steps: this one checks and appends (the
    /// events take their replay ids in call order), and [`crate::Org::finish`] (or `finish_async`) waits
    /// for durability. A caller may append its next batch while this one syncs; the results
    /// must not be acknowledged before that returns.
    pub fn publish_deferred(
        &self,
        caller: &crate::Caller,
        inputs: &[ToPublish],
        all_or_none: bool,
    ) -> Result<(Vec<Result<Published, OrgError>>, crate::Pending), forcebus_store::StoreError>
    {
        let mut pending = crate::Pending {
            ticket: 0,
            events: Vec::new(),
        };
        let now = self.clock().now();
        let created_date = crate::clock::format_datetime(now);
        let created_by = caller.user_id.to18();
        let mut results: Vec<Result<Prepared, OrgError>> = inputs
            .iter()
            .map(|(def, i, uuid)| {
                def.prepare_as(i, &created_by, &created_date, uuid.as_deref())
                    .map(|s| (def.name().to_owned(), s, def))
            })
            .map(|r| {
                r.and_then(|(kind, s, def)| {
                    // Encoded once: the size check and the stored form are the same bytes.
                    let bytes = def.log_form(&s)?;
                    if bytes.len() > MAX_EVENT_BYTES {
                        Err(OrgError::new(
                            StatusCode::LimitExceeded,
                            format!(
                                "The event is {} bytes; the maximum is {MAX_EVENT_BYTES}",
                                bytes.len()
                            ),
                        ))
                    } else {
                        Ok((kind, s, bytes))
                    }
                })
            })
            .collect();
        if all_or_none && results.iter().any(Result::is_err) {
            let results = results
                .into_iter()
                .map(|r| {
                    r.and_then(|_| {
                        Err(OrgError::new(
                            StatusCode::AllOrNoneOperationRolledBack,
                            "Record rolled back because not all records were valid and the \
                             request was using AllOrNone header",
                        ))
                    })
                })
                .collect();
            return Ok((results, pending));
        }
        let new_events: Vec<forcebus_eventlog::NewEvent> = results
            .iter_mut()
            .filter_map(|r| r.as_mut().ok())
            .map(|(kind, _, bytes)| forcebus_eventlog::NewEvent {
                kind: kind.clone(),
                class: CLASS,
                payload: std::mem::take(bytes),
            })
            .collect();
        let appended = if new_events.is_empty() {
            Vec::new()
        } else {
            let mut ticket = 0;
            let appended =
                self.log
                    .append_unpublished(new_events, now.timestamp_millis(), |writes| {
                        let mut batch = forcebus_store::Batch::new();
                        batch.writes.extend(writes);
                        ticket = self.store.commit_unsynced(&batch)?;
                        Ok::<_, forcebus_store::StoreError>(())
                    })?;
            pending.ticket = ticket;
            appended
        };
        let mut ids = appended.iter().map(|e| e.replay_id);
        let results = results
            .drain(..)
            .map(|r| {
                r.map(|(_, s, _)| Published {
                    uuid: s.uuid,
                    replay_id: ids.next().unwrap_or(0),
                })
            })
            .collect();
        pending.events = appended;
        Ok((results, pending))
    }

    /// The log channel behind `/event/<Name>__e` or a custom `/event/<Name>__chn`.
    pub fn event_channel(&self, name: &str) -> Option<forcebus_eventlog::Channel> {
        let rest = name.strip_prefix("/event/")?;
        if let Some(dev) = rest.strip_suffix("__chn") {
            let channel = self.scan("PlatformEventChannel", |r| {
                (!r.is_deleted
                    && r.get_str("DeveloperName") == Some(dev)
                    && r.get_str("ChannelType") == Some("event"))
                .then_some(())
            });
            if channel.is_empty() {
                return None;
            }
            let kinds = self.scan("PlatformEventChannelMember", |r| {
                (!r.is_deleted && r.get_str("EventChannel") == Some(rest))
                    .then(|| r.get_str("SelectedEntity").map(str::to_owned))
                    .flatten()
            });
            return Some(forcebus_eventlog::Channel {
                kinds: kinds.into_iter().collect(),
                class: CLASS,
                filter: None,
            });
        }
        let def = self.platform_event(rest).filter(|d| d.name() == rest)?;
        Some(forcebus_eventlog::Channel::of(&[def.name()], CLASS))
    }

    /// A schema (current or older) read back from its JSON, cached.
    pub fn avro_schema(&self, id: &str) -> Option<std::sync::Arc<forcebus_avro::Schema>> {
        let mut cache = self
            .parsed_schemas
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(s) = cache.get(id) {
            return Some(s.clone());
        }
        let text = self
            .schemas_by_id
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()?;
        let json: Value = serde_json::from_str(&text).ok()?;
        let schema = std::sync::Arc::new(forcebus_avro::Schema::from_json(&json).ok()?);
        cache.insert(id.to_owned(), schema.clone());
        Some(schema)
    }

    /// A platform event's Avro form: its `EventUuid`, the schema id it was published with,
    /// and its payload in that schema.
    pub fn platform_avro(&self, e: &forcebus_eventlog::Event) -> Option<AvroEvent> {
        if let Some(v) = log_view(&e.payload) {
            return Some(AvroEvent {
                uuid: v.uuid.to_owned(),
                schema_id: v.schema.to_owned(),
                payload: e.payload.slice(v.avro_at..),
            });
        }
        let stored: Stored = serde_json::from_slice(&e.payload).ok()?;
        let schema = self.avro_schema(&stored.schema)?;
        let payload = stored.to_avro(&schema)?.into();
        Some(AvroEvent {
            uuid: stored.uuid,
            schema_id: stored.schema,
            payload,
        })
    }
}

impl crate::Org {
    /// A platform event's Streaming API `data`, from its log entry.
    pub fn platform_cometd(&self, e: &forcebus_eventlog::Event) -> Option<Value> {
        let (stored, schema) = match log_view(&e.payload) {
            Some(v) => {
                let schema = self.avro_schema(v.schema)?;
                let value = forcebus_avro::decode(&schema, &e.payload[v.avro_at..]).ok()?;
                let stored = Stored {
                    schema: v.schema.to_owned(),
                    uuid: v.uuid.to_owned(),
                    payload: stored_values(&schema, &value)?,
                };
                (stored, schema)
            }
            None => {
                let stored: Stored = serde_json::from_slice(&e.payload).ok()?;
                let schema = self.avro_schema(&stored.schema)?;
                (stored, schema)
            }
        };
        Some(stored.cometd_data(e.replay_id, &schema))
    }
}
