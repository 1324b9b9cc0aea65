//! What publishing takes and gives: the events to publish, each checked against its
//! definition and encoded in its log form once, and what each became.

use std::sync::Arc;

use serde_json::{Map, Value};

use forcebus_events::platform::Stored;

use super::{EventDef, MAX_EVENT_BYTES};
use crate::error::{Code, OrgError};

/// An event to publish: its definition, its field values, and its `EventUuid` when the
/// publisher chose one.
pub type ToPublish = (Arc<EventDef>, Fields, Option<String>);

/// An event's field values as its publisher sent them.
#[derive(Debug, Clone, PartialEq)]
pub enum Fields {
    /// Field names and values, as a REST client sends them.
    Json(Map<String, Value>),
    /// A Pub/Sub client's Avro record, in the definition's current schema.
    Avro(forcebus_avro::Value),
}

impl From<Map<String, Value>> for Fields {
    fn from(values: Map<String, Value>) -> Self {
        Self::Json(values)
    }
}

/// An event ready to append: its kind, its `EventUuid` and its log form.
pub(crate) type Prepared = (String, String, Vec<u8>);

/// One published event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// `EventUuid`.
    pub uuid: String,
    /// Its position in the log.
    pub replay_id: u64,
}

impl EventDef {
    /// Checks an event's values as publishing it would (its fields, then the size of its
    /// log form), without publishing it: its document, with a new `EventUuid`.
    pub fn check(
        &self,
        values: &Map<String, Value>,
        created_by: &str,
        created_date: &str,
    ) -> Result<Stored, OrgError> {
        let stored = self.prepare_as(values, created_by, created_date, None)?;
        fits(&self.log_form(&stored)?)?;
        Ok(stored)
    }

    /// The `EventUuid` and log form of an event given as field values: checked as a map
    /// ([`EventDef::prepare_as`]), then encoded ([`EventDef::log_form`]).
    pub(crate) fn prepare_json(
        &self,
        values: &Map<String, Value>,
        created_by: &str,
        created_date: &str,
        uuid: Option<&str>,
    ) -> Result<(String, Vec<u8>), OrgError> {
        let stored = self.prepare_as(values, created_by, created_date, uuid)?;
        let bytes = self.log_form(&stored)?;
        Ok((stored.uuid, bytes))
    }
}

/// One event checked against its definition and encoded once: the size check and the
/// stored form are the same bytes.
pub(crate) fn prepare(
    def: &EventDef,
    fields: &Fields,
    created_by: &str,
    created_date: &str,
    uuid: &Option<String>,
) -> Result<Prepared, OrgError> {
    let (uuid, bytes) = match fields {
        Fields::Json(values) => {
            def.prepare_json(values, created_by, created_date, uuid.as_deref())?
        }
        Fields::Avro(record) => {
            def.prepare_avro(record, created_by, created_date, uuid.as_deref())?
        }
    };
    fits(&bytes)?;
    Ok((def.name().to_owned(), uuid, bytes))
}

/// Refuses an event whose log form is past [`MAX_EVENT_BYTES`].
fn fits(bytes: &[u8]) -> Result<(), OrgError> {
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(OrgError::new(
            Code::LimitExceeded,
            format!(
                "The event is {} bytes; the maximum is {MAX_EVENT_BYTES}",
                bytes.len()
            ),
        ));
    }
    Ok(())
}
