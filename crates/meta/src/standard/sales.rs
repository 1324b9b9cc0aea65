//! The sales objects: Account, Contact, Lead, Opportunity.

use super::fields::*;
use crate::{FieldType as T, ObjectDef};

pub(super) fn account() -> ObjectDef {
    let mut v = head();
    v.push(master_record("Account"));
    v.push(name_field(required(text("Name", "Account Name", 255))));
    v.push(pick(
        "Type",
        "Account Type",
        &[
            "Prospect",
            "Customer - Direct",
            "Customer - Channel",
            "Channel Partner / Reseller",
            "Installation Partner",
            "Technology Partner",
            "Other",
        ],
    ));
    v.push(lookup(
        "ParentId",
        "Parent Account ID",
        &["Account"],
        "Parent",
        Some("ChildAccounts"),
    ));
    v.extend(address("Billing", "Billing"));
    v.extend(address("Shipping", "Shipping"));
    v.push(f("Phone", "Account Phone", T::Phone));
    v.push(f("Fax", "Account Fax", T::Phone));
    v.push(text("AccountNumber", "Account Number", 40));
    v.push(f("Website", "Website", T::Url));
    v.push(calculated(f("PhotoUrl", "Photo URL", T::Url)));
    v.push(text("Sic", "SIC Code", 20));
    v.push(pick("Industry", "Industry", INDUSTRY));
    v.push(num("AnnualRevenue", "Annual Revenue", T::Currency, 18, 0));
    v.push(int("NumberOfEmployees", "Employees", 8));
    v.push(pick(
        "Ownership",
        "Ownership",
        &["Public", "Private", "Subsidiary", "Other"],
    ));
    v.push(text("TickerSymbol", "Ticker Symbol", 20));
    v.push(area("Description", "Account Description", 32000));
    v.push(pick("Rating", "Account Rating", RATING));
    v.push(text("Site", "Account Site", 80));
    v.push(owner());
    v.extend(audit());
    v.push(calculated(f("LastActivityDate", "Last Activity", T::Date)));
    v.extend(views());
    v.push(text("Jigsaw", "Data.com Key", 20));
    v.push(readonly(text("JigsawCompanyId", "Jigsaw Company ID", 20)));
    v.push(pick("CleanStatus", "Clean Status", CLEAN));
    v.push(pick("AccountSource", "Account Source", SOURCE));
    v.push(text("DunsNumber", "D-U-N-S Number", 9));
    v.push(text("Tradestyle", "Tradestyle", 255));
    v.push(text("NaicsCode", "NAICS Code", 8));
    v.push(text("NaicsDesc", "NAICS Description", 120));
    v.push(text("YearStarted", "Year Started", 4));
    v.push(text("SicDesc", "SIC Description", 80));
    v.push(lookup(
        "DandbCompanyId",
        "D&B Company ID",
        &["DandBCompany"],
        "DandbCompany",
        None,
    ));
    ObjectDef::new("Account", "Account", "Accounts", "001", v)
}

