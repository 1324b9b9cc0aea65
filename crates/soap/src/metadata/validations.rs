//! Validations kept for quick deploys (`deployRecentValidation`): a successful
//! `checkOnly` deploy's zip and options, usable once, within 10 days, while the schema is
//! the one it was validated against (any schema change since voids it, as a change to
//! the org would invalidate Salesforce's tests). Validations are kept with their zips, so
//! few are: the newest [`MAX_VALIDATIONS`].

use forcebus_sync::prelude::*;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::{DateTime, Utc};

use forcebus_org::{Code, OrgError, RecordId, Schema};

use crate::metadata::options::DeployOptions;

/// Validations kept for quick deploys, with their zips (the oldest go first).
const MAX_VALIDATIONS: usize = 8;
/// How long a validation may be quick-deployed (Salesforce: 10 days).
const VALIDATION_DAYS: i64 = 10;

/// A successful `checkOnly` deploy, kept to be quick-deployed.
pub(crate) struct Validation {
    /// Its deploy id (18 characters).
    pub(crate) id: String,
    pub(crate) zip: Bytes,
    pub(crate) options: DeployOptions,
    /// The schema version it was validated against (held, so its identity is not reused):
    /// any change since voids it.
    schema: Arc<Schema>,
    at: DateTime<Utc>,
}

/// The org's recent validations.
#[derive(Default)]
pub(crate) struct Validations(Mutex<VecDeque<Validation>>);

impl std::fmt::Debug for Validations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.0.locked();
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
        let mut kept = self.0.locked();
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
    pub(crate) fn take(
        &self,
        id: &str,
        schema: &Arc<Schema>,
        now: DateTime<Utc>,
    ) -> Result<Validation, OrgError> {
        let id18 = RecordId::parse(id).map(|i| i.to18());
        let mut kept = self.0.locked();
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
