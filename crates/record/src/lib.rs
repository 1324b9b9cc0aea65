//! Records as an org keeps them in memory: one record's field values, the object it is
//! of, and the sets the org keeps them in. Nothing here knows of transactions, rules or
//! the wire; the org builds on it.
//!
//! Layout:
//!
//! - [`record`]: a record (its id, object, field values and Recycle Bin data) and its
//!   stored JSON body;
//! - [`fields`]: a record's field values, an ordered map with interned names while it is
//!   built, packed into one allocation behind a shape of names shared with every record of
//!   the same names once committed, read as [`FieldRef`]s;
//! - [`object_name`]: the object a record is of, one shared copy per name;
//! - [`record_set`]: the committed records, a set hashed by id in shards that grow apart;
//! - [`id_set`]: sets of ids in order (an object's records, an index key's), in
//!   delta-coded sorted chunks;
//! - `varint`: what packed fields and id sets are made of.

/// A map whose keys the server makes or the schema names (record ids, object and field
/// names), on the paths every record takes: hashed with foldhash, seeded per process,
/// where SipHash was a tenth of the instructions a created record cost.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// The set of [`FastMap`]'s kind.
pub type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

pub mod fields;
pub mod id_set;
pub mod object_name;
pub mod record;
pub mod record_set;
mod varint;

use forcebus_meta as meta;
use forcebus_meta::id;

pub use fields::{FieldRef, Fields};
pub use id_set::IdSet;
pub use object_name::ObjectName;
pub use record::{Body, Deletion, Record};
pub use record_set::RecordSet;
