//! An event a Pub/Sub client published in Avro, in its definition's current schema, made
//! into its log form field by field.
//!
//! The general path turns the record into the field map a REST client would have sent
//! (`values_from_avro`), checks that map and encodes the stored map again
//! ([`EventDef::prepare_json`]): three maps keyed by field name for every
//! event, most of a publish's work on the server. When the record's fields are the
//! definition's own, in the same order (always so for the schema a definition builds,
//! which leaves out `ReplayId` and `EventUuid`),
//! the same steps run on each field in place: the same conversion, the same checks in
//! the same order, the same defaults and the same encoding, so the same bytes or the same
//! error (`tests::avro_and_json_publishing_agree` compares the two on random events).

use forcebus_avro::{Field, Value as A};
use forcebus_events::platform::{avro_field, field_from_json, log_entry, values_from_avro};
use serde_json::{Value, json};

use super::EventDef;
use super::definitions::{given, missing_fields, or_default};
use crate::error::OrgError;
use crate::meta::FieldDef;

impl EventDef {
    /// The `EventUuid` and log form of `record`, an Avro record in this definition's
    /// current schema, published by `created_by` at `created_date`: what
    /// [`EventDef::prepare_as`] and [`EventDef::log_form`] give for the same values.
    pub(crate) fn prepare_avro(
        &self,
        record: &A,
        created_by: &str,
        created_date: &str,
        uuid: Option<&str>,
    ) -> Result<(String, Vec<u8>), OrgError> {
        let schema = self.schema.avro();
        let fields = &self.object.fields;
        let in_place = match (schema.as_record(), record) {
            (Some(rec), A::Record(values)) if values.len() == rec.fields.len() => {
                schema_fields(&rec.fields, fields).map(|at| (rec, values, at))
            }
            _ => None,
        };
        let Some((rec, values, at)) = in_place else {
            // Not this definition's own record shape: the general path.
            return self.prepare_json(
                &values_from_avro(&self.object, schema, record),
                created_by,
                created_date,
                uuid,
            );
        };
        // The custom fields' stored values, checked in the definition's order, kept by
        // schema field.
        let mut stored: Vec<Option<Value>> = vec![None; rec.fields.len()];
        let mut missing = Vec::new();
        for (f, at) in fields.iter().zip(at) {
            if !f.custom {
                continue;
            }
            let raw = at.map_or(Value::Null, |i| {
                field_from_json(
                    f,
                    Some(forcebus_avro::to_json(&rec.fields[i].schema, &values[i])),
                )
            });
            let value = or_default(f, (!raw.is_null()).then(|| given(f, &raw)).transpose()?);
            if value.is_null() && !f.nillable {
                missing.push(f.name.clone());
            }
            if let Some(i) = at {
                stored[i] = Some(value);
            }
        }
        if !missing.is_empty() {
            return Err(missing_fields(missing));
        }
        let date = json!(created_date);
        let by = json!(created_by);
        let mut avro = Vec::with_capacity(fields.len());
        for (s, value) in rec.fields.iter().zip(&stored) {
            let value = match s.name.as_str() {
                "CreatedDate" => Some(&date),
                "CreatedById" => Some(&by),
                _ => value.as_ref(),
            };
            let a = avro_field(s, value, true)
                .map_err(|misfit| self.misfit(misfit.as_deref(), value))?;
            avro.push(a);
        }
        let uuid = uuid.map_or_else(crate::new_uuid, str::to_owned);
        forcebus_avro::encode(schema, &A::Record(avro))
            .ok()
            .and_then(|avro| log_entry(&self.schema_id, &uuid, &avro))
            .map(|bytes| (uuid, bytes))
            .ok_or_else(|| self.misfit(None, None))
    }
}

/// For each of the definition's `fields`, the index of the schema field of its name, when
/// the schema's fields are some of the definition's in the same order (a definition's
/// schema leaves out `ReplayId` and `EventUuid`); `None` otherwise.
fn schema_fields(schema: &[Field], fields: &[FieldDef]) -> Option<Vec<Option<usize>>> {
    let mut next = 0;
    let at = fields
        .iter()
        .map(|f| {
            let i = schema.get(next).filter(|s| s.name == f.name).map(|_| next);
            next += usize::from(i.is_some());
            i
        })
        .collect();
    (next == schema.len()).then_some(at)
}
