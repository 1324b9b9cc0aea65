//! Price books and opportunity products (`standard-objects.md` §4.1, §4.2): a product has
//! a price in the Standard Price Book before it has one in a custom book; an opportunity
//! product comes from an active entry of its opportunity's price book (the opportunity
//! takes the entry's book when it has none; a quote's lines are priced from entries the
//! same way, `quotes`), prices itself from the entry, and its opportunity's
//! `Amount`, `TotalOpportunityQuantity` and `HasOpportunityLineItem` follow its products
//! (a client's `Amount` is ignored while it has any).

use serde_json::Value;

use crate::error::{Code, OrgError};
use crate::id::RecordId;
use crate::record::Record;
use crate::txn::Txn;

pub(super) const BOOK: &str = "Pricebook2";
pub(super) const ENTRY: &str = "PricebookEntry";
pub(super) const LINE: &str = "OpportunityLineItem";
pub(super) const OPPORTUNITY: &str = "Opportunity";

fn integrity(message: &str, field: &str) -> OrgError {
    OrgError::field(
        Code::FieldIntegrityException,
        format!("field integrity exception: {message}"),
        field,
    )
}

pub(super) fn number(r: &Record, field: &str) -> Option<f64> {
    r.get(field).as_f64()
}

/// What a line item takes from its price book entry: its product and list price.
pub(super) fn priced_from(entry: &Record) -> [(&'static str, Value); 2] {
    [
        ("Product2Id", entry.get("Product2Id").to_value()),
        ("ListPrice", entry.get("UnitPrice").to_value()),
    ]
}

pub(super) fn money(v: f64) -> Value {
    serde_json::Number::from_f64((v * 100.0).round() / 100.0).map_or(Value::Null, Value::Number)
}

/// The org's Standard Price Book.
fn standard_book(txn: &Txn<'_>) -> Option<RecordId> {
    txn.scan(BOOK)
        .find(|b| !b.is_deleted && b.get("IsStandard") == true)
        .map(|b| b.id)
}

/// A price book entry before it is written: one per product and book, a standard
/// price before a custom one, the product's name and code.
pub(super) fn check_entry(
    txn: &Txn<'_>,
    entry: &mut Record,
    before: Option<&Record>,
) -> Result<(), OrgError> {
    let book = entry.get_str("Pricebook2Id").map(str::to_owned);
    let product_id = entry.get_str("Product2Id").map(str::to_owned);
    if before.is_none() {
        let taken = txn.scan(ENTRY).any(|e| {
            !e.is_deleted
                && e.id != entry.id
                && e.get_str("Pricebook2Id") == book.as_deref()
                && e.get_str("Product2Id") == product_id.as_deref()
        });
        if taken {
            return Err(OrgError::new(
                Code::DuplicateValue,
                "This price definition already exists in this price book",
            ));
        }
    }
    let standard = standard_book(txn).map(|b| b.to18());
    if book != standard {
        let standard_entry = txn.scan(ENTRY).find(|e| {
            !e.is_deleted
                && e.get_str("Pricebook2Id") == standard.as_deref()
                && e.get_str("Product2Id") == product_id.as_deref()
        });
        let Some(standard_entry) = standard_entry else {
            return Err(OrgError::new(
                Code::StandardPriceNotDefined,
                "No standard price defined for this product",
            ));
        };
        if entry.get("UseStandardPrice") == true {
            let price = standard_entry.get("UnitPrice").to_value();
            entry.fields.insert("UnitPrice".into(), price);
        }
    }
    if let Some(product) = txn.live(product_id.as_deref()) {
        let (name, code) = (
            product.get("Name").to_value(),
            product.get("ProductCode").to_value(),
        );
        entry.fields.insert("Name".into(), name);
        entry.fields.insert("ProductCode".into(), code);
    }
    Ok(())
}

/// The price book entry a line item (an opportunity's or a quote's, `parent`, whose
/// price book is `book`) is priced from: one that exists, is active and, when the
/// parent has a book, is in it (`standard-objects.md` §4.2; a quote's lines as its
/// opportunity's products, the Object Reference's QuoteLineItem).
pub(super) fn entry_of<'t>(
    txn: &'t Txn<'_>,
    line: &Record,
    book: Option<&str>,
    parent: &str,
) -> Result<&'t Record, OrgError> {
    let Some(entry) = txn.live(line.get_str("PricebookEntryId")) else {
        return Err(integrity(
            "PricebookEntryId, unknown (versions 3.0 and higher must specify pricebook entry id; others must specify product id)",
            "PricebookEntryId",
        ));
    };
    if entry.get("IsActive") != true {
        return Err(integrity(
            "PricebookEntryId (pricebook entry is inactive)",
            "PricebookEntryId",
        ));
    }
    if book.is_some_and(|b| Some(b) != entry.get_str("Pricebook2Id")) {
        return Err(integrity(
            &format!(
                "PricebookEntryId (pricebook entry is in a different pricebook than the one assigned to the {parent})"
            ),
            "PricebookEntryId",
        ));
    }
    Ok(entry)
}

