//! Quotes and their line items (the Object Reference's Quote and QuoteLineItem): a quote
//! belongs to an opportunity, whose account it takes and, when it is given none, whose
//! price book; a line item is priced from an active entry of its quote's price book as an
//! opportunity product is from its opportunity's (`pricebooks::entry_of`; the quote
//! takes the entry's book when it has none), at its `UnitPrice` or the entry's, less its
//! `Discount`; the quote's `Subtotal`, `TotalPrice`, `Discount`, `LineItemCount` and
//! `GrandTotal` (with its `Tax` and `ShippingHandling`) follow its lines. A quote made
//! through the API starts with no lines: Salesforce copies an opportunity's products only
//! when a user makes the quote ("Considerations for Creating and Managing Quotes").

use serde_json::Value;

use crate::error::OrgError;
use crate::record::Record;

use crate::txn::Txn;

use super::pricebooks::{money, number, priced_from};

pub(super) const QUOTE: &str = "Quote";
pub(super) const QUOTE_LINE: &str = "QuoteLineItem";

/// A quote's totals from the `Subtotal` and `TotalPrice` of its lines.
struct Totals {
    subtotal: f64,
    total: f64,
    count: usize,
}

impl Totals {
    /// The fields they set on a quote with `quote`'s tax and shipping.
    fn fields(&self, quote: &Record) -> [(&'static str, Value); 5] {
        let extra =
            number(quote, "Tax").unwrap_or(0.0) + number(quote, "ShippingHandling").unwrap_or(0.0);
        let discount = if self.subtotal == 0.0 {
            Value::Null
        } else {
            money((self.subtotal - self.total) / self.subtotal * 100.0)
        };
        [
            ("Subtotal", money(self.subtotal)),
            ("TotalPrice", money(self.total)),
            ("Discount", discount),
            ("LineItemCount", Value::from(self.count)),
            ("GrandTotal", money(self.total + extra)),
        ]
    }
}

/// A quote before it is written: its opportunity's account (and price book, when it
/// is given none) on insert or a move to another opportunity, its totals.
pub(super) fn check_quote(txn: &Txn<'_>, quote: &mut Record, before: Option<&Record>) {
    let moved = before.is_none_or(|b| b.get("OpportunityId") != quote.get("OpportunityId"));
    if moved && let Some(opportunity) = txn.live(quote.get_str("OpportunityId")) {
        let account = opportunity.get("AccountId").to_value();
        let book = opportunity.get("Pricebook2Id").to_value();
        quote.fields.insert("AccountId".into(), account);
        if quote.get("Pricebook2Id").is_null() {
            quote.fields.insert("Pricebook2Id".into(), book);
        }
    }
    let totals = totals_of(txn, quote);
    for (field, value) in totals.fields(quote) {
        quote.fields.insert(field.into(), value);
    }
}

/// A quote line item before it is written: its entry (of its quote's price book),
/// product and prices.
pub(super) fn check_quote_line(txn: &Txn<'_>, line: &mut Record) -> Result<(), OrgError> {
    let quote = txn.live(line.get_str("QuoteId"));
    let book = quote.and_then(|q| q.get_str("Pricebook2Id"));
    let entry = super::pricebooks::entry_of(txn, line, book, "quote")?;
    let quantity = number(line, "Quantity").unwrap_or(1.0);
    let unit = number(line, "UnitPrice")
        .or_else(|| number(entry, "UnitPrice"))
        .unwrap_or(0.0);
    let discount = number(line, "Discount").unwrap_or(0.0);
    let subtotal = unit * quantity;
    let mut fields = priced_from(entry).to_vec();
    fields.extend([
        ("UnitPrice", money(unit)),
        ("Subtotal", money(subtotal)),
        ("TotalPrice", money(subtotal * (1.0 - discount / 100.0))),
    ]);
    for (field, value) in fields {
        line.fields.insert(field.into(), value);
    }
    Ok(())
}

/// The totals of `quote`'s live lines, as this transaction sees them.
fn totals_of(txn: &Txn<'_>, quote: &Record) -> Totals {
    let lines = txn.children(QUOTE_LINE, "QuoteId", quote.id);
    Totals {
        subtotal: lines.iter().filter_map(|l| number(l, "Subtotal")).sum(),
        total: lines.iter().filter_map(|l| number(l, "TotalPrice")).sum(),
        count: lines.len(),
    }
}

/// Quotes brought up to date with their lines (as this transaction sees them): their
/// totals, and the price book of their first line when they have none.
pub(super) fn roll_up_quotes(txn: &Txn<'_>, quotes: &[String]) -> Vec<Record> {
    let mut out = Vec::new();
    for id in quotes {
        let Some(mut quote) = txn.live(Some(id)).cloned() else {
            continue;
        };
        let book = txn
            .children(QUOTE_LINE, "QuoteId", quote.id)
            .first()
            .and_then(|l| txn.live(l.get_str("PricebookEntryId")))
            .map(|e| e.get("Pricebook2Id").to_value());
        if let Some(book) = book.filter(|_| quote.get("Pricebook2Id").is_null()) {
            quote.fields.insert("Pricebook2Id".into(), book);
        }
        let totals = totals_of(txn, &quote);
        for (field, value) in totals.fields(&quote) {
            quote.fields.insert(field.into(), value);
        }
        out.push(quote);
    }
    out
}
