//! Campaigns: a new campaign gets the member statuses `Sent` (its default) and
//! `Responded`; a member takes its campaign's default status when given none, whether it
//! has responded from its status, and its person's details (name, email, company) from
//! its lead or contact; a campaign's member and opportunity counts and amounts follow its
//! members and opportunities.

use serde_json::{Map, Value};

use crate::error::OrgError;
use crate::id::RecordId;
use crate::record::Record;
use crate::txn::Txn;

pub(super) const CAMPAIGN: &str = "Campaign";
pub(super) const MEMBER: &str = "CampaignMember";
const STATUS: &str = "CampaignMemberStatus";
const OPPORTUNITY: &str = "Opportunity";

/// The person fields a member copies from its lead or contact.
const PERSON: [&str; 13] = [
    "Salutation",
    "Name",
    "FirstName",
    "LastName",
    "Title",
    "Email",
    "Phone",
    "Fax",
    "MobilePhone",
    "Description",
    "DoNotCall",
    "HasOptedOutOfEmail",
    "LeadSource",
];

/// The two statuses every new campaign starts with.
pub(super) fn default_statuses(
    txn: &mut Txn<'_>,
    campaign: RecordId,
) -> Result<Vec<Record>, OrgError> {
    let Ok(def) = txn.object(STATUS) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (label, order, default, responded) in
        [("Sent", 1, true, false), ("Responded", 2, false, true)]
    {
        let fields: Map<String, Value> = [
            ("CampaignId", Value::from(campaign.to18())),
            ("Label", Value::from(label)),
            ("SortOrder", Value::from(order)),
            ("IsDefault", Value::Bool(default)),
            ("HasResponded", Value::Bool(responded)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        out.push(txn.make(def, fields)?);
    }
    Ok(out)
}

/// A member before it is written: its status, response and person.
pub(super) fn check_member(txn: &Txn<'_>, member: &mut Record) {
    let campaign = member.get_str("CampaignId").map(str::to_owned);
    let statuses: Vec<&Record> = txn
        .scan(STATUS)
        .filter(|s| !s.is_deleted && s.get_str("CampaignId") == campaign.as_deref())
        .collect();
    if member.get("Status").is_null()
        && let Some(default) = statuses.iter().find(|s| s.get("IsDefault") == true)
    {
        member
            .fields
            .insert("Status".into(), default.get("Label").to_value());
    }
    let responded = statuses
        .iter()
        .any(|s| s.get("Label") == member.get("Status") && s.get("HasResponded") == true);
    member
        .fields
        .insert("HasResponded".into(), Value::Bool(responded));
    if responded && member.get("FirstRespondedDate").is_null() {
        let today = txn.now.get(..10).unwrap_or_default().to_owned();
        member
            .fields
            .insert("FirstRespondedDate".into(), Value::from(today));
    }
    let (person, kind) = match (member.get_str("ContactId"), member.get_str("LeadId")) {
        (Some(c), _) => (txn.live(Some(c)), "Contact"),
        (None, Some(l)) => (txn.live(Some(l)), "Lead"),
        (None, None) => (None, ""),
    };
    let Some(person) = person.cloned() else {
        return;
    };
    for field in PERSON {
        member
            .fields
            .insert(field.into(), person.get(field).to_value());
    }
    let company = match kind {
        "Lead" => person.get("Company").to_value(),
        _ => txn
            .live(person.get_str("AccountId"))
            .map_or(Value::Null, |a| a.get("Name").to_value()),
    };
    for (field, value) in [
        ("Type", Value::from(kind)),
        ("LeadOrContactId", Value::from(person.id.to18())),
        ("LeadOrContactOwnerId", person.get("OwnerId").to_value()),
        ("CompanyOrAccount", company),
    ] {
        member.fields.insert(field.into(), value);
    }
}

/// The campaigns whose members or opportunities are among `records`.
pub(super) fn campaigns_of<'r>(records: impl Iterator<Item = &'r Record>) -> Vec<String> {
    let mut ids: Vec<String> = records
        .filter(|r| counted_in_campaigns(r))
        .filter_map(|r| r.get_str("CampaignId").map(str::to_owned))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Whether `r` is of an object its campaign counts (a member, an opportunity).
pub(super) fn counted_in_campaigns(r: &Record) -> bool {
    r.object == MEMBER || r.object == OPPORTUNITY
}

/// Campaigns brought up to date with their members and opportunities.
pub(super) fn count_campaigns(txn: &Txn<'_>, campaigns: &[String]) -> Vec<Record> {
    let mut out = Vec::new();
    for id in campaigns {
        let Some(mut campaign) = txn.live(Some(id)).cloned() else {
            continue;
        };
        let of = |object: &'static str| {
            txn.scan(object)
                .filter(|r| !r.is_deleted && r.get_str("CampaignId") == Some(id.as_str()))
                .collect::<Vec<_>>()
        };
        let members = of(MEMBER);
        let opportunities = of(OPPORTUNITY);
        let count =
            |f: &dyn Fn(&&Record) -> bool| Value::from(members.iter().filter(|r| f(r)).count());
        let won: Vec<&&Record> = opportunities
            .iter()
            .filter(|o| o.get("IsWon") == true)
            .collect();
        let amount = |rs: &mut dyn Iterator<Item = &&Record>| {
            let total: f64 = rs.filter_map(|o| o.get("Amount").as_f64()).sum();
            serde_json::Number::from_f64(total).map_or(Value::Null, Value::Number)
        };
        let fields = [
            ("NumberOfLeads", count(&|m| m.get("LeadId").is_string())),
            (
                "NumberOfContacts",
                count(&|m| m.get("ContactId").is_string()),
            ),
            (
                "NumberOfResponses",
                count(&|m| m.get("HasResponded") == true),
            ),
            ("NumberOfOpportunities", Value::from(opportunities.len())),
            ("NumberOfWonOpportunities", Value::from(won.len())),
            ("AmountAllOpportunities", amount(&mut opportunities.iter())),
            ("AmountWonOpportunities", amount(&mut won.into_iter())),
        ];
        for (field, value) in fields {
            campaign.fields.insert(field.into(), value);
        }
        out.push(campaign);
    }
    out
}
