//! Platform event definitions: a declaration checked and built into the event's sObject
//! shape and schema, and one event's values validated against it.

use forcebus_events::EventSchema;
use forcebus_events::platform::Stored;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::MAX_EVENT_FIELDS;
use crate::custom::FieldConfig;
use crate::error::{Code, OrgError};
use crate::meta::{FieldDef, FieldType, ObjectDef};

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
    /// The event schema (COMPACT Avro, which the log form uses too).
    pub schema: EventSchema,
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
        let schema = EventSchema::for_platform_event(&object);
        let schema_id = schema.id().to_owned();
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
            values.insert(f.name.clone(), given(f, raw)?);
        }
        let mut payload = Map::new();
        payload.insert("CreatedDate".into(), Value::from(created_date));
        payload.insert("CreatedById".into(), Value::from(created_by));
        let mut missing = Vec::new();
        for f in self.object.fields.iter().filter(|f| f.custom) {
            let v = or_default(f, values.remove(&f.name));
            if v.is_null() && !f.nillable {
                missing.push(f.name.clone());
            }
            payload.insert(f.name.clone(), v);
        }
        if !missing.is_empty() {
            return Err(missing_fields(missing));
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
            let value = misfit.as_deref().and_then(|name| {
                let f = self.object.field(name)?;
                stored.payload.get(&f.name)
            });
            self.misfit(misfit.as_deref(), value)
        })
    }

    /// Why an event could not be encoded: `field`'s value `value` is out of its Avro
    /// type's range, or (neither known) the schema refused it.
    pub(super) fn misfit(&self, field: Option<&str>, value: Option<&Value>) -> OrgError {
        match (field.and_then(|name| self.object.field(name)), value) {
            (Some(f), Some(v)) => crate::value::out_of_range(f, v),
            _ => OrgError::new(
                Code::UnknownException,
                "The event cannot be encoded in its schema",
            ),
        }
    }
}

/// A value a publisher gave field `f`, as stored: refused when the field cannot be
/// written or the value does not fit it.
pub(super) fn given(f: &FieldDef, raw: &Value) -> Result<Value, OrgError> {
    if !f.createable {
        return Err(crate::value::not_writable(f));
    }
    crate::value::coerce(f, raw)
}

/// Custom field `f`'s stored value: the one given, else a checkbox's default, else null.
pub(super) fn or_default(f: &FieldDef, given: Option<Value>) -> Value {
    match given {
        Some(v) => v,
        None if f.ftype == FieldType::Boolean => {
            f.default_value.clone().unwrap_or(Value::Bool(false))
        }
        None => Value::Null,
    }
}

/// The error of an event whose required fields were left empty.
pub(super) fn missing_fields(missing: Vec<String>) -> OrgError {
    OrgError {
        code: Code::RequiredFieldMissing,
        message: format!("Required fields are missing: [{}]", missing.join(", ")),
        fields: missing,
        also: Vec::new(),
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

/// The REST `id` of a published event: the definition's key prefix, not unique (§5).
pub fn rest_id(def: &EventDef) -> crate::RecordId {
    crate::RecordId::mint(&def.object.key_prefix, 1)
}
