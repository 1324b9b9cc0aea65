//! The standard object catalogue: Account, Contact, Lead, Opportunity, Case, User, Task.
//!
//! Field lists, order, types, lengths and picklist values follow a Developer Edition org's
//! describe results (the order matters: change-event schemas number fields in this order,
//! see `pubsub-api.md` §5.5). Fields of features forcebus does not emulate (Data.com,
//! territories, person accounts) are kept where change events carry them.

use crate::{FieldDef, FieldType as T, ObjectDef};

fn f(name: &str, label: &str, t: T) -> FieldDef {
    FieldDef::new(name, label, t)
}

fn text(name: &str, label: &str, len: u32) -> FieldDef {
    let mut d = f(name, label, T::String);
    d.length = len;
    d
}

fn area(name: &str, label: &str, len: u32) -> FieldDef {
    let mut d = f(name, label, T::Textarea);
    d.length = len;
    d
}

fn pick(name: &str, label: &str, values: &[&str]) -> FieldDef {
    let mut d = f(name, label, T::Picklist);
    d.length = 255;
    d.picklist = values.iter().map(|v| (*v).to_owned()).collect();
    d
}

fn pick_default(name: &str, label: &str, values: &[&str], default: &str) -> FieldDef {
    let mut d = pick(name, label, values);
    d.nillable = false;
    d.defaulted_on_create = true;
    d.default_picklist = Some(default.to_owned());
    d
}

fn num(name: &str, label: &str, t: T, precision: u32, scale: u32) -> FieldDef {
    let mut d = f(name, label, t);
    d.precision = precision;
    d.scale = scale;
    d
}

fn int(name: &str, label: &str, digits: u32) -> FieldDef {
    let mut d = f(name, label, T::Int);
    d.digits = digits;
    d
}

fn flag(name: &str, label: &str) -> FieldDef {
    let mut d = f(name, label, T::Boolean);
    d.nillable = false;
    d.defaulted_on_create = true;
    d.default_value = Some(serde_json::Value::Bool(false));
    d
}

/// A lookup: `rel` is the parent accessor, `child` the relationship name on the parent.
fn lookup(name: &str, label: &str, to: &[&str], rel: &str, child: Option<&str>) -> FieldDef {
    let mut d = f(name, label, T::Reference);
    d.reference_to = to.iter().map(|v| (*v).to_owned()).collect();
    d.relationship_name = Some(rel.to_owned());
    d.child_relationship = child.map(str::to_owned);
    d
}

fn required(mut d: FieldDef) -> FieldDef {
    d.nillable = false;
    d
}

fn name_field(mut d: FieldDef) -> FieldDef {
    d.name_field = true;
    d
}

/// Maintained by the server: visible, never writable.
fn readonly(mut d: FieldDef) -> FieldDef {
    d.createable = false;
    d.updateable = false;
    d
}

fn calculated(d: FieldDef) -> FieldDef {
    let mut d = readonly(d);
    d.calculated = true;
    d
}

fn cascade(mut d: FieldDef) -> FieldDef {
    d.cascade_delete = true;
    d
}

fn head() -> Vec<FieldDef> {
    let mut id = readonly(f("Id", "Record ID", T::Id));
    id.nillable = false;
    id.defaulted_on_create = true;
    vec![id, readonly(flag("IsDeleted", "Deleted"))]
}

fn owner() -> FieldDef {
    let mut d = lookup("OwnerId", "Owner ID", &["User"], "Owner", None);
    d.nillable = false;
    d.defaulted_on_create = true;
    d
}

fn audit() -> Vec<FieldDef> {
    let stamp = |name: &str, label: &str| {
        let mut d = readonly(f(name, label, T::Datetime));
        d.nillable = false;
        d.defaulted_on_create = true;
        d
    };
    let by = |name: &str, label: &str, rel: &str| {
        let mut d = readonly(lookup(name, label, &["User"], rel, None));
        d.nillable = false;
        d.defaulted_on_create = true;
        d
    };
    vec![
        stamp("CreatedDate", "Created Date"),
        by("CreatedById", "Created By ID", "CreatedBy"),
        stamp("LastModifiedDate", "Last Modified Date"),
        by("LastModifiedById", "Last Modified By ID", "LastModifiedBy"),
        stamp("SystemModstamp", "System Modstamp"),
    ]
}

