//! Lead conversion (`convertLead()` of the SOAP API): a lead becomes an
//! account, a contact and, unless asked not to, an opportunity, in one transaction. New
//! records take the lead's mapped fields; existing ones named by the request keep their
//! values and take the lead's only where theirs are blank. The lead is marked converted
//! (and can no longer be changed); its campaign memberships gain the contact, and its
//! activities, notes and attachments move to the contact (an activity without a `WhatId`
//! to the opportunity, else the account).

use crate::fields::FieldRef;
use chrono::{Datelike, NaiveDate};
use serde_json::{Map, Value};

use crate::error::{Code, OrgError};
use crate::id::RecordId;
use crate::record::Record;

use super::{Outcome, Txn};

const LEAD: &str = "Lead";
const ACCOUNT: &str = "Account";
const CONTACT: &str = "Contact";
const OPPORTUNITY: &str = "Opportunity";
const CONTACT_ROLE: &str = "OpportunityContactRole";

/// One `LeadConvert` of the SOAP call.
#[derive(Debug, Clone, Default)]
pub struct LeadConvert {
    /// The lead.
    pub lead_id: String,
    /// A `LeadStatus` value that converts.
    pub converted_status: String,
    /// An existing account to convert into, else a new one.
    pub account_id: Option<String>,
    /// An existing contact of that account, else a new one.
    pub contact_id: Option<String>,
    /// An existing opportunity of that account, else a new one (unless
    /// `do_not_create_opportunity`).
    pub opportunity_id: Option<String>,
    /// The new opportunity's name (default: the lead's company).
    pub opportunity_name: Option<String>,
    /// The owner of the new records (default: the lead's owner).
    pub owner_id: Option<String>,
    /// Make no opportunity.
    pub do_not_create_opportunity: bool,
    /// Overwrite an existing contact's `LeadSource` with the lead's.
    pub overwrite_lead_source: bool,
}

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

