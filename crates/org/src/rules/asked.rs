//! What a write asks of one record, as the org's rules take it.

use serde_json::{Map, Value};

use crate::meta::ObjectDef;
use crate::record::Record;

/// What a write asks of one record: `'i` the asking operation's, `'a` the transaction's
/// schema's.
pub(crate) enum Asked<'i, 'a> {
    /// A new record of an object, from a client's fields.
    Create(&'a ObjectDef, &'i Map<String, Value>),
    /// A new record the org makes itself (a file's document, a campaign's statuses, a seed
    /// record), from fields already in stored form, read-only ones included.
    Make(&'a ObjectDef, Map<String, Value>),
    /// A change to a record from a client's fields.
    Update {
        /// The object the client named, checked against the id when given.
        object: Option<&'i str>,
        /// The record's id (15 or 18 characters).
        id: &'i str,
        /// Field values as the client sent them.
        fields: &'i Map<String, Value>,
    },
    /// A change the org makes to a record itself: a reference moved to another record (a
    /// converted lead's children, a merged record's).
    Change(Record),
}

impl Asked<'_, '_> {
    /// Whether it asks for a record that does not exist yet.
    pub(crate) fn is_new(&self) -> bool {
        matches!(self, Self::Create(..) | Self::Make(..))
    }
}
