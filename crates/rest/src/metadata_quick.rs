//! What comes after a deploy (`metadata-tooling.md` §5.6), over SOAP and REST:
//! `deployRecentValidation`, a quick deploy of a kept validation (a successful
//! `checkOnly` deploy: its zip applied again, not check-only), and `cancelDeploy`.
//!
//! Validations are kept with their zips, so few are: the newest [`MAX_VALIDATIONS`]. One
//! can be quick-deployed once, within 10 days, and only while the schema is the one it
//! was validated against (any schema change since voids it, as a change to the org
//! would invalidate Salesforce's tests).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::{DateTime, Utc};

use forcebus_org::{OrgError, RecordId, Schema, StatusCode as Code};

use crate::metadata_deploy::start;
use crate::metadata_options::DeployOptions;
use crate::soap::{Element, escape};

/// Validations kept for quick deploys, with their zips (the oldest go first).
const MAX_VALIDATIONS: usize = 8;
/// How long a validation may be quick-deployed (Salesforce: 10 days).
const VALIDATION_DAYS: i64 = 10;

/// A successful `checkOnly` deploy, kept to be quick-deployed.
struct Validation {
    /// Its deploy id (18 characters).
    id: String,
    zip: Bytes,
    options: DeployOptions,
    /// The schema version it was validated against (held, so its identity is not reused):
    /// any change since voids it.
    schema: Arc<Schema>,
    at: DateTime<Utc>,
}

/// The org's recent validations.
#[derive(Default)]
pub struct Validations(Mutex<VecDeque<Validation>>);

impl std::fmt::Debug for Validations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_list()
            .entries(kept.iter().map(|v| (&v.id, v.zip.len(), v.at)))
            .finish()
    }
}

impl Validations {
    /// Keeps the successful validation `id` of `zip` against `schema`, made `at`.
    pub(crate) fn keep(
        &self,
        id: &str,
        zip: Bytes,
        options: DeployOptions,
        schema: Arc<Schema>,
        at: DateTime<Utc>,
    ) {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.push_back(Validation {
            id: id.to_owned(),
            zip,
            options,
            schema,
            at,
        });
        while kept.len() > MAX_VALIDATIONS {
            kept.pop_front();
        }
    }

    /// Takes the validation `id` (15 or 18 characters) for a quick deploy, if it still
    /// can be one: kept, younger than 10 days, against the schema as it is now.
    fn take(
        &self,
        id: &str,
        schema: &Arc<Schema>,
        now: DateTime<Utc>,
    ) -> Result<Validation, OrgError> {
        let id18 = RecordId::parse(id).map(|i| i.to18());
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let usable = kept
            .iter()
            .position(|v| Some(&v.id) == id18.as_ref())
            .filter(|&i| {
                Arc::ptr_eq(&kept[i].schema, schema)
                    && now - kept[i].at < chrono::Duration::days(VALIDATION_DAYS)
            });
        usable.and_then(|i| kept.remove(i)).ok_or_else(|| {
            OrgError::new(
                Code::InvalidId,
                format!(
                    "{id} cannot be quick-deployed: it must be a successful checkOnly deploy of the last {VALIDATION_DAYS} days, not quick-deployed yet, and the schema must not have changed since"
                ),
            )
        })
    }
}

/// A quick deploy of the validation `id`: its zip applied again with its options, not
/// `checkOnly`; the new deploy's id.
pub(crate) async fn deploy_validated(
    app: &crate::State,
    caller: &forcebus_org::Caller,
    id: &str,
) -> Result<String, OrgError> {
    let v = app
        .deploys
        .validations
        .take(id, &app.org.schema(), app.org.clock().now())?;
    let options = DeployOptions {
        check_only: false,
        ..v.options
    };
    Ok(start(app, caller, v.zip, options, Some(v.id)).await)
}

/// Whether deploy `id` may be canceled: never here, every deploy being complete before
/// its id is handed out. Salesforce refuses a completed one with `INVALID_ID_FIELD:
/// Deployment already completed` (what the sf CLI's own tests expect of a deploy that
/// finished before the cancel arrived, and jsforce turns into an error); an unknown id
/// is an invalid cross reference, as for `checkDeployStatus`.
pub(crate) fn cancel(app: &crate::State, id: &str) -> Result<(), OrgError> {
    match app.deploys.get(id) {
        None => Err(OrgError::new(
            Code::InvalidCrossReferenceKey,
            "invalid cross reference id",
        )),
        Some(_) => Err(OrgError::new(
            Code::InvalidId,
            "Deployment already completed",
        )),
    }
}

/// `cancelDeploy` (`<id>` from jsforce, `<String>` in the WSDL: the first child). Were a
/// deploy ever still running, the answer would be `done` false with its id, and the
/// deploy would go `Canceling`, then `Canceled`.
pub(crate) fn cancel_soap(app: &crate::State, op: &Element) -> Result<String, OrgError> {
    let id = op.children.first().map_or("", |c| c.text.trim());
    cancel(app, id)?;
    Ok(format!(
        "<cancelDeployResponse><result><done>false</done><id>{}</id></result></cancelDeployResponse>",
        escape(id)
    ))
}

/// `deployRecentValidation` (`<validationId>`, or the first child): the new deploy's id,
/// a bare string.
pub(crate) async fn deploy_recent_validation(
    app: &crate::State,
    caller: &forcebus_org::Caller,
    op: &Element,
) -> Result<String, OrgError> {
    let id = op
        .text_of("validationId")
        .or_else(|| op.children.first().map(|c| c.text.as_str()))
        .unwrap_or_default()
        .trim();
    let new = deploy_validated(app, caller, id).await?;
    Ok(format!(
        "<deployRecentValidationResponse><result>{new}</result></deployRecentValidationResponse>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(v: &Validations, n: u64, schema: &Arc<Schema>, at: DateTime<Utc>) -> String {
        let id = RecordId::mint("0Af", n).to18();
        v.keep(
            &id,
            Bytes::from_static(b"zip"),
            DeployOptions::default(),
            schema.clone(),
            at,
        );
        id
    }

    #[test]
    fn a_validation_is_taken_once_within_ten_days_on_its_schema() {
        let one = Arc::new(Schema::new(Vec::new()));
        let two = Arc::new(Schema::new(Vec::new()));
        let t0 = DateTime::parse_from_rfc3339("2024-05-02T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let v = Validations::default();
        let a = kept(&v, 1, &one, t0);
        assert!(v.take(&a, &one, t0).is_ok());
        let Err(again) = v.take(&a, &one, t0) else {
            panic!("taken twice")
        };
        assert_eq!(again.code, Code::InvalidId);
        let b = kept(&v, 2, &one, t0);
        assert!(v.take(&b, &two, t0).is_err(), "the schema changed since");
        let c = kept(&v, 3, &one, t0);
        assert!(
            v.take(&c[..15], &one, t0 + chrono::Duration::days(10))
                .is_err()
        );
        assert!(
            v.take(&c[..15], &one, t0 + chrono::Duration::days(9))
                .is_ok(),
            "15 characters"
        );
        assert!(v.take("nonsense", &one, t0).is_err());
    }

    #[test]
    fn only_the_newest_validations_are_kept() {
        let one = Arc::new(Schema::new(Vec::new()));
        let now = Utc::now();
        let v = Validations::default();
        let ids: Vec<String> = (1..=MAX_VALIDATIONS as u64 + 1)
            .map(|n| kept(&v, n, &one, now))
            .collect();
        assert!(v.take(&ids[0], &one, now).is_err(), "the oldest went");
        assert!(v.take(&ids[MAX_VALIDATIONS], &one, now).is_ok());
    }
}
