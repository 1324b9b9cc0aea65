//! Avro for forcebus. Pure: no I/O, no async.
//!
//! Layout:
//! - [`schema`]: the schema model, read from its JSON form, and schema ids;
//!   [`document`]: the JSON form written, as a typed document.
//! - [`binary`]: values, and the Avro binary encoding and decoding of one record.
//! - [`change`]: `<Object>ChangeEvent` schemas from object metadata, and the
//!   `changedFields` / `nulledFields` / `diffFields` bitmaps (`pubsub-api.md` §5).
//! - [`platform`]: platform event (`<Name>__e`) schemas.

pub mod binary;
pub mod change;
pub mod document;
pub mod platform;
pub mod schema;

pub use binary::{DecodeError, Value, decode, encode, to_json};
pub use schema::{Field, RecordSchema, Schema, SchemaError, schema_id};