impl Txn<'_> {
    /// Converts a lead; on any failure nothing of it is left.
    pub(super) fn convert_lead(&mut self, c: &LeadConvert) -> Result<Outcome, OrgError> {
        let saved = self.savepoint();
        match self.convert(c) {
            Ok((lead, done)) => {
                self.release(saved);
                Ok(Outcome::Converted {
                    lead,
                    account: done.account,
                    contact: done.contact,
                    opportunity: done.opportunity,
                })
            }
            Err(e) => {
                self.rollback_to(saved);
                Err(e)
            }
        }
    }

    fn convert(&mut self, c: &LeadConvert) -> Result<(RecordId, Converted), OrgError> {
        let lead = self.existing(Some(LEAD), &c.lead_id).map_err(|e| {
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
            return Err(converted_lead());
        }
        let lead = lead.clone();
        if !crate::picklists::is_converted_status(self.schema, &c.converted_status) {
            return Err(OrgError::field(
                Code::InvalidStatus,
                format!("invalid convertedStatus: {}", c.converted_status),
                "convertedStatus",
            ));
        }
        let owner = self.new_owner(c, &lead)?;
        let account = self.convert_account(c, &lead, &owner)?;
        let contact = self.convert_contact(c, &lead, &owner, account)?;
        let opportunity = self.convert_opportunity(c, &lead, &owner, account, contact)?;
        let done = Converted {
            account,
            contact,
            opportunity,
        };
        self.move_lead_children(&lead, &done)?;
        let mut converted = lead.clone();
        let today = self.now.get(..10).unwrap_or_default().to_owned();
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
        self.touch(&mut converted);
        self.put(vec![converted])?;
        Ok((lead.id, done))
    }

    /// The owner of the new records: the one asked for, else the lead's (a queue cannot
    /// own them).
    fn new_owner(&self, c: &LeadConvert, lead: &Record) -> Result<Value, OrgError> {
        let (owner, field) = match c.owner_id.as_deref() {
            Some(o) => (o, "ownerId"),
            None => (lead.get_str("OwnerId").unwrap_or_default(), "OwnerId"),
        };
        match self.live(Some(owner)) {
            Some(u) if u.object == "User" => Ok(Value::from(u.id.to18())),
            _ => Err(cross_reference(
                format!("invalid owner for the converted records: {owner}; give a user as ownerId"),
                field,
            )),
        }
    }

    fn convert_account(
        &mut self,
        c: &LeadConvert,
        lead: &Record,
        owner: &Value,
    ) -> Result<RecordId, OrgError> {
        if let Some(id) = c.account_id.as_deref() {
            let account = self.live_of(ACCOUNT, id, "accountId")?;
            self.fill_blanks(account, lead, TO_ACCOUNT, false)?;
            return Ok(account);
        }
        let mut fields = mapped(lead, TO_ACCOUNT);
        fields.insert("OwnerId".into(), owner.clone());
        if fields.get("Name").is_none_or(Value::is_null) {
            // A lead without a company makes an account named after the person.
            fields.insert("Name".into(), lead.get("Name").to_value());
        }
        let def = self.object(ACCOUNT)?;
        self.insert(def, &fields)
    }

    fn convert_contact(
        &mut self,
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
            let contact = self.live_of(CONTACT, id, "contactId")?;
            let of_account = self
                .current(&contact)
                .and_then(|r| r.get_str("AccountId"))
                .and_then(RecordId::parse);
            if of_account != Some(account) {
                return Err(cross_reference(
                    format!("contact {id} does not belong to account {}", account.to18()),
                    "contactId",
                ));
            }
            self.fill_blanks(contact, lead, TO_CONTACT, c.overwrite_lead_source)?;
            return Ok(contact);
        }
        let mut fields = mapped(lead, TO_CONTACT);
        fields.insert("AccountId".into(), Value::from(account.to18()));
        fields.insert("OwnerId".into(), owner.clone());
        let def = self.object(CONTACT)?;
        self.insert(def, &fields)
    }

    fn convert_opportunity(
        &mut self,
        c: &LeadConvert,
        lead: &Record,
        owner: &Value,
        account: RecordId,
        contact: RecordId,
    ) -> Result<Option<RecordId>, OrgError> {
        if let Some(id) = c.opportunity_id.as_deref() {
            let opportunity = self.live_of(OPPORTUNITY, id, "opportunityId")?;
            return Ok(Some(opportunity));
        }
        if c.do_not_create_opportunity {
            return Ok(None);
        }
        let def = self.object(OPPORTUNITY)?;
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
                Value::from(quarter_end(self.today()).format("%Y-%m-%d").to_string()),
            ),
            ("LeadSource", lead.get("LeadSource").to_value()),
            ("CampaignId", self.latest_campaign(lead)),
            ("OwnerId", owner.clone()),
        ] {
            if !value.is_null() && def.field(field).is_some() {
                fields.insert(field.to_owned(), value);
            }
        }
        let opportunity = self.insert(def, &fields)?;
        if let Ok(role) = self.object(CONTACT_ROLE) {
            let fields: Map<String, Value> = [
                ("OpportunityId", Value::from(opportunity.to18())),
                ("ContactId", Value::from(contact.to18())),
                ("IsPrimary", Value::Bool(true)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            self.insert(role, &fields)?;
        }
        Ok(Some(opportunity))
    }

    /// The live record of `object` that `id` names, for the request field `field`.
    fn live_of(&self, object: &str, id: &str, field: &str) -> Result<RecordId, OrgError> {
        match self.live(Some(id)) {
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
        &mut self,
        id: RecordId,
        lead: &Record,
        map: &[(&str, &str)],
        overwrite_source: bool,
    ) -> Result<(), OrgError> {
        let Some(current) = self.current(&id) else {
            return Ok(());
        };
        let mut rec = current.clone();
        let def = self.object(&rec.object)?;
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
            self.touch(&mut rec);
            self.put(vec![rec])?;
        }
        Ok(())
    }

    /// The lead's campaign memberships gain the contact; its activities, notes and
    /// attachments move to the contact.
    fn move_lead_children(&mut self, lead: &Record, done: &Converted) -> Result<(), OrgError> {
        let lead_id = Some(lead.id);
        let of_lead =
            |r: &Record, field: &str| r.get_str(field).and_then(RecordId::parse) == lead_id;
        let what = done.opportunity.unwrap_or(done.account).to18();
        let contact = Value::from(done.contact.to18());
        let mut moved = Vec::new();
        for object in ["CampaignMember", "Task", "Event", "Note", "Attachment"] {
            for r in self.scan(object).filter(|r| !r.is_deleted) {
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
        for rec in &mut moved {
            self.touch(rec);
            self.check_object_rules(rec)?;
        }
        if !moved.is_empty() {
            self.put(moved)?;
        }
        Ok(())
    }

    /// The campaign the lead joined last, for the new opportunity.
    fn latest_campaign(&self, lead: &Record) -> Value {
        let id = lead.id.to18();
        self.scan("CampaignMember")
            .filter(|m| !m.is_deleted && m.get_str("LeadId") == Some(id.as_str()))
            .max_by(|a, b| {
                a.get_str("CreatedDate")
                    .cmp(&b.get_str("CreatedDate"))
                    .then(a.id.cmp(&b.id))
            })
            .map_or(Value::Null, |m| m.get("CampaignId").to_value())
    }

    /// Today's date in the transaction's clock.
    fn today(&self) -> NaiveDate {
        self.now
            .get(..10)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .unwrap_or_default()
    }

    /// Stamps a record the transaction changes with who changed it and when.
    pub(super) fn touch(&self, rec: &mut Record) {
        let user = Value::String(self.caller.user_id.to18());
        rec.fields.insert("LastModifiedById".into(), user);
        for field in ["LastModifiedDate", "SystemModstamp"] {
            rec.fields
                .insert(field.into(), Value::from(self.now.as_str()));
        }
    }
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

/// A converted lead is read-only.
pub(super) fn converted_lead() -> OrgError {
    OrgError::new(
        Code::CannotUpdateConvertedLead,
        "cannot reference converted lead",
    )
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
