//! Merging records (`merge()` of the SOAP API): a master account, contact,
//! lead or case and one or two others of its type. The master takes the field values the
//! request gives; every record that refers to a merged one (its contacts, opportunities,
//! activities, child accounts, ...) now refers to the master; the merged records go to
//! the Recycle Bin with `MasterRecordId` naming the master. One transaction, so one
//! transaction key for the master's update, the children's updates and the deletes.

use serde_json::Value;

use crate::error::{Code, OrgError};
use crate::id::RecordId;
use crate::txn::{MergeRequest, Outcome, Txn};

/// The objects `merge` takes.
const MERGEABLE: [&str; 4] = ["Account", "Contact", "Lead", "Case"];

/// At most this many records merged into one master.
const MAX_MERGED: usize = 2;

fn merge_failed(message: String) -> OrgError {
    OrgError::new(Code::MergeFailed, message)
}

/// Merges; on any failure nothing of it is left.
pub(crate) fn merge(txn: &mut Txn<'_>, m: &MergeRequest) -> Result<Outcome, OrgError> {
    let saved = txn.savepoint();
    match merge_records(txn, m) {
        Ok(outcome) => {
            txn.release(saved);
            Ok(outcome)
        }
        Err(e) => {
            txn.rollback_to(saved);
            Err(e)
        }
    }
}

fn merge_records(txn: &mut Txn<'_>, m: &MergeRequest) -> Result<Outcome, OrgError> {
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
    let master = txn.existing(Some(object), &m.master_id)?;
    if master.is_deleted {
        return Err(OrgError::deleted());
    }
    let master = master.id;
    let mut merged = Vec::new();
    for id in &m.merged_ids {
        let rec = txn.existing(None, id)?;
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
            return Err(OrgError::converted_lead());
        }
        merged.push(rec.id);
    }
    let mut fields = m.fields.clone();
    fields.remove("Id");
    if object == "Lead"
        && txn
            .current(&master)
            .is_some_and(|r| r.get("IsConverted") == true)
    {
        return Err(OrgError::converted_lead());
    }
    let updated_master = txn.updated(Some(object), &master.to18(), &fields)?;
    txn.put(vec![updated_master])?;
    let updated = refer_to_master(txn, object, master, &merged)?;
    for id in &merged {
        let mut records = txn.build_delete(Some(object), &id.to18())?;
        records[0]
            .fields
            .insert("MasterRecordId".into(), Value::from(master.to18()));
        txn.put(records)?;
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
    txn: &mut Txn<'_>,
    object: &str,
    master: RecordId,
    merged: &[RecordId],
) -> Result<Vec<RecordId>, OrgError> {
    let master_value = Value::from(master.to18());
    let mut changed: Vec<crate::record::Record> = Vec::new();
    for rel in txn.schema.child_relationships(object) {
        if rel.field == "MasterRecordId" {
            continue;
        }
        for r in txn.scan(&rel.child) {
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
    if let Some(r) = txn.current(&master) {
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
    let changed = changed
        .into_iter()
        .map(|rec| txn.changed(rec))
        .collect::<Result<Vec<_>, _>>()?;
    let ids = changed
        .iter()
        .map(|r| r.id)
        .filter(|id| *id != master)
        .collect();
    if !changed.is_empty() {
        txn.put(changed)?;
    }
    Ok(ids)
}
