//! `UserRecordAccess`: what one user may do with given records, as a query asks it.
//! Salesforce keeps no such rows; it makes them for the query, which must name one user
//! (`UserId = '005…'`) and the records (`RecordId = '…'` or `RecordId IN (…)`, at most
//! 200): `SELECT RecordId, HasReadAccess, HasEditAccess, MaxAccessLevel FROM
//! UserRecordAccess WHERE UserId = '005…' AND RecordId IN ('001…', '001…')`. A record the
//! querying user may not read has no row.

use serde_json::{Map, Value};

use forcebus_soql::ast::CmpOp;
use forcebus_soql::bind::{Cond, Operand, Plan, Value as Literal};
use forcebus_soql::{ErrorKind, SoqlError};

use super::sharing::Level;
use crate::id::RecordId;
use crate::meta::ObjectDef;
use crate::record::Record;

/// The object's name.
pub const OBJECT: &str = "UserRecordAccess";
/// Most records one query may ask about.
pub const MAX_RECORDS: usize = 200;

/// The user and the records a query of `UserRecordAccess` asks about, from its filter.
pub(crate) fn asked(plan: &Plan<'_>) -> Result<(RecordId, Vec<RecordId>), SoqlError> {
    let mut user = None;
    let mut records = Vec::new();
    let conds: Vec<&Cond<'_>> = match &plan.filter {
        Some(Cond::And(all)) => all.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    for c in conds {
        match c {
            Cond::Cmp(Operand::Field(f), CmpOp::Eq, v) if f.hops.is_empty() => {
                match f.field.name.as_str() {
                    "UserId" => user = id_of(v),
                    "RecordId" => records.extend(id_of(v)),
                    _ => {}
                }
            }
            Cond::In(Operand::Field(f), false, vs)
                if f.hops.is_empty() && f.field.name == "RecordId" =>
            {
                records.extend(vs.iter().filter_map(id_of));
            }
            _ => {}
        }
    }
    let Some(user) = user else {
        return Err(refused(
            "A query of UserRecordAccess must filter on UserId = a user's id and on RecordId",
        ));
    };
    if records.is_empty() {
        return Err(refused(
            "A query of UserRecordAccess must filter on RecordId = an id or RecordId IN (ids)",
        ));
    }
    if records.len() > MAX_RECORDS {
        return Err(refused(&format!(
            "A query of UserRecordAccess may name at most {MAX_RECORDS} record ids"
        )));
    }
    records.sort_unstable();
    records.dedup();
    Ok((user, records))
}

fn refused(message: &str) -> SoqlError {
    SoqlError {
        kind: ErrorKind::Malformed,
        message: message.to_owned(),
        offset: None,
    }
}

fn id_of(v: &Literal) -> Option<RecordId> {
    match v {
        Literal::Id(id) => Some(*id),
        Literal::Str(s) => RecordId::parse(s),
        _ => None,
    }
}

/// The row saying what `user` may do with `record`, their access `level`; the `n`-th of
/// its query.
pub(crate) fn row(
    def: &ObjectDef,
    n: u64,
    user: RecordId,
    record: RecordId,
    level: Level,
) -> Record {
    let id = RecordId::mint(&def.key_prefix, n + 1);
    let mut fields = Map::new();
    for (name, v) in [
        ("Id", Value::from(id.to18())),
        ("UserId", Value::from(user.to18())),
        ("RecordId", Value::from(record.to18())),
        ("HasReadAccess", Value::Bool(level >= Level::Read)),
        ("HasEditAccess", Value::Bool(level >= Level::Edit)),
        ("HasDeleteAccess", Value::Bool(level >= Level::All)),
        ("HasTransferAccess", Value::Bool(level >= Level::All)),
        ("HasAllAccess", Value::Bool(level >= Level::All)),
        ("MaxAccessLevel", Value::from(level.name())),
    ] {
        fields.insert(name.to_owned(), v);
    }
    Record {
        id,
        object: (&def.name).into(),
        fields: fields.into(),
        is_deleted: false,
        deleted: None,
    }
}
