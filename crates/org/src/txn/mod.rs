//! Org transactions: a list of operations validated and applied against an overlay of the
//! committed state, then committed as one storage batch.
//!
//! Each operation computes every record it touches before changing the overlay, so a failed
//! operation leaves nothing behind; with `allOrNone` one failure discards the whole overlay.
//!
//! - `write`: a record built from a client's fields (checks, defaults, audit fields, auto
//!   numbers) and the object rules;
//! - `external`: upsert and lookup by external id; `recycle`: delete, undelete, purge;
//! - what a write of a standard object does to others: `files` (a version's document and
//!   links), `pricebooks` (prices, opportunity products, the opportunity's Amount),
//!   `quotes` (quotes, their lines and totals), `relations` (a contact's relationships
//!   with accounts), `campaigns` (statuses, members, counts), `activities` (an event's
//!   times);
//! - operations of several records: `leads` (lead conversion), `merge`.

mod activities;
mod campaigns;
mod external;
mod files;
mod leads;
mod merge;
mod pricebooks;
mod quotes;
mod recycle;
mod relations;
mod write;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::caller::Caller;
use crate::error::{Code, OrgError};
use crate::id::RecordId;
use crate::meta::{ObjectDef, Schema};
use crate::record::Record;
use crate::state::State;

pub use leads::LeadConvert;
pub use merge::MergeRequest;

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

/// A transaction's state at one moment, to go back to.
pub(crate) struct Savepoint {
    /// Where the undo log stood.
    undo_from: usize,
    touched: usize,
    next_id: u64,
    next_numbers: crate::state::Numbers,
}

pub(crate) struct Txn<'a> {
    pub(crate) schema: &'a Schema,
    pub(crate) state: &'a State,
    pub(crate) caller: &'a Caller,
    /// New state of every touched record; `None` for purged.
    pub(crate) overlay: crate::Writes,
    /// Touched ids in first-touch order.
    pub(crate) order: Vec<RecordId>,
    pub(crate) next_id: u64,
    pub(crate) next_numbers: crate::state::Numbers,
    /// Where a sequence not yet in `next_numbers` starts.
    pub(crate) number_floor: u64,
    pub(crate) now: String,
    /// While a savepoint is open: each overlay entry replaced since, with what it
    /// replaced (`None`: the id was not in the overlay), to put back on a rollback.
    undo: Vec<(RecordId, Option<Option<Record>>)>,
    /// Savepoints open.
    saving: usize,
    /// Files uploaded ahead of this transaction's write: a blob field may name one
    /// ([`crate::blobs::Uploaded::marker`]).
    pub(crate) uploads: &'a [crate::blobs::Uploaded],
    /// Per object of the schema, where its fields that a new record may be given a value
    /// for are ([`Txn::defaulted`]).
    defaulted: Vec<(String, std::sync::Arc<[usize]>)>,
}

