//! A record as a formula reads it: its fields, its parents' through lookups (their own
//! formula fields computed in turn), the running user's, the org's, and the clock.

use chrono::{DateTime, TimeZone, Utc};
use forcebus_formula::{Scope, Type, Value};
use serde_json::Value as Json;

use super::resolve::{Path, Start, type_of};
use super::{Formulas, id_of};
use crate::id::RecordId;
use crate::meta::FieldDef;
use crate::record::Record;

/// Where a formula's records come from: the committed state, or a transaction's view of
/// it.
pub(crate) trait Reader {
    /// A record by id, deleted or not.
    fn record(&self, id: RecordId) -> Option<&Record>;
    /// The org's `Organization` record.
    fn organization(&self) -> Option<&Record>;
    /// The running user (`$User`).
    fn user(&self) -> Option<RecordId>;
    /// The org's clock, now.
    fn now(&self) -> DateTime<Utc>;
}

/// One formula run on one record.
pub(super) struct RecordScope<'a> {
    pub(super) formulas: &'a Formulas,
    pub(super) reader: &'a dyn Reader,
    pub(super) rec: &'a Record,
    /// The record before this write (validation rules on an update).
    pub(super) prior: Option<&'a Record>,
    pub(super) is_new: bool,
    pub(super) paths: &'a [Path],
    pub(super) depth: u8,
}

impl RecordScope<'_> {
    /// The value `path` reads, starting from `rec` for a reference to the record itself.
    fn read(&self, path: &Path, rec: &Record) -> Value {
        let mut current = match path.start {
            Start::This => Some(rec),
            Start::User => self.reader.user().and_then(|u| self.reader.record(u)),
            Start::Organization => self.reader.organization(),
            Start::Origin => {
                return Value::DateTime(
                    Utc.with_ymd_and_hms(1900, 1, 1, 0, 0, 0)
                        .single()
                        .expect("a valid instant"),
                );
            }
        };
        for hop in &path.hops {
            current = current
                .and_then(|r| id_of(r.get(&hop.field)))
                .and_then(|id| self.reader.record(id))
                .filter(|r| !r.is_deleted);
        }
        let Some(current) = current else {
            return Value::Null;
        };
        let Some((object, at)) = &path.end else {
            return Value::Null;
        };
        let object: &crate::meta::ObjectDef = object;
        let field = &object.fields[*at];
        if field.formula.is_some() {
            return self
                .formulas
                .evaluate(self.reader, current, object, field, self.depth + 1);
        }
        from_json(field, &current.rest_value(object, &field.name))
    }
}

impl Scope for RecordScope<'_> {
    fn value(&self, reference: usize) -> Value {
        match self.paths.get(reference) {
            Some(path) => self.read(path, self.rec),
            None => Value::Null,
        }
    }

    fn prior(&self, reference: usize) -> Value {
        match (self.paths.get(reference), self.prior) {
            (Some(path), Some(prior)) => self.read(path, prior),
            _ => Value::Null,
        }
    }

    fn is_new(&self) -> bool {
        self.is_new
    }

    fn now(&self) -> DateTime<Utc> {
        self.reader.now()
    }

    fn today(&self) -> chrono::NaiveDate {
        today(self.reader)
    }
}

/// Today in the running user's time zone (`TimeZoneSidKey`), as Salesforce's `TODAY()`
/// has it; in GMT when the user or the zone is unknown.
fn today(reader: &dyn Reader) -> chrono::NaiveDate {
    let now = reader.now();
    let zone = reader
        .user()
        .and_then(|u| reader.record(u))
        .and_then(|u| u.get_str("TimeZoneSidKey").map(str::to_owned))
        .and_then(|z| z.parse::<chrono_tz::Tz>().ok());
    match zone {
        Some(tz) => now.with_timezone(&tz).date_naive(),
        None => now.date_naive(),
    }
}

/// A stored value of `field` as the formula language takes it (a percent as stored: `10`
/// for 10%, which the language reads as `0.1`).
pub(super) fn from_json(field: &FieldDef, json: &Json) -> Value {
    match type_of(field) {
        Some(ty) => forcebus_formula::from_json(ty, json),
        None => Value::Null,
    }
}

/// A formula's value as the REST API shows formula field `field` (a percent result is
/// already hundredfold: `10` for 10%): a checkbox formula is never null; numbers are
/// doubles (`140.0`), as a stored number field's read.
pub(super) fn to_json(field: &FieldDef, value: &Value) -> Json {
    let Some(ty) = type_of(field) else {
        return Json::Null;
    };
    let json = match (ty, value) {
        (Type::Checkbox, Value::Null) => Json::Bool(false),
        _ => forcebus_formula::to_json(ty, field.scale, value),
    };
    match json.as_f64() {
        Some(n) if json.is_number() => Json::from(n),
        _ => json,
    }
}
