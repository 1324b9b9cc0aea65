//! Upserts by external id, and the equality lookups behind them and behind unique fields
//! (`crate::rules`' last): the committed indexes plus what the transaction touched.

use crate::fields::FieldRef;
use serde_json::{Map, Value};

use crate::error::{Code, OrgError};
use crate::id::RecordId;
use crate::meta::{FieldDef, ObjectDef};
use crate::record::Record;

use super::{Outcome, Txn};

impl Txn<'_> {
    pub(super) fn upsert(
        &mut self,
        object: &str,
        field: &str,
        value: &str,
        mut fields: Map<String, Value>,
    ) -> Result<Outcome, OrgError> {
        let def = self.object(object)?;
        let f = def
            .field(field)
            .filter(|f| f.external_id || f.name == "Id")
            .ok_or_else(|| OrgError::not_an_external_id(field))?;
        if f.name == "Id" {
            let rec = self.updated(Some(&def.name), value, &fields)?;
            let id = rec.id;
            self.put(vec![rec])?;
            return Ok(Outcome::Upserted { id, created: false });
        }
        let matches = self.matching(def, f, value);
        match matches.as_slice() {
            [] => {
                match fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(&f.name)) {
                    Some((_, v)) if !same_value(f, FieldRef::of(v), FieldRef::Str(value)) => {
                        return Err(OrgError::field(
                            Code::InvalidField,
                            format!(
                                "The value of {} in the request body does not match the external ID in the URL",
                                f.name
                            ),
                            &f.name,
                        ));
                    }
                    Some(_) => {}
                    None => {
                        fields.insert(f.name.clone(), Value::String(value.to_owned()));
                    }
                }
                let id = self.insert(def, &fields)?;
                Ok(Outcome::Upserted { id, created: true })
            }
            [one] => {
                let rec = self.updated(Some(&def.name), &one.to18(), &fields)?;
                self.put(vec![rec])?;
                Ok(Outcome::Upserted {
                    id: *one,
                    created: false,
                })
            }
            many => Err(OrgError::field(
                Code::DuplicateExternalId,
                format!(
                    "{}: more than one record found for external id field: [{}]",
                    f.label,
                    many.iter()
                        .map(RecordId::to18)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                &f.name,
            )),
        }
    }

    /// Live records of `def` whose `field` equals `value` (text compared case-insensitively).
    /// Live records of `object` whose external-id `field` (or `Id`) equals `value`, as an
    /// upsert would match them.
    pub(crate) fn find_by_external_id(
        &self,
        object: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<RecordId>, OrgError> {
        let def = self.object(object)?;
        let f = def
            .field(field)
            .filter(|f| f.external_id || f.name == "Id")
            .ok_or_else(|| OrgError::not_an_external_id(field))?;
        if f.name == "Id" {
            let live = RecordId::parse(value)
                .and_then(|id| self.current(&id))
                .filter(|r| !r.is_deleted && r.object == def.name);
            return Ok(live.map(|r| r.id).into_iter().collect());
        }
        Ok(self.matching(def, f, value))
    }

    pub(crate) fn matching(&self, def: &ObjectDef, field: &FieldDef, value: &str) -> Vec<RecordId> {
        self.equal(def, field, FieldRef::Str(value), None)
            .into_iter()
            .map(|r| r.id)
            .collect()
    }

    /// Live records of `def` other than `except` whose `field` equals `v`: through the
    /// committed index when the field has one, plus what this transaction touched.
    pub(crate) fn equal(
        &self,
        def: &ObjectDef,
        field: &FieldDef,
        v: FieldRef<'_>,
        except: Option<RecordId>,
    ) -> Vec<&Record> {
        let indexed = field.ftype.is_text() && crate::indexes::indexed(field);
        let hits: Vec<&Record> = match crate::indexes::key_of(field, v).filter(|_| indexed) {
            Some(k) => {
                let committed = self
                    .state
                    .indexes
                    .get_key(&def.name, &field.name, &k)
                    .into_iter()
                    .filter(|id| !self.overlay.contains_key(id))
                    .filter_map(|id| self.state.records.get(&id));
                let touched = self
                    .order
                    .iter()
                    .filter_map(|id| self.overlay.get(id)?.as_ref())
                    .filter(|r| r.object == def.name);
                committed.chain(touched).collect()
            }
            None => self.scan(&def.name).collect(),
        };
        let mut out: Vec<&Record> = hits
            .into_iter()
            .filter(|r| {
                Some(r.id) != except && !r.is_deleted && same_value(field, r.get(&field.name), v)
            })
            .collect();
        out.sort_by_key(|r| r.id);
        out
    }
}

/// External-id and unique comparisons: text case-insensitively, everything else exactly.
fn same_value(f: &FieldDef, a: FieldRef<'_>, b: FieldRef<'_>) -> bool {
    match (a, b) {
        (FieldRef::Str(x), FieldRef::Str(y)) if f.ftype.is_text() => x.eq_ignore_ascii_case(y),
        (x, FieldRef::Str(y)) | (FieldRef::Str(y), x) if x.is_number() => {
            y.parse::<f64>().ok() == x.as_f64()
        }
        _ => a == b,
    }
}