pub(super) fn contact() -> ObjectDef {
    let mut v = head();
    v.push(master_record("Contact"));
    v.push(cascade(lookup(
        "AccountId",
        "Account ID",
        &["Account"],
        "Account",
        Some("Contacts"),
    )));
    v.extend(person_name(true));
    v.extend(address("Other", "Other"));
    v.extend(address("Mailing", "Mailing"));
    for (name, label) in [
        ("Phone", "Business Phone"),
        ("Fax", "Business Fax"),
        ("MobilePhone", "Mobile Phone"),
        ("HomePhone", "Home Phone"),
        ("OtherPhone", "Other Phone"),
        ("AssistantPhone", "Asst. Phone"),
    ] {
        v.push(f(name, label, T::Phone));
    }
    v.push(lookup(
        "ReportsToId",
        "Reports To ID",
        &["Contact"],
        "ReportsTo",
        None,
    ));
    v.push(f("Email", "Email", T::Email));
    v.push(text("Title", "Title", 128));
    v.push(text("Department", "Department", 80));
    v.push(text("AssistantName", "Assistant's Name", 40));
    v.push(pick("LeadSource", "Lead Source", SOURCE));
    v.push(f("Birthdate", "Birthdate", T::Date));
    v.push(area("Description", "Contact Description", 32000));
    v.push(owner());
    v.push(flag("HasOptedOutOfEmail", "Email Opt Out"));
    v.push(flag("HasOptedOutOfFax", "Fax Opt Out"));
    v.push(flag("DoNotCall", "Do Not Call"));
    v.extend(audit());
    v.push(calculated(f("LastActivityDate", "Last Activity", T::Date)));
    v.push(readonly(f(
        "LastCURequestDate",
        "Last Stay-in-Touch Request Date",
        T::Datetime,
    )));
    v.push(readonly(f(
        "LastCUUpdateDate",
        "Last Stay-in-Touch Save Date",
        T::Datetime,
    )));
    v.extend(views());
    v.push(text("EmailBouncedReason", "Email Bounced Reason", 255));
    v.push(f("EmailBouncedDate", "Email Bounced Date", T::Datetime));
    v.push(calculated(flag("IsEmailBounced", "Is Email Bounced")));
    v.push(calculated(f("PhotoUrl", "Photo URL", T::Url)));
    v.push(text("Jigsaw", "Data.com Key", 20));
    v.push(readonly(text("JigsawContactId", "Jigsaw Contact ID", 20)));
    v.push(pick("CleanStatus", "Clean Status", CLEAN));
    ObjectDef::new("Contact", "Contact", "Contacts", "003", v)
}

pub(super) fn lead() -> ObjectDef {
    let mut v = head();
    v.push(master_record("Lead"));
    v.extend(person_name(true));
    v.push(text("Title", "Title", 128));
    v.push(required(text("Company", "Company", 255)));
    v.extend(address("", "Lead"));
    // The address compound of Lead is plain `Address`; its parts are `Street`, `City`, ...
    v.push(f("Phone", "Phone", T::Phone));
    v.push(f("MobilePhone", "Mobile Phone", T::Phone));
    v.push(f("Fax", "Fax", T::Phone));
    v.push(f("Email", "Email", T::Email));
    v.push(f("Website", "Website", T::Url));
    v.push(calculated(f("PhotoUrl", "Photo URL", T::Url)));
    v.push(area("Description", "Description", 32000));
    v.push(pick("LeadSource", "Lead Source", SOURCE));
    v.push(pick_default(
        "Status",
        "Status",
        &[
            "Open - Not Contacted",
            "Working - Contacted",
            "Closed - Converted",
            "Closed - Not Converted",
        ],
        "Open - Not Contacted",
    ));
    v.push(pick("Industry", "Industry", INDUSTRY));
    v.push(pick("Rating", "Rating", RATING));
    v.push(num("AnnualRevenue", "Annual Revenue", T::Currency, 18, 0));
    v.push(int("NumberOfEmployees", "Employees", 8));
    let mut own = owner();
    own.reference_to.push("Group".to_owned());
    v.push(own);
    v.push(readonly(flag("IsConverted", "Converted")));
    v.push(readonly(f("ConvertedDate", "Converted Date", T::Date)));
    v.push(readonly(lookup(
        "ConvertedAccountId",
        "Converted Account ID",
        &["Account"],
        "ConvertedAccount",
        None,
    )));
    v.push(readonly(lookup(
        "ConvertedContactId",
        "Converted Contact ID",
        &["Contact"],
        "ConvertedContact",
        None,
    )));
    v.push(readonly(lookup(
        "ConvertedOpportunityId",
        "Converted Opportunity ID",
        &["Opportunity"],
        "ConvertedOpportunity",
        None,
    )));
    v.push(flag("IsUnreadByOwner", "Unread By Owner"));
    v.extend(audit());
    v.push(calculated(f("LastActivityDate", "Last Activity", T::Date)));
    v.extend(views());
    v.push(text("Jigsaw", "Data.com Key", 20));
    v.push(readonly(text("JigsawContactId", "Jigsaw Contact ID", 20)));
    v.push(pick("CleanStatus", "Clean Status", CLEAN));
    v.push(text("CompanyDunsNumber", "Company D-U-N-S Number", 9));
    v.push(text("EmailBouncedReason", "Email Bounced Reason", 255));
    v.push(f("EmailBouncedDate", "Email Bounced Date", T::Datetime));
    ObjectDef::new("Lead", "Lead", "Leads", "00Q", v)
}

