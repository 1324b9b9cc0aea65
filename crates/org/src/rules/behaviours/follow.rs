//! What follows once records are written into a transaction: the opportunities of
//! changed opportunity products, the quotes of changed quote lines, the campaigns a
//! record counts in, the account relationships of contacts whose account changed.

use crate::error::OrgError;
use crate::record::Record;
use crate::txn::Txn;

use super::{campaigns, pricebooks, quotes, relations};

/// Writes `records` into the transaction, with what follows from them. Should any of that
/// fail, nothing of it is left.
pub(crate) fn write(txn: &mut Txn<'_>, records: Vec<Record>) -> Result<(), OrgError> {
    let moved = relations::contacts_moved(txn, &records);
    let opportunities = pricebooks::parents_of(&records, pricebooks::LINE, "OpportunityId");
    let quotes = pricebooks::parents_of(&records, quotes::QUOTE_LINE, "QuoteId");
    // Campaigns counted before and after: a record may leave one for another. (Only
    // the records a campaign counts are looked up: a bulk load's new Accounts were
    // each a miss in the table of every record.)
    let before = records
        .iter()
        .filter(|r| campaigns::counted_in_campaigns(r))
        .filter_map(|r| txn.current(&r.id));
    let mut campaigns = campaigns::campaigns_of(records.iter().chain(before));
    if moved.is_empty() {
        for r in records {
            txn.set(r.id, Some(r));
        }
    } else {
        write_relating(txn, records, &moved)?;
    }
    if !opportunities.is_empty() {
        let rolled = pricebooks::roll_up(txn, &opportunities);
        campaigns.extend(campaigns::campaigns_of(rolled.iter()));
        for r in rolled {
            txn.set(r.id, Some(r));
        }
    }
    for r in quotes::roll_up_quotes(txn, &quotes) {
        txn.set(r.id, Some(r));
    }
    campaigns.sort();
    campaigns.dedup();
    if !campaigns.is_empty() {
        for r in campaigns::count_campaigns(txn, &campaigns) {
            txn.set(r.id, Some(r));
        }
    }
    Ok(())
}

/// Writes `records`, then the account relationships of the contacts among them that
/// `moved` names; nothing of it when those fail.
fn write_relating(
    txn: &mut Txn<'_>,
    records: Vec<Record>,
    moved: &[relations::Moved],
) -> Result<(), OrgError> {
    let saved = txn.savepoint();
    for r in records {
        txn.set(r.id, Some(r));
    }
    match relations::relate_contacts(txn, moved) {
        Ok(relations) => {
            for r in relations {
                txn.set(r.id, Some(r));
            }
            txn.release(saved);
            Ok(())
        }
        Err(e) => {
            txn.rollback_to(saved);
            Err(e)
        }
    }
}
