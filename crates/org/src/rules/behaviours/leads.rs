//! Lead conversion (`convertLead()` of the SOAP API): a lead becomes an
//! account, a contact and, unless asked not to, an opportunity, in one transaction. New
//! records take the lead's mapped fields; existing ones named by the request keep their
//! values and take the lead's only where theirs are blank. The lead is marked converted
//! (and can no longer be changed); its campaign memberships gain the contact, and its
//! activities, notes and attachments move to the contact (an activity without a `WhatId`
//! to the opportunity, else the account).

use chrono::{Datelike, NaiveDate};
use serde_json::{Map, Value};

use crate::error::{Code, OrgError};
use crate::fields::FieldRef;
use crate::id::RecordId;
use crate::record::Record;
use crate::txn::{LeadConvert, Outcome, Txn};

const LEAD: &str = "Lead";
const ACCOUNT: &str = "Account";
const CONTACT: &str = "Contact";
const OPPORTUNITY: &str = "Opportunity";
const CONTACT_ROLE: &str = "OpportunityContactRole";

/// Lead field → account field, for a new account or an existing one's blank fields.
const TO_ACCOUNT: &[(&str, &str)] = &[
    ("Company", "Name"),
    ("Street", "BillingStreet"),
    ("City", "BillingCity"),
    ("State", "BillingState"),
    ("PostalCode", "BillingPostalCode"),
    ("Country", "BillingCountry"),
    ("StateCode", "BillingStateCode"),
    ("CountryCode", "BillingCountryCode"),
    ("Latitude", "BillingLatitude"),
    ("Longitude", "BillingLongitude"),
    ("GeocodeAccuracy", "BillingGeocodeAccuracy"),
    ("AnnualRevenue", "AnnualRevenue"),
    ("Fax", "Fax"),
    ("Industry", "Industry"),
    ("NumberOfEmployees", "NumberOfEmployees"),
    ("Phone", "Phone"),
    ("Rating", "Rating"),
    ("Website", "Website"),
];

/// Lead field → contact field.
const TO_CONTACT: &[(&str, &str)] = &[
    ("Salutation", "Salutation"),
    ("FirstName", "FirstName"),
    ("MiddleName", "MiddleName"),
    ("LastName", "LastName"),
    ("Suffix", "Suffix"),
    ("Title", "Title"),
    ("Email", "Email"),
    ("Phone", "Phone"),
    ("MobilePhone", "MobilePhone"),
    ("Fax", "Fax"),
    ("Description", "Description"),
    ("LeadSource", "LeadSource"),
    ("DoNotCall", "DoNotCall"),
    ("HasOptedOutOfEmail", "HasOptedOutOfEmail"),
    ("HasOptedOutOfFax", "HasOptedOutOfFax"),
    ("Street", "MailingStreet"),
    ("City", "MailingCity"),
    ("State", "MailingState"),
    ("PostalCode", "MailingPostalCode"),
    ("Country", "MailingCountry"),
    ("StateCode", "MailingStateCode"),
    ("CountryCode", "MailingCountryCode"),
    ("Latitude", "MailingLatitude"),
    ("Longitude", "MailingLongitude"),
    ("GeocodeAccuracy", "MailingGeocodeAccuracy"),
];

/// The converted records, to report.
struct Converted {
    account: RecordId,
    contact: RecordId,
    opportunity: Option<RecordId>,
}

fn cross_reference(message: String, field: &str) -> OrgError {
    OrgError::field(Code::InvalidCrossReferenceKey, message, field)
}

/// Converts a lead; on any failure nothing of it is left.
pub(crate) fn convert_lead(txn: &mut Txn<'_>, c: &LeadConvert) -> Result<Outcome, OrgError> {
    let saved = txn.savepoint();
    match convert(txn, c) {
        Ok((lead, done)) => {
            txn.release(saved);
            Ok(Outcome::Converted {
                lead,
                account: done.account,
                contact: done.contact,
                opportunity: done.opportunity,
            })
        }
        Err(e) => {
            txn.rollback_to(saved);
            Err(e)
        }
    }
}

