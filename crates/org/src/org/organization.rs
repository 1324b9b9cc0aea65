//! The org's own row, `Organization` (`data-apis.md` §6.2): built at start from the org's
//! identity and [`OrgProfile`], held in memory beside the records (never stored, never
//! written through the API), so SOQL, retrieve and describe see it like any record.

use serde_json::{Map, Value, json};

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
        let by = first_user.map_or(Value::Null, |u| json!(u.id.to18()));
        let trial = match profile.kind {
            OrgKind::Scratch => crate::value::parse_datetime(&created).map_or(Value::Null, |t| {
                json!(crate::clock::format_datetime(
                    t + chrono::Duration::days(SCRATCH_DAYS)
                ))
            }),
            _ => Value::Null,
        };
        let mut fields = Map::new();
        for (k, v) in [
            ("Name", json!(self.name())),
            ("OrganizationType", json!(profile.edition)),
            (
                "InstanceName",
                json!(crate::id::INSTANCE.to_ascii_uppercase()),
            ),
            ("IsSandbox", json!(profile.kind != OrgKind::Production)),
            ("TrialExpirationDate", trial),
            ("NamespacePrefix", Value::Null),
            ("IsReadOnly", json!(false)),
            ("DefaultLocaleSidKey", json!("en_US")),
            ("LanguageLocaleKey", json!("en_US")),
            ("TimeZoneSidKey", json!("America/Los_Angeles")),
            ("FiscalYearStartMonth", json!(1)),
            ("UsesStartDateAsFiscalYearName", json!(false)),
            ("ReceivesInfoEmails", json!(false)),
            ("ReceivesAdminInfoEmails", json!(false)),
            ("PreferencesRequireOpportunityProducts", json!(false)),
            ("DefaultAccountAccess", json!("Edit")),
            ("DefaultContactAccess", json!("ControlledByParent")),
            ("DefaultOpportunityAccess", json!("Edit")),
            ("DefaultLeadAccess", json!("ReadEditTransfer")),
            ("DefaultCaseAccess", json!("ReadEditTransfer")),
            ("DefaultCalendarAccess", json!("Read")),
            ("DefaultPricebookAccess", json!("Read")),
            ("DefaultCampaignAccess", json!("Edit")),
            ("UiSkin", json!("Theme3")),
            ("CreatedDate", json!(created)),
            ("CreatedById", by.clone()),
            ("LastModifiedDate", json!(created)),
            ("LastModifiedById", by),
            ("SystemModstamp", json!(created)),
        ] {
            if !v.is_null() {
                fields.insert(k.to_owned(), v);
            }
        }
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
