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
//! Text, most of an event's bytes, is checked where it lies in the decoded record and
//! written once, straight into the log entry after its head.

use forcebus_avro::{Field, Schema, Value as A};
use forcebus_events::platform::{avro_field, field_from_json, log_entry_head, values_from_avro};
use serde_json::Value;

use super::EventDef;
use super::definitions::{given, missing_fields, or_default};
use crate::error::OrgError;
use crate::meta::FieldDef;
use crate::value::check_text;

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
        let mut stored: Vec<Option<Stored<'_>>> = (0..rec.fields.len()).map(|_| None).collect();
        let mut missing = Vec::new();
        for (f, at) in fields.iter().zip(at) {
            if !f.custom {
                continue;
            }
            let value = match at {
                Some(i) => stored_value(f, &rec.fields[i], &values[i])?,
                None => Stored::Json(or_default(f, None)),
            };
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
        let date = Value::from(created_date);
        let by = Value::from(created_by);
        let mut pieces = Vec::with_capacity(rec.fields.len());
        let mut text_len = 0;
        for (s, value) in rec.fields.iter().zip(&stored) {
            let value = match (s.name.as_str(), value) {
                ("CreatedDate", _) => Some(&date),
                ("CreatedById", _) => Some(&by),
                (_, Some(Stored::Text { text, nullable })) => {
                    text_len += text.len();
                    pieces.push(Piece::Text {
                        text,
                        nullable: *nullable,
                    });
                    continue;
                }
                (_, Some(Stored::Json(v))) => Some(v),
                (_, None) => None,
            };
            let a = avro_field(s, value, true)
                .map_err(|misfit| self.misfit(misfit.as_deref(), value))?;
            pieces.push(Piece::Avro(a));
        }
        let uuid = uuid.map_or_else(crate::new_uuid, str::to_owned);
        let mut out = log_entry_head(&self.schema_id, &uuid, text_len + 8 * pieces.len())
            .ok_or_else(|| self.misfit(None, None))?;
        for (s, piece) in rec.fields.iter().zip(&pieces) {
            piece
                .put(s, &mut out)
                .map_err(|_| self.misfit(None, None))?;
        }
        Ok((uuid, out))
    }
}

/// A custom field's stored value: text as given (checked, borrowed from the record, its
/// schema a string or, when `nullable`, `["null", "string"]`), or any other value as the
/// REST path stores it.
enum Stored<'a> {
    Text { text: &'a str, nullable: bool },
    Json(Value),
}

impl Stored<'_> {
    fn is_null(&self) -> bool {
        matches!(self, Stored::Json(Value::Null))
    }
}

/// Custom field `f`'s stored value from `value`, its schema field `s`'s Avro value: the
/// REST path's conversion, checks and default. Text for a text field whose schema is a
/// string is checked where it lies, as the REST path would check the same string, and
/// written as it lies.
fn stored_value<'a>(f: &FieldDef, s: &Field, value: &'a A) -> Result<Stored<'a>, OrgError> {
    let text = match value {
        A::String(t) => Some(t),
        A::Union(_, inner) => match &**inner {
            A::String(t) => Some(t),
            _ => None,
        },
        _ => None,
    };
    let nullable = match &s.schema {
        Schema::String => Some(false),
        Schema::Union(b) if matches!(b.as_slice(), [Schema::Null, Schema::String]) => Some(true),
        _ => None,
    };
    if let (Some(text), Some(nullable)) = (text, nullable)
        && f.ftype.is_text()
        && f.createable
    {
        return Ok(if check_text(f, text)? {
            Stored::Text { text, nullable }
        } else {
            Stored::Json(Value::Null)
        });
    }
    let raw = field_from_json(f, Some(forcebus_avro::to_json(&s.schema, value)));
    let given = (!raw.is_null()).then(|| given(f, &raw)).transpose()?;
    Ok(Stored::Json(or_default(f, given)))
}

/// One field of the record as it is encoded: an Avro value, or text written as it lies
/// (in the union's string branch when `nullable`).
enum Piece<'a> {
    Avro(A),
    Text { text: &'a str, nullable: bool },
}

impl Piece<'_> {
    fn put(&self, s: &Field, out: &mut Vec<u8>) -> Result<(), forcebus_avro::binary::EncodeError> {
        match self {
            Piece::Avro(a) => forcebus_avro::binary::encode_into(&s.schema, a, out),
            Piece::Text { text, nullable } => {
                if *nullable {
                    forcebus_avro::binary::put_long(out, 1);
                }
                forcebus_avro::binary::put_string(out, text);
                Ok(())
            }
        }
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