const GEOCODE: &[&str] = &[
    "Address",
    "NearAddress",
    "Block",
    "Street",
    "ExtendedZip",
    "Zip",
    "Neighborhood",
    "City",
    "County",
    "State",
    "Unknown",
];

/// The parts of an address compound (`Billing` → `BillingStreet` ... `BillingAddress`).
fn address(prefix: &str, label: &str) -> Vec<FieldDef> {
    let compound = format!("{prefix}Address");
    let mut parts = vec![
        area(&format!("{prefix}Street"), &format!("{label} Street"), 255),
        text(&format!("{prefix}City"), &format!("{label} City"), 40),
        text(
            &format!("{prefix}State"),
            &format!("{label} State/Province"),
            80,
        ),
        text(
            &format!("{prefix}PostalCode"),
            &format!("{label} Zip/Postal Code"),
            20,
        ),
        text(&format!("{prefix}Country"), &format!("{label} Country"), 80),
        num(
            &format!("{prefix}Latitude"),
            &format!("{label} Latitude"),
            T::Double,
            18,
            15,
        ),
        num(
            &format!("{prefix}Longitude"),
            &format!("{label} Longitude"),
            T::Double,
            18,
            15,
        ),
        pick(
            &format!("{prefix}GeocodeAccuracy"),
            &format!("{label} Geocode Accuracy"),
            GEOCODE,
        ),
    ];
    for p in &mut parts {
        p.compound_field_name = Some(compound.clone());
    }
    parts.push(readonly(f(
        &compound,
        &format!("{label} Address"),
        T::Address,
    )));
    parts
}

/// The person-name compound: parts then the computed `Name`.
fn person_name(last_required: bool) -> Vec<FieldDef> {
    let mut last = text("LastName", "Last Name", 80);
    last.nillable = !last_required;
    let mut parts = vec![
        last,
        text("FirstName", "First Name", 40),
        pick(
            "Salutation",
            "Salutation",
            &["Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx."],
        ),
        text("MiddleName", "Middle Name", 40),
        text("Suffix", "Name Suffix", 40),
    ];
    for p in &mut parts {
        p.compound_field_name = Some("Name".to_owned());
    }
    let mut name = name_field(readonly(text("Name", "Full Name", 121)));
    name.extra_type_info = Some("personname".to_owned());
    name.nillable = false;
    name.defaulted_on_create = true;
    parts.push(name);
    parts
}

const INDUSTRY: &[&str] = &[
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
];
const RATING: &[&str] = &["Hot", "Warm", "Cold"];
const SOURCE: &[&str] = &[
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
];
const CLEAN: &[&str] = &[
    "Matched",
    "Different",
    "Acknowledged",
    "NotFound",
    "Inactive",
    "Pending",
    "SelectMatch",
    "Skipped",
];