impl<'a> Txn<'a> {
    pub(crate) fn new(
        schema: &'a Schema,
        state: &'a State,
        caller: &'a Caller,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            schema,
            state,
            caller,
            overlay: crate::Writes::default(),
            order: Vec::new(),
            next_id: state.next_id,
            next_numbers: state.next_numbers.clone(),
            number_floor: state.number_floor,
            now: crate::clock::format_datetime(now),
            undo: Vec::new(),
            saving: 0,
            uploads: &[],
            defaulted: Vec::new(),
        }
    }

    /// Opens a savepoint: from now on the overlay entries replaced are kept, so that
    /// [`Txn::rollback_to`] can undo every operation applied after now. Close it with
    /// [`Txn::rollback_to`] or [`Txn::release`].
    pub(crate) fn savepoint(&mut self) -> Savepoint {
        self.saving += 1;
        Savepoint {
            undo_from: self.undo.len(),
            touched: self.order.len(),
            next_id: self.next_id,
            next_numbers: self.next_numbers.clone(),
        }
    }

    /// Undoes every operation applied since `saved` was taken, and closes it.
    pub(crate) fn rollback_to(&mut self, mut saved: Savepoint) {
        for (id, before) in self.undo.drain(saved.undo_from..).rev() {
            match before {
                Some(before) => self.overlay.insert(id, before),
                None => self.overlay.remove(&id),
            };
        }
        self.order.truncate(saved.touched);
        self.next_id = saved.next_id;
        self.next_numbers = std::mem::take(&mut saved.next_numbers);
        self.release(saved);
    }

    /// Closes `saved`, keeping what was applied since.
    pub(crate) fn release(&mut self, _saved: Savepoint) {
        self.saving -= 1;
        if self.saving == 0 {
            self.undo.clear();
        }
    }

    /// Sets the transaction's state of record `id` (`None`: purged), remembering what
    /// it replaces while a savepoint is open.
    fn set(&mut self, id: RecordId, value: Option<Record>) {
        let before = self.overlay.insert(id, value);
        if before.is_none() {
            self.order.push(id);
        }
        if self.saving > 0 {
            self.undo.push((id, before));
        }
    }

    /// The live (not deleted) record a reference value names, as this transaction sees it.
    pub(super) fn live(&self, id: Option<&str>) -> Option<&Record> {
        let id = RecordId::parse(id?)?;
        self.current(&id).filter(|r| !r.is_deleted)
    }

    pub(crate) fn current(&self, id: &RecordId) -> Option<&Record> {
        match self.overlay.get(id) {
            Some(r) => r.as_ref(),
            None => self.state.records.get(id),
        }
    }

    /// Writes records into the transaction, with what follows from them: the
    /// opportunities of changed opportunity products, the quotes of changed quote lines, the
    /// campaigns a record counts in, the account relationships of contacts whose account
    /// changed. Should any of that fail, nothing of it is left.
    pub(super) fn put(&mut self, records: Vec<Record>) -> Result<(), OrgError> {
        let moved = self.contacts_moved(&records);
        let opportunities = pricebooks::parents_of(&records, pricebooks::LINE, "OpportunityId");
        let quotes = pricebooks::parents_of(&records, quotes::QUOTE_LINE, "QuoteId");
        // Campaigns counted before and after: a record may leave one for another. (Only
        // the records a campaign counts are looked up: a bulk load's new Accounts were
        // each a miss in the table of every record.)
        let before = records
            .iter()
            .filter(|r| Self::counted_in_campaigns(r))
            .filter_map(|r| self.current(&r.id));
        let mut campaigns = Self::campaigns_of(records.iter().chain(before));
        if moved.is_empty() {
            for r in records {
                self.set(r.id, Some(r));
            }
        } else {
            self.put_relating(records, &moved)?;
        }
        if !opportunities.is_empty() {
            let rolled = self.roll_up(&opportunities);
            campaigns.extend(Self::campaigns_of(rolled.iter()));
            for r in rolled {
                self.set(r.id, Some(r));
            }
        }
        for r in self.roll_up_quotes(&quotes) {
            self.set(r.id, Some(r));
        }
        campaigns.sort();
        campaigns.dedup();
        if !campaigns.is_empty() {
            for r in self.count_campaigns(&campaigns) {
                self.set(r.id, Some(r));
            }
        }
        Ok(())
    }

    /// Writes `records`, then the account relationships of the contacts among them that
    /// `moved` names; nothing of it when those fail.
    fn put_relating(
        &mut self,
        records: Vec<Record>,
        moved: &[relations::Moved],
    ) -> Result<(), OrgError> {
        let saved = self.savepoint();
        for r in records {
            self.set(r.id, Some(r));
        }
        match self.relate_contacts(moved) {
            Ok(relations) => {
                for r in relations {
                    self.set(r.id, Some(r));
                }
                self.release(saved);
                Ok(())
            }
            Err(e) => {
                self.rollback_to(saved);
                Err(e)
            }
        }
    }

    /// The live records of `object` whose reference `field` names `parent`, as this
    /// transaction sees them: the committed ones through the reference's index, then those
    /// this transaction touched, in the order it touched them.
    pub(crate) fn children(&self, object: &str, field: &str, parent: RecordId) -> Vec<&Record> {
        let key = crate::indexes::Key::Id(parent);
        let committed = self
            .state
            .indexes
            .get_key(object, field, &key)
            .into_iter()
            .filter(|id| !self.overlay.contains_key(id))
            .filter_map(|id| self.state.records.get(&id));
        let touched = self
            .order
            .iter()
            .filter_map(|id| self.overlay.get(id)?.as_ref())
            .filter(|r| r.object == object);
        committed
            .chain(touched)
            .filter(|r| !r.is_deleted && r.get_str(field).and_then(RecordId::parse) == Some(parent))
            .collect()
    }

    /// Every record of `object` as this transaction sees it.
    pub(crate) fn scan(&self, object: &str) -> impl Iterator<Item = &Record> {
        let committed = self
            .state
            .by_object
            .get(object)
            .into_iter()
            .flatten()
            .filter(|id| !self.overlay.contains_key(id))
            .filter_map(|id| self.state.records.get(&id));
        let touched = self
            .order
            .iter()
            .filter_map(|id| self.overlay.get(id)?.as_ref());
        committed.chain(touched.filter(move |r| r.object == object))
    }

    pub(crate) fn apply(&mut self, op: Op) -> Result<Outcome, OrgError> {
        match op {
            Op::Create { object, fields } => {
                let def = self.object(&object)?;
                self.insert(def, &fields).map(Outcome::Created)
            }
            Op::Update { object, id, fields } => {
                let rec = self.build_update(object.as_deref(), &id, &fields)?;
                let id = rec.id;
                self.put(vec![rec])?;
                Ok(Outcome::Updated(id))
            }
            Op::Upsert {
                object,
                field,
                value,
                fields,
            } => self.upsert(&object, &field, &value, fields),
            Op::Delete { object, id } => {
                let records = self.build_delete(object.as_deref(), &id)?;
                let id = records[0].id;
                self.put(records)?;
                Ok(Outcome::Deleted(id))
            }
            Op::Undelete { id } => {
                let records = self.build_undelete(&id)?;
                let id = records[0].id;
                self.put(records)?;
                Ok(Outcome::Undeleted(id))
            }
            Op::Seed { object, fields } => {
                let def = self.object(&object)?;
                let rec = self.complete(def, fields)?;
                let id = rec.id;
                self.put(vec![rec])?;
                Ok(Outcome::Created(id))
            }
            Op::ConvertLead(c) => self.convert_lead(&c),
            Op::Merge(m) => self.merge(&m),
            Op::Reject(e) => Err(e),
            Op::Purge { id } => {
                let rid = self.existing(None, &id)?.id;
                if !self.current(&rid).is_some_and(|r| r.is_deleted) {
                    return Err(OrgError::new(
                        Code::InvalidId,
                        "Entity is not in the recycle bin",
                    ));
                }
                self.set(rid, None);
                Ok(Outcome::Purged(rid))
            }
        }
    }

    /// Inserts a record with what its insert brings along (a file version, its document).
    pub(super) fn insert(
        &mut self,
        def: &ObjectDef,
        fields: &Map<String, Value>,
    ) -> Result<RecordId, OrgError> {
        let rec = self.build_create(def, fields)?;
        let id = rec.id;
        let records = match def.name.as_str() {
            files::VERSION => self.with_document(rec)?,
            campaigns::CAMPAIGN => {
                let statuses = self.default_statuses(id)?;
                std::iter::once(rec).chain(statuses).collect()
            }
            _ => vec![rec],
        };
        self.put(records)?;
        Ok(id)
    }

    pub(super) fn object(&self, name: &str) -> Result<&'a ObjectDef, OrgError> {
        self.schema
            .object(name)
            .ok_or_else(|| OrgError::no_such_object(name))
    }

    /// The live record `id` refers to, checked against the object the client named.
    pub(super) fn existing(&self, object: Option<&str>, id: &str) -> Result<&Record, OrgError> {
        let rid = RecordId::parse(id)
            .ok_or_else(|| OrgError::new(Code::MalformedId, format!("malformed id {id}")))?;
        let rec = self.current(&rid).ok_or_else(OrgError::not_found)?;
        if let Some(o) = object
            && !rec.object.eq_ignore_ascii_case(o)
        {
            return Err(OrgError::not_found());
        }
        Ok(rec)
    }
}
