//! The org: what a Salesforce org holds and how a write becomes a transaction.
//!
//! Layout:
//! - [`id`]: 15/18-character record ids.
//! - [`meta`]: objects and fields; [`standard`]: the standard object catalogue.
//! - [`value`]: client JSON to stored values, with Salesforce's validation errors.
//! - [`record`]: records and their REST shape.
//! - [`txn`]: operations (create, update, upsert, delete, undelete, purge) and their
//!   validation; [`org`]: the org, its committed state and the single writer.
//! - `query`: SOQL over the committed state, and the equality indexes it uses.
//! - [`error`]: Salesforce status codes; [`clock`]: injectable time.

pub mod cdc;
pub mod clock;
pub mod custom;
mod derive;
pub mod durable;
pub mod error;
pub mod filter;
pub mod generic;
/// Object metadata (the `forcebus-meta` crate).
pub use forcebus_meta as meta;
/// Record ids (from the `forcebus-meta` crate).
pub use forcebus_meta::id;
pub mod org;
pub mod platform;
pub mod pushtopic;
mod query;
pub mod record;
pub mod textdiff;
/// The standard object catalogue (from the `forcebus-meta` crate).
pub use forcebus_meta::standard;
pub mod txn;
pub mod value;

pub use clock::{Clock, ManualClock, SystemClock};
pub use durable::Pending;
pub use error::{OrgError, StatusCode, bounded_message};
pub use forcebus_store::StoreError;
pub use id::RecordId;
pub use meta::{FieldDef, FieldType, ObjectDef, Schema};
pub use org::{Api, Caller, Committed, Org, OrgOptions, QueryPage, TxnResult, UserSeed};
pub use record::Record;
pub use txn::{Op, Outcome};

/// A random (version 4) UUID from the thread's userspace generator: one per event and
/// transaction, so no system call each time (`Uuid::new_v4` asks the kernel).
pub fn new_uuid() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}
