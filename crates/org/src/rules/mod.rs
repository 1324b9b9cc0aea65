//! The org's rules: every record a transaction writes passes through them before the
//! transaction holds it, in this order, and the first to refuse it refuses the write:
//!
//! 1. [`system`]: system validation, what Salesforce checks of every record whatever its
//!    object (fields the caller may write, values of their type, references to live
//!    records, required fields; a new record's defaults, stamps and id);
//! 2. [`behaviours`]: the standard objects' behaviours, what a write of one object's
//!    record does to it (a price book entry's price, an event's times, a campaign
//!    member's person), then the org's own objects' (record types, PushTopics, streaming
//!    channels);
//! 3. [`validation`]: the org's own validation rules (declared, deployed, or made through
//!    the Tooling API), on the record as it would be saved;
//! 4. [`unique`]: unique values, as a database checks them when it saves a record.
//!
//! After a write, in the same transaction: [`rollups`], the roll-up summaries of the
//! parents of the children written, moved by what each brought and took away; then [`history`], the field history rows
//! of the records written.
//!
//! A rule reads the transaction as it stands ([`Txn`]: the committed records and what the
//! transaction wrote), so it sees what earlier operations did. Once records are written
//! into the transaction, what follows from them for other records ([`write`]) is the
//! behaviours' too: a contact's account relationships, an opportunity's amount, a quote's
//! totals, a campaign's counts. A behaviour that makes or changes other records (a file's
//! document, a campaign's statuses, a converted lead's account) asks the transaction for
//! them, so they pass these rules as well. Nothing here commits: a transaction's records
//! are committed together ([`crate::commit`]).
//!
//! A new rule is a stage of its own in this list, in its place in the order.

mod asked;
mod behaviours;
mod history;
mod rollups;
mod system;
mod unique;
mod validation;

pub(crate) use asked::Asked;
pub(crate) use behaviours::{convert_lead, merge};
pub(crate) use rollups::summarize;

use crate::error::OrgError;
use crate::record::Record;
use crate::txn::Txn;

/// The record `asked` makes, once every rule has passed it, in their order; not yet
/// written into the transaction.
pub(crate) fn record<'a>(txn: &mut Txn<'a>, asked: Asked<'_, 'a>) -> Result<Record, OrgError> {
    let new = asked.is_new();
    let (def, mut rec) = system::record(txn, asked)?;
    let txn: &Txn<'a> = txn;
    let before = if new { None } else { txn.current(&rec.id) };
    behaviours::before_write(txn, def, &mut rec, before)?;
    if let Some(def) = def {
        validation::check(txn, def, &rec, before)?;
        unique::check(txn, def, &rec)?;
    }
    Ok(rec)
}

/// A new record, passed by the rules, with the records its insert brings along (a file's
/// document and links, a campaign's statuses), in the order they are written.
pub(crate) fn brought_by(txn: &mut Txn<'_>, rec: Record) -> Result<Vec<Record>, OrgError> {
    behaviours::brought_by(txn, rec)
}

/// Writes `records` into the transaction with what follows from them for other records.
/// Should any of that fail, nothing of it is left.
pub(crate) fn write(txn: &mut Txn<'_>, records: Vec<Record>) -> Result<(), OrgError> {
    let deltas = rollups::deltas(txn, &records);
    let tracked = history::tracked(txn, &records);
    if deltas.is_empty() && tracked.is_empty() {
        return behaviours::write(txn, records);
    }
    // Only a parent's validation rules can refuse what follows the write (the roll-ups'
    // parents): without them, nothing needs undoing, so no savepoint is taken.
    let may_refuse = txn.validating
        && deltas
            .keys()
            .any(|(object, _, _)| txn.formulas.has_rules(object));
    if !may_refuse {
        behaviours::write(txn, records)?;
        rollups::apply(txn, &deltas)?;
        history::write(txn, tracked);
        return Ok(());
    }
    let saved = txn.savepoint();
    let written = behaviours::write(txn, records)
        .and_then(|()| rollups::apply(txn, &deltas))
        .map(|()| history::write(txn, tracked));
    match written {
        Ok(()) => {
            txn.release(saved);
            Ok(())
        }
        Err(e) => {
            txn.rollback_to(saved);
            Err(e)
        }
    }
}

/// Refuses the delete or undelete of `rec` where a rule forbids it.
pub(crate) fn check_delete(txn: &Txn<'_>, rec: &Record) -> Result<(), OrgError> {
    behaviours::check_delete(txn, rec)
}
