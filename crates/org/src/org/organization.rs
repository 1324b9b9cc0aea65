//! The org's own row, `Organization` (`data-apis.md` §6.2): built at start from the org's
//! identity and [`OrgProfile`], held in memory beside the records (never stored, never
//! written through the API), so SOQL, retrieve and describe see it like any record.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::Org;
use crate::record::Record;

/// What kind of org this is: what the sf CLI tells apart by `IsSandbox` and
/// `TrialExpirationDate`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrgKind {
    /// A production org (the default).
    #[default]
    Production,
    /// A sandbox: `IsSandbox`, no trial expiration.
    Sandbox,
    /// A scratch org: `IsSandbox` with a trial expiration 30 days after its creation.
    Scratch,
}

/// How the org describes itself in its `Organization` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgProfile {
    /// `OrganizationType`, e.g. `Developer Edition`.
    pub edition: String,
    /// Production, sandbox or scratch org.
    pub kind: OrgKind,
}

impl Default for OrgProfile {
    fn default() -> Self {
        Self {
            edition: "Developer Edition".into(),
            kind: OrgKind::Production,
        }
    }
}

/// Days a scratch org lives by default.
const SCRATCH_DAYS: i64 = 30;

/// The `Organization` row's fields, in the order the row keeps them; an absent value is
/// no field (null).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct OrganizationRow<'a> {
    name: &'a str,
    organization_type: &'a str,
    instance_name: String,
    is_sandbox: bool,
    /// A scratch org's only.
    #[serde(skip_serializing_if = "Option::is_none")]
    trial_expiration_date: Option<String>,
    is_read_only: bool,
    default_locale_sid_key: &'static str,
    language_locale_key: &'static str,
    time_zone_sid_key: &'static str,
    fiscal_year_start_month: u32,
    uses_start_date_as_fiscal_year_name: bool,
    receives_info_emails: bool,
    receives_admin_info_emails: bool,
    preferences_require_opportunity_products: bool,
    default_account_access: &'static str,
    default_contact_access: &'static str,
    default_opportunity_access: &'static str,
    default_lead_access: &'static str,
    default_case_access: &'static str,
    default_calendar_access: &'static str,
    default_pricebook_access: &'static str,
    default_campaign_access: &'static str,
    ui_skin: &'static str,
    created_date: &'a str,
    /// The org's first user, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    created_by_id: Option<String>,
    last_modified_date: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_modified_by_id: Option<String>,
    system_modstamp: &'a str,
}

impl Org {
    /// Puts the `Organization` row in the committed state; the first user created the
    /// org, so its creation is the org's.
    pub(crate) fn install_organization_row(&self, profile: &OrgProfile) {
        let first_user = self.scan("User", |r| Some(r.clone())).into_iter().next();
        let created = first_user
            .as_ref()
            .and_then(|u| u.get_str("CreatedDate"))
            .map_or_else(
                || crate::clock::format_datetime(self.clock().now()),
                str::to_owned,
            );
        let by = first_user.map(|u| u.id.to18());
        let trial = match profile.kind {
            OrgKind::Scratch => crate::value::parse_datetime(&created)
                .map(|t| crate::clock::format_datetime(t + chrono::Duration::days(SCRATCH_DAYS))),
            _ => None,
        };
        let row = OrganizationRow {
            name: self.name(),
            organization_type: &profile.edition,
            instance_name: crate::id::INSTANCE.to_ascii_uppercase(),
            is_sandbox: profile.kind != OrgKind::Production,
            trial_expiration_date: trial,
            is_read_only: false,
            default_locale_sid_key: "en_US",
            language_locale_key: "en_US",
            time_zone_sid_key: "America/Los_Angeles",
            fiscal_year_start_month: 1,
            uses_start_date_as_fiscal_year_name: false,
            receives_info_emails: false,
            receives_admin_info_emails: false,
            preferences_require_opportunity_products: false,
            default_account_access: "Edit",
            default_contact_access: "ControlledByParent",
            default_opportunity_access: "Edit",
            default_lead_access: "ReadEditTransfer",
            default_case_access: "ReadEditTransfer",
            default_calendar_access: "Read",
            default_pricebook_access: "Read",
            default_campaign_access: "Edit",
            ui_skin: "Theme3",
            created_date: &created,
            created_by_id: by.clone(),
            last_modified_date: &created,
            last_modified_by_id: by,
            system_modstamp: &created,
        };
        let fields: Map<String, Value> = serde_json::to_value(row)
            .and_then(serde_json::from_value)
            .expect("a struct of plain fields serialises as a JSON object");
        let row = Record {
            id: self.id(),
            object: "Organization".into(),
            fields: fields.into(),
            is_deleted: false,
            deleted: None,
        };
        if self.schema().object("Organization").is_some() {
            self.write().insert(&self.schema(), row);
        }
    }
}