fn convert(txn: &mut Txn<'_>, c: &LeadConvert) -> Result<(RecordId, Converted), OrgError> {
    let lead = txn.existing(Some(LEAD), &c.lead_id).map_err(|e| {
        if e.code == Code::NotFound {
            cross_reference(
                format!("invalid cross reference id: {}", c.lead_id),
                "leadId",
            )
        } else {
            e
        }
    })?;
    if lead.is_deleted {
        return Err(OrgError::deleted());
    }
    if lead.get("IsConverted") == true {
        return Err(OrgError::converted_lead());
    }
    let lead = lead.clone();
    if !crate::picklists::is_converted_status(txn.schema, &c.converted_status) {
        return Err(OrgError::field(
            Code::InvalidStatus,
            format!("invalid convertedStatus: {}", c.converted_status),
            "convertedStatus",
        ));
    }
    let owner = new_owner(txn, c, &lead)?;
    let account = convert_account(txn, c, &lead, &owner)?;
    let contact = convert_contact(txn, c, &lead, &owner, account)?;
    let opportunity = convert_opportunity(txn, c, &lead, &owner, account, contact)?;
    let done = Converted {
        account,
        contact,
        opportunity,
    };
    move_lead_children(txn, &lead, &done)?;
    let mut converted = lead.clone();
    let today = txn.now.get(..10).unwrap_or_default().to_owned();
    for (field, value) in [
        ("IsConverted", Value::Bool(true)),
        ("Status", Value::from(c.converted_status.as_str())),
        ("ConvertedAccountId", Value::from(account.to18())),
        ("ConvertedContactId", Value::from(contact.to18())),
        (
            "ConvertedOpportunityId",
            opportunity.map_or(Value::Null, |o| Value::from(o.to18())),
        ),
        ("ConvertedDate", Value::from(today)),
    ] {
        converted.fields.insert(field.to_owned(), value);
    }
    txn.touch(&mut converted);
    txn.put(vec![converted])?;
    Ok((lead.id, done))
}

/// The owner of the new records: the one asked for, else the lead's (a queue cannot
/// own them).
fn new_owner(txn: &Txn<'_>, c: &LeadConvert, lead: &Record) -> Result<Value, OrgError> {
    let (owner, field) = match c.owner_id.as_deref() {
        Some(o) => (o, "ownerId"),
        None => (lead.get_str("OwnerId").unwrap_or_default(), "OwnerId"),
    };
    match txn.live(Some(owner)) {
        Some(u) if u.object == "User" => Ok(Value::from(u.id.to18())),
        _ => Err(cross_reference(
            format!("invalid owner for the converted records: {owner}; give a user as ownerId"),
            field,
        )),
    }
}

fn convert_account(
    txn: &mut Txn<'_>,
    c: &LeadConvert,
    lead: &Record,
    owner: &Value,
) -> Result<RecordId, OrgError> {
    if let Some(id) = c.account_id.as_deref() {
        let account = live_of(txn, ACCOUNT, id, "accountId")?;
        fill_blanks(txn, account, lead, TO_ACCOUNT, false)?;
        return Ok(account);
    }
    let mut fields = mapped(lead, TO_ACCOUNT);
    fields.insert("OwnerId".into(), owner.clone());
    if fields.get("Name").is_none_or(Value::is_null) {
        // A lead without a company makes an account named after the person.
        fields.insert("Name".into(), lead.get("Name").to_value());
    }
    let def = txn.object(ACCOUNT)?;
    txn.insert(def, &fields)
}

