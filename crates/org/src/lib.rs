//! The org: what a Salesforce org holds and how a write becomes a transaction.
//!
//! Two layers. The domain modules know nothing of [`Org`]; the [`org`] folder is the
//! facade, one `impl Org` per concern over them, so no domain module imports it and the
//! crate has no import cycles.
//!
//! Layout:
//!
//! - [`org`]: the org, its identity and the parts it holds, and its operations:
//!   [`commit`]: the one writer, in stages (validate, stage, derive events, append,
//!   apply), acknowledged through [`Committing`] once durable; [`channels`]; [`users`];
//!   [`subscriptions`]; SOQL; what each user viewed ([`seen`]: `FOR VIEW`, `/recent`);
//!   platform events; PushTopics; generic pushes; and schema management, a room of its
//!   own ([`org::schema`]: custom objects and fields made, changed, renamed and deleted
//!   while the org runs, Metadata API deploys, the components kept as deployed).
//! - [`txn`]: a transaction's operations (create, update, upsert, delete, undelete, purge,
//!   lead conversion, merge) over an overlay of the committed state.
//! - `rules`: the org's rules, which every record a transaction writes passes, in the
//!   order `rules/mod.rs` lists: system validation, the standard objects' behaviours,
//!   the org's validation rules, unique values; then what follows a write (the
//!   behaviours', roll-up summaries, field history).
//! - [`formulas`]: the schema's formulas (formula fields, validation rules, default value
//!   formulas) compiled once per schema version by `forcebus-formula` and evaluated over
//!   the org's records; formula fields computed on every read, never stored.
//! - `state`: the committed records and counters; `indexes`: their equality indexes;
//!   `query`: the state as SOQL's source; `activities`: the rows of `ActivityHistory` and
//!   `OpenActivity`, made from tasks and events; `picklists`: the rows of `LeadStatus`
//!   and the other picklist-value objects, made from their picklists; `derive`: the
//!   fields Salesforce computes from others on every write.
//! - [`cdc`]: the change events of a transaction; [`pushtopic`]: PushTopic queries and
//!   their notifications; [`platform`]: platform event definitions and publishing;
//!   [`generic`]: generic streaming channels and pushes. What each event looks like on the
//!   wire is `forcebus-events`' business, not the org's.
//! - [`channels`]: what every channel name (`/data`, `/event`, `/topic`, `/u`) shows.
//! - [`value`]: client JSON to stored values, with Salesforce's validation errors.
//! - [`record`], [`fields`], [`object_name`]: records as `forcebus-record` keeps them
//!   (re-exported here; the committed records by id and the sets of ids are that
//!   crate's too).
//! - [`custom`], [`runtime_schema`], [`components`]: the declared schema as
//!   `forcebus-schema` keeps it (re-exported here); [`declarations`]: the Metadata API's
//!   `CustomObject`/`CustomField` read into those, refused with the org's errors.
//! - `criteria`: filter items (a roll-up's, a sharing rule's) met by a record or not.
//! - `record_types`: record types, the `RecordTypeId` field and a record's default type.
//! - [`blobs`]: blob fields' bytes kept in the store, apart from their records.
//! - [`access`]: who may do what: a user's object permissions, field-level security and
//!   user permissions, from their profile and permission sets (the org's records); the
//!   standard profiles; permission sets as a project declares them.
//! - [`caller`]: who changes what through which API; [`users`]: seed users and lookup;
//!   [`subscriptions`]: managed subscriptions' committed replay ids.
//! - [`error`]: Salesforce status codes; [`clock`]: injectable time, and the org's
//!   clock the test controls shift; [`control`]: the test controls' switches.

pub(crate) use forcebus_record::FastMap;
/// What a transaction wrote, by id: the new record, or `None` for a record it deleted.
pub(crate) type Writes = FastMap<RecordId, Option<Record>>;

pub mod access;
mod activities;
pub mod apex;
pub mod blobs;
pub mod caller;
pub mod cdc;
pub mod clock;
pub mod control;
mod criteria;
pub mod declarations;
mod derive;
pub mod error;
pub mod formulas;
pub mod generic;
mod indexes;
use forcebus_meta as meta;
use forcebus_meta::id;
pub mod org;
pub use forcebus_record::{fields, object_name, record};
pub use forcebus_schema::{components, custom, runtime as runtime_schema};
pub mod picklists;
pub mod platform;
pub mod pushtopic;
mod query;
mod record_types;
mod rules;
mod state;
pub mod subscribers;
pub mod txn;
pub mod value;

pub use org::{channels, commit, seen, subscriptions, users};

pub use blobs::Uploaded;
pub use caller::{Api, Caller};
pub use clock::{Clock, ControlledClock, ManualClock, Shift, SystemClock};
pub use commit::{Committed, Committing, Mode, TxnResult, Work};
pub use error::{Code, OrgError, bounded_message};
pub use fields::{FieldRef, Fields};
pub use forcebus_store::StoreError;
pub use id::RecordId;
pub use meta::{FieldDef, FieldType, ObjectDef, Schema};
pub use object_name::ObjectName;
pub use org::blobs::Upload;
pub use org::organization::{OrgKind, OrgProfile};
pub use org::query::QueryPage;
pub use org::underway::Underway;
pub use org::{Org, OrgOptions};
pub use record::{Deletion, Record};
pub use txn::{Op, Outcome};
pub use users::UserSeed;

/// A random (version 4) UUID from the thread's userspace generator: one per event and
/// transaction, so no system call each time (`Uuid::new_v4` asks the kernel).
pub fn new_uuid() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}