/// Opportunity stages with their probability and forecast category.
pub const STAGES: &[(&str, u32, &str)] = &[
    ("Prospecting", 10, "Pipeline"),
    ("Qualification", 10, "Pipeline"),
    ("Needs Analysis", 20, "Pipeline"),
    ("Value Proposition", 50, "Pipeline"),
    ("Id. Decision Makers", 60, "Pipeline"),
    ("Perception Analysis", 70, "Pipeline"),
    ("Proposal/Price Quote", 75, "Pipeline"),
    ("Negotiation/Review", 90, "Pipeline"),
    ("Closed Won", 100, "Closed"),
    ("Closed Lost", 0, "Omitted"),
];

pub(super) fn opportunity() -> ObjectDef {
    let stages: Vec<&str> = STAGES.iter().map(|s| s.0).collect();
    let mut v = head();
    v.push(cascade(lookup(
        "AccountId",
        "Account ID",
        &["Account"],
        "Account",
        Some("Opportunities"),
    )));
    v.push(flag("IsPrivate", "Private"));
    v.push(name_field(required(text("Name", "Name", 120))));
    v.push(area("Description", "Description", 32000));
    v.push(required(pick("StageName", "Stage", &stages)));
    v.push(num("Amount", "Amount", T::Currency, 18, 2));
    v.push(num("Probability", "Probability (%)", T::Percent, 3, 0));
    v.push(calculated(num(
        "ExpectedRevenue",
        "Expected Amount",
        T::Currency,
        18,
        2,
    )));
    v.push(num(
        "TotalOpportunityQuantity",
        "Quantity",
        T::Double,
        18,
        2,
    ));
    v.push(required(f("CloseDate", "Close Date", T::Date)));
    v.push(pick(
        "Type",
        "Opportunity Type",
        &[
            "Existing Customer - Upgrade",
            "Existing Customer - Replacement",
            "Existing Customer - Downgrade",
            "New Customer",
        ],
    ));
    v.push(text("NextStep", "Next Step", 255));
    v.push(pick("LeadSource", "Lead Source", SOURCE));
    v.push(calculated(flag("IsClosed", "Closed")));
    v.push(calculated(flag("IsWon", "Won")));
    v.push(calculated(pick(
        "ForecastCategory",
        "Forecast Category",
        &["Omitted", "Pipeline", "BestCase", "Forecast", "Closed"],
    )));
    v.push(pick(
        "ForecastCategoryName",
        "Forecast Category",
        &["Omitted", "Pipeline", "Best Case", "Commit", "Closed"],
    ));
    v.push(lookup(
        "CampaignId",
        "Campaign ID",
        &["Campaign"],
        "Campaign",
        Some("Opportunities"),
    ));
    v.push(calculated(flag("HasOpportunityLineItem", "Has Line Item")));
    v.push(lookup(
        "Pricebook2Id",
        "Price Book ID",
        &["Pricebook2"],
        "Pricebook2",
        Some("Opportunities"),
    ));
    v.push(owner());
    v.extend(audit());
    v.push(calculated(f("LastActivityDate", "Last Activity", T::Date)));
    v.push(calculated(int("FiscalQuarter", "Fiscal Quarter", 2)));
    v.push(calculated(int("FiscalYear", "Fiscal Year", 4)));
    v.push(calculated(text("Fiscal", "Fiscal Period", 6)));
    v.extend(views());
    ObjectDef::new("Opportunity", "Opportunity", "Opportunities", "006", v)
}
