//! Org transactions: a list of operations applied against an overlay of the committed
//! state, then committed as one storage batch.
//!
//! Each operation computes every record it touches before changing the overlay, so a failed
//! operation leaves nothing behind; with `allOrNone` one failure discards the whole overlay.
//! Every record an operation writes passes the org's rules first (`crate::rules`), in their
//! order; this module is the transaction they read and write through.
//!
//! - here: the overlay, its savepoints, and how a transaction sees the records;
//! - `op`: the operations and what each did;
//! - `apply`: each operation run: the records it asks for, through the rules, written;
//! - `external`: upserts, and the equality lookups behind them and behind unique fields;
//! - `recycle`: deletes (with their cascades) and undeletes.

mod apply;
mod external;
mod op;
mod recycle;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::caller::Caller;
use crate::error::{Code, OrgError};
use crate::id::RecordId;
use crate::meta::{ObjectDef, Schema};
use crate::record::Record;
use crate::state::State;

pub use op::{LeadConvert, MergeRequest, Op, Outcome};

/// A transaction's state at one moment, to go back to.
pub(crate) struct Savepoint {
    /// Where the undo log stood.
    undo_from: usize,
    touched: usize,
    next_id: u64,
    next_numbers: crate::state::Numbers,
}

/// A transaction under way: an overlay of the committed state that its operations write
/// into and the org's rules read, over the schema version it started with.
pub(crate) struct Txn<'a> {
    pub(crate) schema: &'a Schema,
    /// The schema's formulas: its formula fields and validation rules.
    pub(crate) formulas: &'a crate::formulas::Formulas,
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
    /// `now` as an instant: the clock formulas read.
    pub(crate) instant: DateTime<Utc>,
    /// While a savepoint is open: each overlay entry replaced since, with what it
    /// replaced (`None`: the id was not in the overlay), to put back on a rollback.
    undo: Vec<(RecordId, Option<Option<Record>>)>,
    /// Savepoints open.
    saving: usize,
    /// Files uploaded ahead of this transaction's write: a blob field may name one
    /// ([`crate::blobs::Uploaded::marker`]).
    pub(crate) uploads: &'a [crate::blobs::Uploaded],
    /// Whether the org's validation rules run (a test control turns them off).
    pub(crate) validating: bool,
    /// Per object of the schema, where its fields that a new record may be given a value
    /// for are (worked out by the system rules, once per object).
    pub(crate) defaulted: Vec<(String, std::sync::Arc<[usize]>)>,
    /// The caller's access: what the writes of their fields and records may do.
    pub(crate) access: std::sync::Arc<crate::access::Access>,
}

impl<'a> Txn<'a> {
    /// A transaction over `state`, in the schema version `formulas` are compiled for.
    pub(crate) fn new(
        formulas: &'a crate::formulas::Formulas,
        state: &'a State,
        caller: &'a Caller,
        now: DateTime<Utc>,
        access: std::sync::Arc<crate::access::Access>,
    ) -> Self {
        Self {
            access,
            schema: formulas.schema(),
            formulas,
            state,
            caller,
            overlay: crate::Writes::default(),
            order: Vec::new(),
            next_id: state.next_id,
            next_numbers: state.next_numbers.clone(),
            number_floor: state.number_floor,
            now: crate::clock::format_datetime(now),
            instant: now,
            undo: Vec::new(),
            saving: 0,
            uploads: &[],
            validating: true,
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
    pub(crate) fn set(&mut self, id: RecordId, value: Option<Record>) {
        let before = self.overlay.insert(id, value);
        if before.is_none() {
            self.order.push(id);
        }
        if self.saving > 0 {
            self.undo.push((id, before));
        }
    }

    /// The live (not deleted) record a reference value names, as this transaction sees it.
    pub(crate) fn live(&self, id: Option<&str>) -> Option<&Record> {
        let id = RecordId::parse(id?)?;
        self.current(&id).filter(|r| !r.is_deleted)
    }

    /// The caller's access to the record `r`, as sharing decides it.
    pub(crate) fn level(&self, r: &Record) -> crate::access::sharing::Level {
        if self.access.is_everything() {
            return crate::access::sharing::Level::All;
        }
        let Some(def) = self.schema.object(&r.object) else {
            return crate::access::sharing::Level::None;
        };
        self.access
            .gate(self.schema, def)
            .level(r, &|id| self.current(&id))
    }

    pub(crate) fn current(&self, id: &RecordId) -> Option<&Record> {
        match self.overlay.get(id) {
            Some(r) => r.as_ref(),
            None => self.state.records.get(id),
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

    pub(crate) fn object(&self, name: &str) -> Result<&'a ObjectDef, OrgError> {
        self.schema
            .object(name)
            .ok_or_else(|| OrgError::no_such_object(name))
    }

    /// The live record `id` refers to, checked against the object the client named.
    pub(crate) fn existing(&self, object: Option<&str>, id: &str) -> Result<&Record, OrgError> {
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

    /// Stamps a record the transaction changes with who changed it and when.
    pub(crate) fn touch(&self, rec: &mut Record) {
        let user = Value::String(self.caller.user_id.to18());
        rec.fields.insert("LastModifiedById".into(), user);
        for field in ["LastModifiedDate", "SystemModstamp"] {
            rec.fields
                .insert(field.into(), Value::from(self.now.as_str()));
        }
    }
}

impl crate::formulas::Reader for Txn<'_> {
    fn record(&self, id: RecordId) -> Option<&Record> {
        self.current(&id)
    }

    fn organization(&self) -> Option<&Record> {
        let id = self.state.by_object.get("Organization")?.iter().next()?;
        self.state.records.get(&id)
    }

    fn user(&self) -> Option<RecordId> {
        Some(self.caller.user_id)
    }

    fn now(&self) -> DateTime<Utc> {
        self.instant
    }
}

impl Txn<'_> {
    /// `rec` as a read shows it: its formula fields computed from the records as this
    /// transaction sees them.
    pub(crate) fn with_formulas(&self, rec: &Record) -> Record {
        let mut out = rec.clone();
        let Some(def) = self.schema.object(&rec.object) else {
            return out;
        };
        for f in def.fields.iter().filter(|f| f.formula.is_some()) {
            let value = self.formulas.value(self, rec, def, f);
            out.fields.set(&f.name, value);
        }
        out
    }
}