fn account() -> ObjectDef {
    let mut v = head();
    v.push(readonly(lookup(
        "MasterRecordId",
        "Master Record ID",
        &["Account"],
        "MasterRecord",
        None,
    )));
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
    v.push(readonly(f(
        "LastViewedDate",
        "Last Viewed Date",
        T::Datetime,
    )));
    v.push(readonly(f(
        "LastReferencedDate",
        "Last Referenced Date",
        T::Datetime,
    )));
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

fn contact() -> ObjectDef {
    let mut v = head();
    v.push(readonly(lookup(
        "MasterRecordId",
        "Master Record ID",
        &["Contact"],
        "MasterRecord",
        None,
    )));
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
    v.push(readonly(f(
        "LastViewedDate",
        "Last Viewed Date",
        T::Datetime,
    )));
    v.push(readonly(f(
        "LastReferencedDate",
        "Last Referenced Date",
        T::Datetime,
    )));
    v.push(text("EmailBouncedReason", "Email Bounced Reason", 255));
    v.push(f("EmailBouncedDate", "Email Bounced Date", T::Datetime));
    v.push(calculated(flag("IsEmailBounced", "Is Email Bounced")));
    v.push(calculated(f("PhotoUrl", "Photo URL", T::Url)));
    v.push(text("Jigsaw", "Data.com Key", 20));
    v.push(readonly(text("JigsawContactId", "Jigsaw Contact ID", 20)));
    v.push(pick("CleanStatus", "Clean Status", CLEAN));
    ObjectDef::new("Contact", "Contact", "Contacts", "003", v)
}

fn lead() -> ObjectDef {
    let mut v = head();
    v.push(readonly(lookup(
        "MasterRecordId",
        "Master Record ID",
        &["Lead"],
        "MasterRecord",
        None,
    )));
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
    v.push(readonly(f(
        "LastViewedDate",
        "Last Viewed Date",
        T::Datetime,
    )));
    v.push(readonly(f(
        "LastReferencedDate",
        "Last Referenced Date",
        T::Datetime,
    )));
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

fn opportunity() -> ObjectDef {
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
    v.push(calculated(flag("HasOpportunityLineItem", "Has Line Item")));
    v.push(owner());
    v.extend(audit());
    v.push(calculated(f("LastActivityDate", "Last Activity", T::Date)));
    v.push(calculated(int("FiscalQuarter", "Fiscal Quarter", 2)));
    v.push(calculated(int("FiscalYear", "Fiscal Year", 4)));
    v.push(calculated(text("Fiscal", "Fiscal Period", 6)));
    v.push(readonly(f(
        "LastViewedDate",
        "Last Viewed Date",
        T::Datetime,
    )));
    v.push(readonly(f(
        "LastReferencedDate",
        "Last Referenced Date",
        T::Datetime,
    )));
    ObjectDef::new("Opportunity", "Opportunity", "Opportunities", "006", v)
}

fn case() -> ObjectDef {
    let mut v = head();
    v.push(readonly(lookup(
        "MasterRecordId",
        "Master Record ID",
        &["Case"],
        "MasterRecord",
        None,
    )));
    let mut number = name_field(readonly(text("CaseNumber", "Case Number", 30)));
    number.nillable = false;
    number.defaulted_on_create = true;
    v.push(number);
    v.push(lookup(
        "ContactId",
        "Contact ID",
        &["Contact"],
        "Contact",
        Some("Cases"),
    ));
    v.push(cascade(lookup(
        "AccountId",
        "Account ID",
        &["Account"],
        "Account",
        Some("Cases"),
    )));
    v.push(lookup(
        "ParentId",
        "Parent Case ID",
        &["Case"],
        "Parent",
        Some("Cases"),
    ));
    v.push(text("SuppliedName", "Name", 80));
    v.push(f("SuppliedEmail", "Email Address", T::Email));
    v.push(text("SuppliedPhone", "Phone", 40));
    v.push(text("SuppliedCompany", "Company", 80));
    v.push(pick(
        "Type",
        "Case Type",
        &[
            "Mechanical",
            "Electrical",
            "Electronic",
            "Structural",
            "Other",
        ],
    ));
    v.push(pick_default(
        "Status",
        "Status",
        &["New", "Working", "Escalated", "Closed"],
        "New",
    ));
    v.push(pick(
        "Reason",
        "Case Reason",
        &[
            "Installation",
            "Equipment Complexity",
            "Performance",
            "Breakdown",
            "Equipment Design",
            "Feedback",
            "Other",
        ],
    ));
    v.push(pick("Origin", "Case Origin", &["Phone", "Email", "Web"]));
    v.push(text("Subject", "Subject", 255));
    v.push(pick_default(
        "Priority",
        "Priority",
        &["High", "Medium", "Low"],
        "Medium",
    ));
    v.push(area("Description", "Description", 32000));
    v.push(calculated(flag("IsClosed", "Closed")));
    v.push(readonly(f("ClosedDate", "Closed Date", T::Datetime)));
    v.push(flag("IsEscalated", "Escalated"));
    let mut own = owner();
    own.reference_to.push("Group".to_owned());
    v.push(own);
    v.extend(audit());
    v.push(readonly(f(
        "LastViewedDate",
        "Last Viewed Date",
        T::Datetime,
    )));
    v.push(readonly(f(
        "LastReferencedDate",
        "Last Referenced Date",
        T::Datetime,
    )));
    ObjectDef::new("Case", "Case", "Cases", "500", v)
}

fn user() -> ObjectDef {
    let mut v = head();
    v.pop(); // User has no IsDeleted: users are deactivated, never deleted.
    let mut username = required(text("Username", "Username", 80));
    username.unique = true;
    v.push(username);
    v.extend(person_name(true));
    v.push(text("CompanyName", "Company Name", 80));
    v.push(text("Division", "Division", 80));
    v.push(text("Department", "Department", 80));
    v.push(text("Title", "Title", 80));
    v.extend(address("", "User"));
    v.push(required(f("Email", "Email", T::Email)));
    v.push(f("Phone", "Phone", T::Phone));
    v.push(f("MobilePhone", "Mobile", T::Phone));
    v.push(required(text("Alias", "Alias", 8)));
    let mut nick = text("CommunityNickname", "Nickname", 40);
    nick.nillable = false;
    nick.defaulted_on_create = true;
    v.push(nick);
    let mut active = flag("IsActive", "Active");
    active.default_value = Some(serde_json::Value::Bool(true));
    v.push(active);
    for (name, label, default, values) in [
        (
            "TimeZoneSidKey",
            "Time Zone",
            "America/Los_Angeles",
            &[
                "America/Los_Angeles",
                "America/New_York",
                "Europe/London",
                "Europe/Paris",
                "Asia/Tokyo",
                "GMT",
            ][..],
        ),
        (
            "LocaleSidKey",
            "Locale",
            "en_US",
            &["en_US", "en_GB", "de_DE", "fr_FR", "ja_JP"][..],
        ),
        (
            "EmailEncodingKey",
            "Email Encoding",
            "UTF-8",
            &["UTF-8", "ISO-8859-1"][..],
        ),
        (
            "LanguageLocaleKey",
            "Language",
            "en_US",
            &["en_US", "de", "fr", "ja"][..],
        ),
    ] {
        v.push(pick_default(name, label, values, default));
    }
    v.push(lookup(
        "ProfileId",
        "Profile ID",
        &["Profile"],
        "Profile",
        None,
    ));
    v.push(lookup(
        "UserRoleId",
        "Role ID",
        &["UserRole"],
        "UserRole",
        None,
    ));
    v.push(lookup(
        "ManagerId",
        "Manager ID",
        &["User"],
        "Manager",
        None,
    ));
    v.push(readonly(pick(
        "UserType",
        "User Type",
        &["Standard", "PowerPartner", "CsnOnly", "Guest"],
    )));
    v.extend(audit());
    v.push(readonly(f("LastLoginDate", "Last Login", T::Datetime)));
    let mut o = ObjectDef::new("User", "User", "Users", "005", v);
    o.deletable = false;
    o
}

fn task() -> ObjectDef {
    let mut v = head();
    v.push(lookup(
        "WhoId",
        "Name ID",
        &["Contact", "Lead"],
        "Who",
        Some("Tasks"),
    ));
    v.push(cascade(lookup(
        "WhatId",
        "Related To ID",
        &["Account", "Opportunity", "Case"],
        "What",
        Some("Tasks"),
    )));
    let mut subject = name_field(f("Subject", "Subject", T::Combobox));
    subject.length = 255;
    subject.picklist = ["Call", "Send Letter", "Send Quote", "Other"]
        .map(String::from)
        .to_vec();
    v.push(subject);
    v.push(f("ActivityDate", "Due Date Only", T::Date));
    v.push(pick_default(
        "Status",
        "Status",
        &[
            "Not Started",
            "In Progress",
            "Completed",
            "Waiting on someone else",
            "Deferred",
        ],
        "Not Started",
    ));
    v.push(pick_default(
        "Priority",
        "Priority",
        &["High", "Normal", "Low"],
        "Normal",
    ));
    v.push(calculated(flag("IsHighPriority", "High Priority")));
    v.push(owner());
    v.push(area("Description", "Description", 32000));
    v.push(pick("Type", "Type", &["Call", "Email", "Meeting", "Other"]));
    v.push(calculated(flag("IsClosed", "Closed")));
    v.push(calculated(lookup(
        "AccountId",
        "Account ID",
        &["Account"],
        "Account",
        None,
    )));
    v.extend(audit());
    v.push(calculated(flag("IsArchived", "Archived")));
    v.push(int("CallDurationInSeconds", "Call Duration", 8));
    v.push(pick(
        "CallType",
        "Call Type",
        &["Internal", "Inbound", "Outbound"],
    ));
    v.push(text("CallDisposition", "Call Result", 255));
    v.push(text("CallObject", "Call Object Identifier", 255));
    v.push(f("ReminderDateTime", "Reminder Date/Time", T::Datetime));
    v.push(flag("IsReminderSet", "Reminder Set"));
    v.push(pick(
        "TaskSubtype",
        "Task Subtype",
        &["Task", "Email", "ListEmail", "Cadence", "Call"],
    ));
    ObjectDef::new("Task", "Task", "Tasks", "00T", v)
}

/// `PushTopic` (`org-rest-cdc.md` §3.5): a SOQL query whose matching record changes are
/// streamed on `/topic/{Name}`. The org validates the query on save.
fn push_topic() -> ObjectDef {
    let mut name = name_field(required(text("Name", "Topic Name", 25)));
    name.unique = true;
    let mut api = required(num("ApiVersion", "API Version", T::Double, 18, 1));
    api.createable = true;
    let mut active = flag("IsActive", "Active");
    active.default_value = Some(serde_json::Value::Bool(true));
    let op = |n: &str, l: &str| {
        let mut d = flag(n, l);
        d.default_value = Some(serde_json::Value::Bool(true));
        d
    };
    let mut notify_for = pick_default(
        "NotifyForFields",
        "Notify For Fields",
        &["All", "Referenced", "Select", "Where"],
        "Referenced",
    );
    notify_for.restricted_picklist = true;
    let mut v = head();
    v.extend([
        name,
        required(text("Query", "SOQL Query", 1300)),
        api,
        active,
        notify_for,
        readonly(pick(
            "NotifyForOperations",
            "Notify For Operations",
            &["All", "Create", "Update", "Extended"],
        )),
        op("NotifyForOperationCreate", "Create"),
        op("NotifyForOperationUpdate", "Update"),
        op("NotifyForOperationDelete", "Delete"),
        op("NotifyForOperationUndelete", "Undelete"),
        text("Description", "Description", 400),
    ]);
    v.extend(audit());
    let mut o = ObjectDef::new("PushTopic", "Push Topic", "Push Topics", "0IF", v);
    o.change_events = false;
    for f in &mut o.fields {
        f.custom = false;
    }
    o
}

/// `StreamingChannel` (generic streaming): a channel `/u/{Name}` that clients push strings
/// to through `/sobjects/StreamingChannel/{id}/push`.
fn streaming_channel() -> ObjectDef {
    let mut name = name_field(required(text("Name", "Streaming Channel Name", 80)));
    name.unique = true;
    let mut v = head();
    v.push(owner());
    v.extend([
        name,
        text("Description", "Description", 255),
        readonly(flag("IsDynamic", "Dynamic")),
    ]);
    v.extend(audit());
    let mut o = ObjectDef::new(
        "StreamingChannel",
        "Streaming Channel",
        "Streaming Channels",
        "0M6",
        v,
    );
    o.change_events = false;
    for f in &mut o.fields {
        f.custom = false;
    }
    o
}

/// The standard objects, in describeGlobal order.
pub fn catalogue() -> Vec<ObjectDef> {
    vec![
        account(),
        case(),
        contact(),
        lead(),
        opportunity(),
        push_topic(),
        streaming_channel(),
        task(),
        user(),
    ]
}

/// Tooling objects that select CDC entities and define custom channels
/// (`org-rest-cdc.md` §4.1). Their `Metadata` is mapped onto these fields by the REST layer.
pub fn tooling_catalogue() -> Vec<ObjectDef> {
    let developer_name = || {
        let mut d = name_field(required(text("DeveloperName", "Developer Name", 80)));
        d.unique = true;
        d
    };
    let channel_fields = vec![
        head()[0].clone(),
        developer_name(),
        text("MasterLabel", "Label", 80),
        required(pick("ChannelType", "Channel Type", &["data", "event"])),
    ];
    let mut channel = ObjectDef::new(
        "PlatformEventChannel",
        "Platform Event Channel",
        "Platform Event Channels",
        "0YL",
        channel_fields,
    );
    let member_fields = vec![
        head()[0].clone(),
        developer_name(),
        required(text("EventChannel", "Event Channel", 255)),
        required(text("SelectedEntity", "Selected Entity", 255)),
        area("FilterExpression", "Filter Expression", 1000),
        area("EnrichedFields", "Enriched Fields", 4000),
    ];
    let mut member = ObjectDef::new(
        "PlatformEventChannelMember",
        "Platform Event Channel Member",
        "Platform Event Channel Members",
        "0v8",
        member_fields,
    );
    let mut subscription = managed_event_subscription(developer_name());
    for o in [&mut channel, &mut member, &mut subscription] {
        o.tooling = true;
        for f in &mut o.fields {
            if f.name != "Id" {
                f.custom = false;
            }
        }
    }
    for name in ["EventChannel", "SelectedEntity"] {
        if let Some(f) = member.fields.iter_mut().find(|f| f.name == name) {
            f.updateable = false;
        }
    }
    vec![channel, member, subscription]
}

/// `ManagedEventSubscription` (key prefix `18x`, `pubsub-api.md` §3.3.4, §4.7): a stored
/// Pub/Sub subscription. Its settings are the parts of the compound `Metadata`, so that a
/// tooling query selecting `Metadata` answers the object (`topicName`, `state`, ...) that
/// clients read.
fn managed_event_subscription(developer_name: FieldDef) -> ObjectDef {
    let replay = |name: &str, label: &str| {
        let mut d = required(pick(name, label, &["LATEST", "EARLIEST"]));
        d.default_value = Some(serde_json::Value::from("LATEST"));
        d
    };
    let mut parts = vec![
        text("Label", "Label", 80),
        required(text("TopicName", "Topic Name", 255)),
        replay("DefaultReplay", "Default Replay"),
        replay("ErrorRecoveryReplay", "Error Recovery Replay"),
        required(pick("State", "State", &["RUN", "STOP"])),
    ];
    for p in &mut parts {
        p.compound_field_name = Some("Metadata".into());
    }
    let mut fields = vec![head()[0].clone(), developer_name];
    fields.extend(parts);
    fields.push(readonly(f("Metadata", "Metadata", T::Address)));
    ObjectDef::new(
        "ManagedEventSubscription",
        "Managed Event Subscription",
        "Managed Event Subscriptions",
        "18x",
        fields,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_object_has_its_audit_fields_and_a_name_field() {
        for o in catalogue() {
            for f in [
                "Id",
                "CreatedDate",
                "CreatedById",
                "LastModifiedDate",
                "SystemModstamp",
            ] {
                assert!(o.field(f).is_some(), "{}.{f}", o.name);
            }
            assert!(o.name_field().is_some(), "{} has no name field", o.name);
        }
    }
}
