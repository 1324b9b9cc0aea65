//! The standard objects' behaviours, the second of the org's rules: what a write of a
//! record of one object does to it, the records its insert brings along, and what follows
//! for other records once it is written (`standard-objects.md` §4). A module per family:
//!
//! - `pricebooks`: price book entries, opportunity products, an opportunity's amount;
//! - `quotes`: quotes and their lines;
//! - `relations`: a contact's relationships with accounts;
//! - `activities`: an event's times, an activity's account;
//! - `campaigns`: a campaign's statuses, its members, its counts;
//! - `files`: a file version's document and links;
//! - `leads`: lead conversion, and `merge`: merging records, operations over several
//!   records, undone whole when any part fails;
//! - `follow`: what follows once records are written.
//!
//! The org's own objects' rules run here too, after the standard objects': a record type's
//! (`crate::record_types`: named apart from its object's others; and every record's
//! record type an active one of its object, its object's default when it names none), a
//! PushTopic's query (`crate::pushtopic`), a streaming channel's name (`crate::generic`).

mod activities;
mod campaigns;
mod files;
mod follow;
mod leads;
mod merge;
mod pricebooks;
mod quotes;
mod relations;

pub(crate) use follow::write;
pub(crate) use leads::convert_lead;
pub(crate) use merge::merge;

use crate::error::OrgError;
use crate::meta::ObjectDef;
use crate::record::Record;
use crate::txn::Txn;

/// The behaviours of `rec`'s object (`def`, when the schema has it) for a write of it,
/// which stood as `before` (none for a new record).
pub(super) fn before_write(
    txn: &Txn<'_>,
    def: Option<&ObjectDef>,
    rec: &mut Record,
    before: Option<&Record>,
) -> Result<(), OrgError> {
    match rec.object.as_str() {
        pricebooks::ENTRY => pricebooks::check_entry(txn, rec, before)?,
        pricebooks::LINE => pricebooks::check_line(txn, rec, before)?,
        pricebooks::OPPORTUNITY => pricebooks::keep_amount(rec, before),
        quotes::QUOTE => quotes::check_quote(txn, rec, before),
        quotes::QUOTE_LINE => quotes::check_quote_line(txn, rec)?,
        relations::RELATION => relations::check_relation(txn, rec, before)?,
        activities::EVENT => {
            activities::check_event(rec, before)?;
            activities::activity_account(txn, rec);
        }
        activities::TASK => activities::activity_account(txn, rec),
        campaigns::MEMBER => campaigns::check_member(txn, rec),
        _ => {}
    }
    if rec.object == crate::record_types::OBJECT {
        let others: Vec<&Record> = txn.scan(crate::record_types::OBJECT).collect();
        crate::record_types::check(txn.schema, rec, others.into_iter())?;
    }
    if def.is_some_and(|d| d.field(crate::record_types::FIELD).is_some()) {
        let active =
            crate::record_types::active_of(txn.scan(crate::record_types::OBJECT), &rec.object);
        crate::record_types::assign(rec, &active, before)?;
    }
    if rec.object == crate::pushtopic::OBJECT {
        crate::pushtopic::check(txn.schema, rec)?;
    }
    if rec.object == crate::generic::OBJECT {
        crate::generic::check(rec)?;
    }
    Ok(())
}

/// A new record with the records its insert brings along, in the order they are written:
/// a file version's document and links, a campaign's member statuses.
pub(super) fn brought_by(txn: &mut Txn<'_>, rec: Record) -> Result<Vec<Record>, OrgError> {
    match rec.object.as_str() {
        files::VERSION => files::with_document(txn, rec),
        campaigns::CAMPAIGN => {
            let statuses = campaigns::default_statuses(txn, rec.id)?;
            Ok(std::iter::once(rec).chain(statuses).collect())
        }
        _ => Ok(vec![rec]),
    }
}

/// Refuses the delete (or undelete) of `rec` where its object's behaviour forbids it: a
/// contact's direct relationship with its account goes only with the contact.
pub(super) fn check_delete(txn: &Txn<'_>, rec: &Record) -> Result<(), OrgError> {
    if rec.object == relations::RELATION {
        relations::check_relation_delete(txn, rec)?;
    }
    Ok(())
}
