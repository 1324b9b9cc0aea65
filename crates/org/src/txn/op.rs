//! What a transaction is asked to do: its operations, what each did, and the requests
//! of the operations over several records (a lead's conversion, a merge).

use serde_json::{Map, Value};

use crate::error::OrgError;
use crate::id::RecordId;

/// One operation of a transaction.
#[derive(Debug, Clone)]
pub enum Op {
    /// Insert a record of `object`.
    Create {
        /// Object name (any case).
        object: String,
        /// Field values as the client sent them.
        fields: Map<String, Value>,
    },
    /// Update a record.
    Update {
        /// The object the client named, checked against the id when given.
        object: Option<String>,
        /// The record id (15 or 18 characters).
        id: String,
        /// Field values as the client sent them.
        fields: Map<String, Value>,
    },
    /// Insert or update by an external-id field.
    Upsert {
        /// Object name.
        object: String,
        /// External-id field name.
        field: String,
        /// The external id value.
        value: String,
        /// Field values as the client sent them.
        fields: Map<String, Value>,
    },
    /// Move a record (and its cascade children) to the Recycle Bin.
    Delete {
        /// The object the client named, checked against the id when given.
        object: Option<String>,
        /// The record id.
        id: String,
    },
    /// Restore a record (and what its deletion cascaded to) from the Recycle Bin.
    Undelete {
        /// The record id.
        id: String,
    },
    /// A record the org makes itself (the Standard Price Book), its read-only fields
    /// included: never built from a client's input.
    Seed {
        /// Object name.
        object: String,
        /// Field values, already in their stored form.
        fields: Map<String, Value>,
    },
    /// Convert a lead into an account, a contact and an opportunity.
    ConvertLead(LeadConvert),
    /// Merge records into a master record.
    Merge(MergeRequest),
    /// Remove a Recycle Bin record for good.
    Purge {
        /// The record id.
        id: String,
    },
    /// An operation the edge already rejected (no type, malformed id): it fails with this
    /// error and, under `allOrNone`, takes the transaction down with it.
    Reject(OrgError),
}

/// What a successful operation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A record was inserted.
    Created(RecordId),
    /// A record was updated.
    Updated(RecordId),
    /// An upsert inserted (`created`) or updated the record.
    Upserted {
        /// The record.
        id: RecordId,
        /// Whether it was inserted.
        created: bool,
    },
    /// A record went to the Recycle Bin.
    Deleted(RecordId),
    /// A record came back from the Recycle Bin.
    Undeleted(RecordId),
    /// A record was removed for good.
    Purged(RecordId),
    /// A lead was converted.
    Converted {
        /// The lead.
        lead: RecordId,
        /// The account it was converted into.
        account: RecordId,
        /// The contact.
        contact: RecordId,
        /// The opportunity, unless none was made.
        opportunity: Option<RecordId>,
    },
    /// Records were merged into a master.
    Merged {
        /// The master.
        master: RecordId,
        /// The records merged into it (now deleted).
        merged: Vec<RecordId>,
        /// The records whose references moved to the master.
        updated: Vec<RecordId>,
    },
}

impl Outcome {
    /// The record the operation was about.
    pub fn id(&self) -> RecordId {
        match *self {
            Self::Created(id)
            | Self::Updated(id)
            | Self::Deleted(id)
            | Self::Undeleted(id)
            | Self::Purged(id)
            | Self::Upserted { id, .. } => id,
            Self::Converted { lead, .. } => lead,
            Self::Merged { master, .. } => master,
        }
    }
}

/// One `LeadConvert` of the SOAP call.
#[derive(Debug, Clone, Default)]
pub struct LeadConvert {
    /// The lead.
    pub lead_id: String,
    /// A `LeadStatus` value that converts.
    pub converted_status: String,
    /// An existing account to convert into, else a new one.
    pub account_id: Option<String>,
    /// An existing contact of that account, else a new one.
    pub contact_id: Option<String>,
    /// An existing opportunity of that account, else a new one (unless
    /// `do_not_create_opportunity`).
    pub opportunity_id: Option<String>,
    /// The new opportunity's name (default: the lead's company).
    pub opportunity_name: Option<String>,
    /// The owner of the new records (default: the lead's owner).
    pub owner_id: Option<String>,
    /// Make no opportunity.
    pub do_not_create_opportunity: bool,
    /// Overwrite an existing contact's `LeadSource` with the lead's.
    pub overwrite_lead_source: bool,
}

/// One `MergeRequest` of the SOAP call.
#[derive(Debug, Clone, Default)]
pub struct MergeRequest {
    /// The master's object, as the request's `type` names it.
    pub object: String,
    /// The master's id.
    pub master_id: String,
    /// The values the master takes (null: cleared).
    pub fields: Map<String, Value>,
    /// The records merged into it.
    pub merged_ids: Vec<String>,
}
