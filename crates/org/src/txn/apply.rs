//! Each operation run: the records it asks for, passed by the org's rules
//! ([`crate::rules`]), written into the transaction with what follows from them.

use serde_json::{Map, Value};

use crate::error::{Code, OrgError};
use crate::id::RecordId;
use crate::meta::ObjectDef;
use crate::record::Record;
use crate::rules::{self, Asked};

use super::{Op, Outcome, Txn};

impl<'a> Txn<'a> {
    /// Runs one operation. A failed one leaves nothing behind.
    pub(crate) fn apply(&mut self, op: Op) -> Result<Outcome, OrgError> {
        match op {
            Op::Create { object, fields } => {
                let def = self.object(&object)?;
                self.insert(def, &fields).map(Outcome::Created)
            }
            Op::Update { object, id, fields } => {
                let rec = self.updated(object.as_deref(), &id, &fields)?;
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
                let rec = self.make(def, fields)?;
                let id = rec.id;
                self.put(vec![rec])?;
                Ok(Outcome::Created(id))
            }
            Op::ConvertLead(c) => rules::convert_lead(self, &c),
            Op::Merge(m) => rules::merge(self, &m),
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

    /// Inserts a record of `def` from a client's fields, with what its insert brings
    /// along (a file version's document).
    pub(crate) fn insert(
        &mut self,
        def: &'a ObjectDef,
        fields: &Map<String, Value>,
    ) -> Result<RecordId, OrgError> {
        let rec = rules::record(self, Asked::Create(def, fields))?;
        let id = rec.id;
        let records = rules::brought_by(self, rec)?;
        self.put(records)?;
        Ok(id)
    }

    /// A new record of `def` the org makes itself, from fields in stored form, passed by
    /// the rules; not yet written.
    pub(crate) fn make(
        &mut self,
        def: &'a ObjectDef,
        fields: Map<String, Value>,
    ) -> Result<Record, OrgError> {
        rules::record(self, Asked::Make(def, fields))
    }

    /// Record `id` (of `object`, when the client named one) changed by a client's fields,
    /// passed by the rules; not yet written.
    pub(crate) fn updated(
        &mut self,
        object: Option<&str>,
        id: &str,
        fields: &Map<String, Value>,
    ) -> Result<Record, OrgError> {
        rules::record(self, Asked::Update { object, id, fields })
    }

    /// A record the org changes itself (a reference moved to another record), stamped and
    /// passed by the rules; not yet written.
    pub(crate) fn changed(&mut self, rec: Record) -> Result<Record, OrgError> {
        rules::record(self, Asked::Change(rec))
    }

    /// Writes records into the transaction with what follows from them
    /// ([`rules::write`]); nothing of it when any of that fails.
    pub(crate) fn put(&mut self, records: Vec<Record>) -> Result<(), OrgError> {
        rules::write(self, records)
    }
}