/// An opportunity product before it is written: its entry, product and prices.
pub(super) fn check_line(
    txn: &Txn<'_>,
    line: &mut Record,
    before: Option<&Record>,
) -> Result<(), OrgError> {
    let opportunity = txn.live(line.get_str("OpportunityId"));
    let book = opportunity.and_then(|o| o.get_str("Pricebook2Id"));
    let entry = entry_of(txn, line, book, "opportunity")?;
    let quantity = number(line, "Quantity").unwrap_or(1.0);
    let changed = |field: &str| before.is_none_or(|b| b.get(field) != line.get(field));
    let (unit, total) = (number(line, "UnitPrice"), number(line, "TotalPrice"));
    let unit = match (unit, total) {
        (Some(_), Some(_)) if changed("UnitPrice") && changed("TotalPrice") => {
            return Err(integrity(
                "TotalPrice (only one of unit price and total price may be specified)",
                "TotalPrice",
            ));
        }
        (_, Some(t)) if changed("TotalPrice") && quantity != 0.0 => t / quantity,
        (Some(u), _) => u,
        _ => {
            return Err(integrity(
                "UnitPrice (either unit price or total price must be specified)",
                "UnitPrice",
            ));
        }
    };
    let product = txn.live(entry.get_str("Product2Id"));
    let name = match (
        opportunity.and_then(|o| o.get_str("Name")),
        product.and_then(|p| p.get_str("Name")),
    ) {
        (Some(o), Some(p)) => Value::from(format!("{o} {p}")),
        _ => Value::Null,
    };
    let mut fields = priced_from(entry).to_vec();
    fields.extend([
        ("ProductCode", entry.get("ProductCode").to_value()),
        ("Name", name),
        ("UnitPrice", money(unit)),
        ("TotalPrice", money(unit * quantity)),
    ]);
    for (field, value) in fields {
        line.fields.insert(field.into(), value);
    }
    Ok(())
}

/// An opportunity's `Amount` is its products' while it has any.
pub(super) fn keep_amount(opportunity: &mut Record, before: Option<&Record>) {
    if let Some(before) = before
        && before.get("HasOpportunityLineItem") == true
    {
        let amount = before.get("Amount").to_value();
        opportunity.fields.insert("Amount".into(), amount);
    }
}

/// Opportunities brought up to date with their products (as this transaction sees
/// them): `Amount`, `TotalOpportunityQuantity`, `HasOpportunityLineItem`, and the price
/// book of their first product.
pub(super) fn roll_up(txn: &Txn<'_>, opportunities: &[String]) -> Vec<Record> {
    let mut out = Vec::new();
    for id in opportunities {
        let Some(mut opportunity) = txn.live(Some(id)).cloned() else {
            continue;
        };
        let lines = txn.children(LINE, "OpportunityId", opportunity.id);
        let amount: f64 = lines.iter().filter_map(|l| number(l, "TotalPrice")).sum();
        let quantity: f64 = lines.iter().filter_map(|l| number(l, "Quantity")).sum();
        let book = lines
            .first()
            .and_then(|l| txn.live(l.get_str("PricebookEntryId")))
            .map(|e| e.get("Pricebook2Id").to_value());
        let mut set = vec![
            ("Amount", money(amount)),
            (
                "TotalOpportunityQuantity",
                if lines.is_empty() {
                    Value::Null
                } else {
                    Value::from(quantity)
                },
            ),
            ("HasOpportunityLineItem", Value::Bool(!lines.is_empty())),
        ];
        if let Some(book) = book.filter(|_| opportunity.get("Pricebook2Id").is_null()) {
            set.push(("Pricebook2Id", book));
        }
        for (field, value) in set {
            opportunity.fields.insert(field.into(), value);
        }
        crate::derive::derive(OPPORTUNITY, &mut opportunity.fields, &txn.now);
        out.push(opportunity);
    }
    out
}

/// The ids `field` names in the records of `object` among `records` (the parents a change
/// to them changes), each once.
pub(super) fn parents_of(records: &[Record], object: &str, field: &str) -> Vec<String> {
    let mut ids: Vec<String> = records
        .iter()
        .filter(|r| r.object == object)
        .filter_map(|r| r.get_str(field).map(str::to_owned))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}
