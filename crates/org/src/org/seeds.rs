//! Records every org is born with besides its users: the Standard Price Book
//! (`standard-objects.md` §4.1) and the default business hours ("Default", open all day
//! every day, as in a new org). Made on first start, without change events (on Salesforce
//! they predate every retained event).

use forcebus_store::StoreError;
use serde_json::{Map, Value};

use crate::Org;
use crate::caller::Caller;
use crate::record::Record;
use crate::txn::Op;

const BOOK: &str = "Pricebook2";
/// The Standard Price Book's name in an English-language org.
pub const STANDARD_PRICE_BOOK: &str = "Standard Price Book";

const HOURS: &str = "BusinessHours";
/// The days whose `{Day}StartTime` and `{Day}EndTime` the default hours set.
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
/// A day open all day: it starts and ends at midnight.
const MIDNIGHT: &str = "00:00:00.000Z";

impl Org {
    /// Makes the Standard Price Book unless the org has one (or has no price books).
    pub(crate) fn ensure_standard_price_book(&self) -> Result<(), StoreError> {
        self.ensure_seed(
            BOOK,
            |r| r.get("IsStandard") == true,
            vec![
                ("Name", Value::from(STANDARD_PRICE_BOOK)),
                ("IsStandard", Value::Bool(true)),
                ("IsActive", Value::Bool(true)),
            ],
        )
    }

    /// Makes the default business hours unless the org has them (or has no
    /// `BusinessHours`): open all day, every day, in the org's time zone.
    pub(crate) fn ensure_default_business_hours(&self) -> Result<(), StoreError> {
        let mut fields = vec![
            ("Name", Value::from("Default")),
            ("IsActive", Value::Bool(true)),
            ("IsDefault", Value::Bool(true)),
            ("TimeZoneSidKey", Value::from("America/Los_Angeles")),
        ];
        let times: Vec<(String, Value)> = DAYS
            .iter()
            .flat_map(|d| [format!("{d}StartTime"), format!("{d}EndTime")])
            .map(|name| (name, Value::from(MIDNIGHT)))
            .collect();
        fields.extend(times.iter().map(|(n, v)| (n.as_str(), v.clone())));
        self.ensure_seed(HOURS, |r| r.get("IsDefault") == true, fields)
    }

    /// Makes one record of `object` with `values` unless one that is `there` exists (or
    /// the org has no such object, or no user yet).
    fn ensure_seed(
        &self,
        object: &str,
        there: impl Fn(&Record) -> bool,
        values: Vec<(&str, Value)>,
    ) -> Result<(), StoreError> {
        if self.schema().object(object).is_none() {
            return Ok(());
        }
        if !self.scan(object, |r| there(r).then_some(())).is_empty() {
            return Ok(());
        }
        let Some(owner) = self.scan("User", |r| Some(r.id)).into_iter().next() else {
            return Ok(());
        };
        let caller = Caller::org_setup(owner);
        let fields: Map<String, Value> =
            values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let ops = vec![Op::Seed {
            object: object.into(),
            fields,
        }];
        let mode = crate::Mode {
            all_or_none: true,
            bulk_load: false,
            seed: true,
        };
        // Not waited for: if it is lost with the process before it is durable, the next
        // start makes it again (the org's first durable commit after this one makes both
        // durable).
        // On a full disk the server still starts and serves reads: the record is made at
        // a later start.
        let full = |what: &dyn std::fmt::Display| {
            tracing::warn!(object, error = %what, "The store is full: an org's own record is made at a later start.");
        };
        let (result, _commit) = match self.execute(&caller, ops, mode) {
            Err(e) if e.is_full() => {
                full(&e);
                return Ok(());
            }
            other => other?.into_parts(),
        };
        match result.results.into_iter().next() {
            Some(Err(e)) if e.code == crate::Code::StorageLimitExceeded => full(&e.message),
            Some(Err(e)) => panic!("the org's seed record of {object} is invalid: {e:?}"),
            _ => {}
        }
        Ok(())
    }
}
