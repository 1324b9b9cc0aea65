//! A contact's relationships with accounts (the Object Reference's AccountContactRelation,
//! Salesforce Help's "Considerations for Relating a Contact to Multiple Accounts"): a
//! contact with an account has a direct relationship with it, which the org makes when the
//! contact gets the account (active, no roles) and which cannot be deleted but by changing
//! the contact's account or deleting the contact; any other relationship of the contact is
//! indirect. When a contact's account changes, the relationship with the old one is kept as
//! an indirect one (the default of the Account Settings choice "When users replace the
//! primary account on a contact record"), and the one with the new account, made or an
//! indirect one already there, becomes the direct one. One relationship per account and
//! contact.

use serde_json::{Map, Value};

use crate::error::{Code, OrgError};
use crate::id::RecordId;
use crate::record::Record;
use crate::txn::Txn;

pub(super) const RELATION: &str = "AccountContactRelation";
pub(super) const CONTACT: &str = "Contact";

/// A contact whose account a write changes: the contact, its account before and after.
pub(super) struct Moved {
    contact: RecordId,
    from: Option<RecordId>,
    to: Option<RecordId>,
}

fn account_of(r: &Record) -> Option<RecordId> {
    r.get_str("AccountId").and_then(RecordId::parse)
}

/// The contacts among `records` whose account they change (a new contact's from none),
/// worked out before they are written.
pub(super) fn contacts_moved(txn: &Txn<'_>, records: &[Record]) -> Vec<Moved> {
    if txn.schema.object(RELATION).is_none() {
        return Vec::new();
    }
    records
        .iter()
        .filter(|r| r.object == CONTACT && !r.is_deleted)
        .filter_map(|r| {
            let from = txn.current(&r.id).and_then(account_of);
            let to = account_of(r);
            (from != to).then_some(Moved {
                contact: r.id,
                from,
                to,
            })
        })
        .collect()
}

/// The relationship of `contact` with `account`, as this transaction sees it.
fn relation_of<'t>(txn: &'t Txn<'_>, contact: RecordId, account: RecordId) -> Option<&'t Record> {
    txn.children(RELATION, "ContactId", contact)
        .into_iter()
        .find(|r| account_of(r) == Some(account))
}

/// The relationship `relation` made direct or not, when it is not already.
fn made_direct(txn: &Txn<'_>, relation: Option<&Record>, direct: bool) -> Option<Record> {
    let mut relation = relation
        .filter(|r| (r.get("IsDirect") == true) != direct)?
        .clone();
    relation
        .fields
        .insert("IsDirect".into(), Value::Bool(direct));
    txn.touch(&mut relation);
    Some(relation)
}

/// The relationships that follow contacts' new accounts, worked out once the contacts
/// (and any relationship moved with them: a merge's) are written: the old direct one
/// made indirect, the new account's made, or made direct.
pub(super) fn relate_contacts(txn: &mut Txn<'_>, moved: &[Moved]) -> Result<Vec<Record>, OrgError> {
    let mut out = Vec::new();
    for m in moved {
        let old = m.from.and_then(|a| relation_of(txn, m.contact, a));
        out.extend(made_direct(txn, old, false));
        let Some(account) = m.to else {
            continue;
        };
        if let Some(new) = relation_of(txn, m.contact, account) {
            out.extend(made_direct(txn, Some(new), true));
            continue;
        }
        let def = txn.object(RELATION)?;
        let mut fields = Map::new();
        fields.insert("AccountId".into(), Value::from(account.to18()));
        fields.insert("ContactId".into(), Value::from(m.contact.to18()));
        fields.insert("IsActive".into(), Value::Bool(true));
        out.push(txn.make(def, fields)?);
    }
    Ok(out)
}

/// A relationship before it is written: a new one is the only one of its account and
/// contact (`DUPLICATE_VALUE`), and direct when its account is its contact's.
pub(super) fn check_relation(
    txn: &Txn<'_>,
    relation: &mut Record,
    before: Option<&Record>,
) -> Result<(), OrgError> {
    if before.is_some() {
        return Ok(());
    }
    let contact = relation.get_str("ContactId").and_then(RecordId::parse);
    let account = account_of(relation);
    let (Some(contact), Some(account)) = (contact, account) else {
        return Ok(());
    };
    if relation_of(txn, contact, account).is_some_and(|r| r.id != relation.id) {
        return Err(OrgError::new(
            Code::DuplicateValue,
            "This contact already has a relationship with this account",
        ));
    }
    let direct = txn.current(&contact).and_then(account_of) == Some(account);
    relation
        .fields
        .insert("IsDirect".into(), Value::Bool(direct));
    Ok(())
}

/// Refuses the delete of a contact's direct relationship with its account (a delete of
/// the contact or the account takes it along).
pub(super) fn check_relation_delete(txn: &Txn<'_>, relation: &Record) -> Result<(), OrgError> {
    let contact = relation.get_str("ContactId").and_then(RecordId::parse);
    let direct = contact
        .and_then(|c| txn.current(&c))
        .is_some_and(|c| !c.is_deleted && account_of(c) == account_of(relation));
    if direct {
        return Err(OrgError::new(
            Code::InvalidOperation,
            "A contact's direct relationship with its account can't be deleted: change the contact's account or delete the contact",
        ));
    }
    Ok(())
}
