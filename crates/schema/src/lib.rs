//! The declared schema: what a custom object or field is as declared, apart from any
//! org that holds it. The org applies these to its running schema (its schema changes
//! take its writer, its records and its event log); here is only what a declaration
//! says and whether it may be made.
//!
//! Layout:
//!
//! - [`custom`]: custom objects and fields as declared (the config file's entries, and
//!   what the Metadata API's read into), made into the catalogue's definitions;
//! - [`declarations`]: the Metadata API's `CustomObject` and `CustomField` read into those
//!   declarations, and written back as Metadata;
//! - [`runtime`]: the schema changes made while an org runs, as stored, applied to a
//!   schema at start;
//! - [`field_change`]: whether a custom field may change from one declaration to another,
//!   given the values its records hold;
//! - [`record_types`]: the `RecordTypeId` field an object gains with its first record
//!   type;
//! - [`components`]: Metadata components kept as they were deployed;
//! - [`error`]: why a declaration or a change is refused.

pub mod components;
pub mod custom;
pub mod declarations;
pub mod error;
pub mod field_change;
pub mod record_types;
pub mod runtime;

pub use error::{ErrorKind, SchemaError};