fn convert_contact(
    txn: &mut Txn<'_>,
    c: &LeadConvert,
    lead: &Record,
    owner: &Value,
    account: RecordId,
) -> Result<RecordId, OrgError> {
    if let Some(id) = c.contact_id.as_deref() {
        if c.account_id.is_none() {
            return Err(cross_reference(
                "accountId is required with contactId".to_owned(),
                "accountId",
            ));
        }
        let contact = live_of(txn, CONTACT, id, "contactId")?;
        let of_account = txn
            .current(&contact)
            .and_then(|r| r.get_str("AccountId"))
            .and_then(RecordId::parse);
        if of_account != Some(account) {
            return Err(cross_reference(
                format!("contact {id} does not belong to account {}", account.to18()),
                "contactId",
            ));
        }
        fill_blanks(txn, contact, lead, TO_CONTACT, c.overwrite_lead_source)?;
        return Ok(contact);
    }
    let mut fields = mapped(lead, TO_CONTACT);
    fields.insert("AccountId".into(), Value::from(account.to18()));
    fields.insert("OwnerId".into(), owner.clone());
    let def = txn.object(CONTACT)?;
    txn.insert(def, &fields)
}

fn convert_opportunity(
    txn: &mut Txn<'_>,
    c: &LeadConvert,
    lead: &Record,
    owner: &Value,
    account: RecordId,
    contact: RecordId,
) -> Result<Option<RecordId>, OrgError> {
    if let Some(id) = c.opportunity_id.as_deref() {
        let opportunity = live_of(txn, OPPORTUNITY, id, "opportunityId")?;
        return Ok(Some(opportunity));
    }
    if c.do_not_create_opportunity {
        return Ok(None);
    }
    let def = txn.object(OPPORTUNITY)?;
    let name = c
        .opportunity_name
        .clone()
        .map(Value::from)
        .unwrap_or_else(|| lead.get("Company").to_value());
    let stage = def
        .field("StageName")
        .and_then(|f| {
            f.default_picklist
                .clone()
                .or_else(|| f.picklist.first().cloned())
        })
        .map_or(Value::Null, Value::from);
    let mut fields = Map::new();
    for (field, value) in [
        ("Name", name),
        ("AccountId", Value::from(account.to18())),
        ("StageName", stage),
        (
            "CloseDate",
            Value::from(quarter_end(today(txn)).format("%Y-%m-%d").to_string()),
        ),
        ("LeadSource", lead.get("LeadSource").to_value()),
        ("CampaignId", latest_campaign(txn, lead)),
        ("OwnerId", owner.clone()),
    ] {
        if !value.is_null() && def.field(field).is_some() {
            fields.insert(field.to_owned(), value);
        }
    }
    let opportunity = txn.insert(def, &fields)?;
    if let Ok(role) = txn.object(CONTACT_ROLE) {
        let fields: Map<String, Value> = [
            ("OpportunityId", Value::from(opportunity.to18())),
            ("ContactId", Value::from(contact.to18())),
            ("IsPrimary", Value::Bool(true)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        txn.insert(role, &fields)?;
    }
    Ok(Some(opportunity))
}

/// The live record of `object` that `id` names, for the request field `field`.
fn live_of(txn: &Txn<'_>, object: &str, id: &str, field: &str) -> Result<RecordId, OrgError> {
    match txn.live(Some(id)) {
        Some(r) if r.object == object => Ok(r.id),
        _ => Err(cross_reference(
            format!("invalid cross reference id: {id}"),
            field,
        )),
    }
}

/// Gives an existing record the lead's values for its blank mapped fields (and the
/// lead's `LeadSource` when asked to overwrite it).
fn fill_blanks(
    txn: &mut Txn<'_>,
    id: RecordId,
    lead: &Record,
    map: &[(&str, &str)],
    overwrite_source: bool,
) -> Result<(), OrgError> {
    let Some(current) = txn.current(&id) else {
        return Ok(());
    };
    let mut rec = current.clone();
    let def = txn.object(&rec.object)?;
    let mut changed = false;
    for (from, to) in map {
        let value = lead.get(from);
        let blank = match rec.get(to) {
            FieldRef::Null => true,
            FieldRef::Bool(b) => !b,
            _ => false,
        };
        let overwrite = overwrite_source && *to == "LeadSource";
        if (blank || overwrite)
            && !value.is_null()
            && value != FieldRef::Bool(false)
            && def.field(to).is_some()
            && rec.get(to) != value
        {
            rec.fields.insert((*to).to_owned(), value.to_value());
            changed = true;
        }
    }
    if changed {
        txn.touch(&mut rec);
        txn.put(vec![rec])?;
    }
    Ok(())
}

/// The lead's campaign memberships gain the contact; its activities, notes and
/// attachments move to the contact.
fn move_lead_children(txn: &mut Txn<'_>, lead: &Record, done: &Converted) -> Result<(), OrgError> {
    let lead_id = Some(lead.id);
    let of_lead = |r: &Record, field: &str| r.get_str(field).and_then(RecordId::parse) == lead_id;
    let what = done.opportunity.unwrap_or(done.account).to18();
    let contact = Value::from(done.contact.to18());
    let mut moved = Vec::new();
    for object in ["CampaignMember", "Task", "Event", "Note", "Attachment"] {
        for r in txn.scan(object).filter(|r| !r.is_deleted) {
            let mut rec = r.clone();
            match object {
                "CampaignMember" if of_lead(r, "LeadId") => {
                    rec.fields.insert("ContactId".into(), contact.clone());
                }
                "Task" | "Event" if of_lead(r, "WhoId") => {
                    rec.fields.insert("WhoId".into(), contact.clone());
                    if rec.get("WhatId").is_null() {
                        rec.fields
                            .insert("WhatId".into(), Value::from(what.as_str()));
                    }
                }
                "Note" | "Attachment" if of_lead(r, "ParentId") => {
                    rec.fields.insert("ParentId".into(), contact.clone());
                }
                _ => continue,
            }
            moved.push(rec);
        }
    }
    let moved = moved
        .into_iter()
        .map(|rec| txn.changed(rec))
        .collect::<Result<Vec<_>, _>>()?;
    if !moved.is_empty() {
        txn.put(moved)?;
    }
    Ok(())
}

/// The campaign the lead joined last, for the new opportunity.
fn latest_campaign(txn: &Txn<'_>, lead: &Record) -> Value {
    let id = lead.id.to18();
    txn.scan("CampaignMember")
        .filter(|m| !m.is_deleted && m.get_str("LeadId") == Some(id.as_str()))
        .max_by(|a, b| {
            a.get_str("CreatedDate")
                .cmp(&b.get_str("CreatedDate"))
                .then(a.id.cmp(&b.id))
        })
        .map_or(Value::Null, |m| m.get("CampaignId").to_value())
}

/// Today's date in the transaction's clock.
fn today(txn: &Txn<'_>) -> NaiveDate {
    txn.now
        .get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or_default()
}

/// The lead's non-blank values of the mapped fields, under their new names.
fn mapped(lead: &Record, map: &[(&str, &str)]) -> Map<String, Value> {
    map.iter()
        .filter(|(from, _)| !lead.get(from).is_null())
        .map(|(from, to)| ((*to).to_owned(), lead.get(from).to_value()))
        .collect()
}

/// The last day of `day`'s calendar quarter: a new opportunity's close date.
fn quarter_end(day: NaiveDate) -> NaiveDate {
    let next_quarter = (day.month0() / 3 + 1) * 3;
    let (year, month) = if next_quarter == 12 {
        (day.year() + 1, 1)
    } else {
        (day.year(), next_quarter + 1)
    };
    NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|d| d.pred_opt())
        .unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_ends_on_its_last_day() {
        for (today, end) in [
            ("2026-01-01", "2026-03-31"),
            ("2026-03-31", "2026-03-31"),
            ("2026-04-01", "2026-06-30"),
            ("2026-05-15", "2026-06-30"),
            ("2026-09-30", "2026-09-30"),
            ("2026-11-23", "2026-12-31"),
            ("2024-02-29", "2024-03-31"),
        ] {
            let day = NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap();
            assert_eq!(quarter_end(day).to_string(), end, "{today}");
        }
    }
}
