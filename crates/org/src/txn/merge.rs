//! Merging records (`merge()` of the SOAP API): a master account, contact,
//! lead or case and one or two others of its type. The master takes the field values the
//! request gives; every record that refers to a merged one (its contacts, opportunities,
//! activities, child accounts, ...) now refers to the master; the merged records go to
//! the Recycle Bin with `MasterRecordId` naming the master. One transaction, so one
//! transaction key for the master's update, the children's updates and the deletes.

use serde_json::{Map, Value};

use crate::error::{Code, OrgError};
use crate::id::RecordId;

use super::{Outcome, Txn};

/// The objects `merge` takes.
const MERGEABLE: [&str; 4] = ["Account", "Contact", "Lead", "Case"];

/// At most this many records merged into one master.
const MAX_MERGED: usize = 2;

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

fn merge_failed(message: String) -> OrgError {
    OrgError::new(Code::MergeFailed, message)
}

impl Txn<'_> {
    /// Merges; on any failure nothing of it is left.
    pub(super) fn merge(&mut self, m: &MergeRequest) -> Result<Outcome, OrgError> {
        let saved = self.savepoint();
        match self.merge_records(m) {
            Ok(outcome) => {
                self.release(saved);
                Ok(outcome)
            }
            Err(e) => {
                self.rollback_to(saved);
                Err(e)
            }
        }
    }

    fn merge_records(&mut self, m: &MergeRequest) -> Result<Outcome, OrgError> {
        let object = MERGEABLE
            .into_iter()
            .find(|o| o.eq_ignore_ascii_case(&m.object))
            .ok_or_else(|| {
                OrgError::new(
                    Code::InvalidType,
                    format!("merge is not supported for entity type {}", m.object),
                )
            })?;
        if m.merged_ids.is_empty() || m.merged_ids.len() > MAX_MERGED {
            return Err(merge_failed(format!(
                "a merge request takes 1 to {MAX_MERGED} records to merge, not {}",
                m.merged_ids.len()
            )));
        }
        let master = self.existing(Some(object), &m.master_id)?;
        if master.is_deleted {
            return Err(OrgError::deleted());
        }
        let master = master.id;
        let mut merged = Vec::new();
        for id in &m.merged_ids {
            let rec = self.existing(None, id)?;
            if rec.object != object {
                return Err(merge_failed(format!(
                    "cannot merge a {} into a {object}: {id}",
                    rec.object
                )));
            }
            if rec.is_deleted {
                return Err(OrgError::deleted());
            }
            if rec.id == master || merged.contains(&rec.id) {
                return Err(merge_failed(format!(
                    "a record cannot be merged twice or into itself: {id}"
                )));
            }
            if object == "Lead" && rec.get("IsConverted") == true {
                return Err(super::leads::converted_lead());
            }
            merged.push(rec.id);
        }
        let mut fields = m.fields.clone();
        fields.remove("Id");
        if object == "Lead"
            && self
                .current(&master)
                .is_some_and(|r| r.get("IsConverted") == true)
        {
            return Err(super::leads::converted_lead());
        }
        let updated_master = self.build_update(Some(object), &master.to18(), &fields)?;
        self.put(vec![updated_master])?;
        let updated = self.refer_to_master(object, master, &merged)?;
        for id in &merged {
            let mut records = self.build_delete(Some(object), &id.to18())?;
            records[0]
                .fields
                .insert("MasterRecordId".into(), Value::from(master.to18()));
            self.put(records)?;
        }
        Ok(Outcome::Merged {
            master,
            merged,
            updated,
        })
    }

    /// Points every live reference to a merged record at the master instead; the
    /// records changed, in the order found.
    fn refer_to_master(
        &mut self,
        object: &str,
        master: RecordId,
        merged: &[RecordId],
    ) -> Result<Vec<RecordId>, OrgError> {
        let master_value = Value::from(master.to18());
        let mut changed: Vec<crate::record::Record> = Vec::new();
        for rel in self.schema.child_relationships(object) {
            if rel.field == "MasterRecordId" {
                continue;
            }
            for r in self.scan(&rel.child) {
                if r.is_deleted || r.id == master || merged.contains(&r.id) {
                    continue;
                }
                let refers = r
                    .get_str(&rel.field)
                    .and_then(RecordId::parse)
                    .is_some_and(|id| merged.contains(&id));
                if !refers {
                    continue;
                }
                match changed.iter_mut().find(|c| c.id == r.id) {
                    Some(c) => {
                        c.fields.insert(rel.field.clone(), master_value.clone());
                    }
                    None => {
                        let mut c = r.clone();
                        c.fields.insert(rel.field.clone(), master_value.clone());
                        changed.push(c);
                    }
                }
            }
        }
        // The master's own references to a merged record (a parent account) too.
        if let Some(r) = self.current(&master) {
            let mut rec = r.clone();
            let mut refers = false;
            for (name, v) in &r.fields {
                if name != "MasterRecordId"
                    && v.as_str()
                        .and_then(RecordId::parse)
                        .is_some_and(|id| merged.contains(&id))
                {
                    rec.fields.set(name, Value::Null);
                    refers = true;
                }
            }
            if refers {
                changed.push(rec);
            }
        }
        for rec in &mut changed {
            self.touch(rec);
            self.check_object_rules(rec)?;
        }
        let ids = changed
            .iter()
            .map(|r| r.id)
            .filter(|id| *id != master)
            .collect();
        if !changed.is_empty() {
            self.put(changed)?;
        }
        Ok(ids)
    }
}
