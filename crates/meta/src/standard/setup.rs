//! Setup objects: `Organization`, the one row that describes the org itself (the sf CLI
//! and simple-salesforce's `is_sandbox()` read it). Queryable and retrievable, never
//! written through the API.

use super::fields::{area, audit, f, flag, head, int, name_field, pick, readonly, required, text};
use crate::{FieldType as T, ObjectDef};

/// Access levels of the org-wide defaults.
const ACCESS: &[&str] = &[
    "None",
    "Read",
    "Edit",
    "ReadEditTransfer",
    "ControlledByParent",
];

/// Salesforce editions, as `OrganizationType` names them.
pub const EDITIONS: &[&str] = &[
    "Team Edition",
    "Professional Edition",
    "Enterprise Edition",
    "Developer Edition",
    "Personal Edition",
    "Unlimited Edition",
    "Contact Manager Edition",
    "Base Edition",
];

/// `Default{Object}Access`: the org-wide sharing defaults.
fn org_wide_defaults() -> Vec<crate::FieldDef> {
    [
        "Account",
        "Contact",
        "Opportunity",
        "Lead",
        "Case",
        "Calendar",
        "Pricebook",
        "Campaign",
    ]
    .iter()
    .map(|object| {
        pick(
            &format!("Default{object}Access"),
            &format!("Default {object} Access"),
            ACCESS,
        )
    })
    .collect()
}

pub(super) fn organization() -> ObjectDef {
    let mut v = head();
    v.pop(); // No IsDeleted: the org row is never deleted.
    v.push(name_field(required(text("Name", "Name", 80))));
    v.push(text("Division", "Division", 80));
    v.push(area("Street", "Street", 255));
    for (name, label, len) in [
        ("City", "City", 40),
        ("State", "State/Province", 80),
        ("PostalCode", "Zip/Postal Code", 20),
        ("Country", "Country", 80),
    ] {
        v.push(text(name, label, len));
    }
    v.push(f("Phone", "Phone", T::Phone));
    v.push(f("Fax", "Fax", T::Phone));
    v.push(text("PrimaryContact", "Primary Contact", 80));
    v.push(text("DefaultLocaleSidKey", "Locale", 40));
    v.push(text("LanguageLocaleKey", "Language", 40));
    v.push(text("TimeZoneSidKey", "Time Zone", 40));
    v.push(int("FiscalYearStartMonth", "Fiscal Year Starts In", 2));
    v.push(flag(
        "UsesStartDateAsFiscalYearName",
        "Fiscal Year Name by Start",
    ));
    v.push(pick("OrganizationType", "Edition", EDITIONS));
    v.push(text("InstanceName", "Instance Name", 5));
    v.push(flag("IsSandbox", "Is Sandbox"));
    v.push(f(
        "TrialExpirationDate",
        "Trial Expiration Date",
        T::Datetime,
    ));
    v.push(text("NamespacePrefix", "Namespace Prefix", 15));
    v.push(flag("IsReadOnly", "Is Read Only"));
    v.push(flag("ReceivesInfoEmails", "Info Emails"));
    v.push(flag("ReceivesAdminInfoEmails", "Info Emails Admin"));
    v.push(flag(
        "PreferencesRequireOpportunityProducts",
        "Require Opportunity Products",
    ));
    v.extend(org_wide_defaults());
    v.push(f("ComplianceBccEmail", "Compliance BCC Email", T::Email));
    v.push(pick(
        "UiSkin",
        "UI Skin",
        &["Theme1", "Theme2", "PortalDefault", "Webstore", "Theme3"],
    ));
    v.push(text(
        "WebToCaseDefaultOrigin",
        "Web to Cases Default Origin",
        40,
    ));
    v.extend(audit());
    let fields = v.into_iter().map(readonly).collect();
    let mut o = ObjectDef::new(
        "Organization",
        "Organization",
        "Organizations",
        "00D",
        fields,
    );
    o.createable = false;
    o.updateable = false;
    o.deletable = false;
    o.change_events = false;
    o
}
