//! An object's first record type gives it the `RecordTypeId` field: a schema change (a
//! new change-event schema id), made right after the commit that made the record type,
//! and at start for any object whose record types were committed without it (a crash
//! between the two).

use forcebus_store::StoreError;
use serde_json::{Map, Value};

use crate::Org;
use crate::error::OrgError;
use crate::org::schema::Changed;

impl Org {
    /// The active record types of `object`, in the order they were made (the first is
    /// the default).
    pub fn record_types_of(&self, object: &str) -> Vec<crate::Record> {
        let state = self.read();
        let ids = state.by_object.get(crate::record_types::OBJECT);
        crate::record_types::active_of(
            ids.into_iter()
                .flatten()
                .filter_map(|id| state.records.get(&id)),
            object,
        )
        .into_iter()
        .cloned()
        .collect()
    }

    /// After a commit that made the first record types of `gaining`: the objects get
    /// `RecordTypeId` before the call returns (a schema change of its own, after that
    /// commit in the log; one lost with the process is made at the next start).
    pub(crate) fn after_first_record_types(&self, gaining: &[String]) {
        if gaining.is_empty() {
            return;
        }
        if let Err(e) = self.give_record_type_field(gaining) {
            tracing::warn!(error = %e.message, "Record types made, but their objects could not get RecordTypeId; it is added at the next start.");
        }
    }

    /// Gives `objects` the `RecordTypeId` field (those that lack it).
    pub(crate) fn give_record_type_field(&self, objects: &[String]) -> Result<(), OrgError> {
        self.change_schema(|schema, runtime, _| {
            let mut changed = Changed::default();
            for object in objects {
                let Some(name) = schema.object(object).map(|o| o.name.clone()) else {
                    continue;
                };
                if schema
                    .object(&name)
                    .is_some_and(|o| o.field(crate::record_types::FIELD).is_some())
                {
                    continue;
                }
                crate::record_types::add_field(schema, &name);
                runtime.record_types.insert(name.clone());
                changed.objects.push(name);
            }
            Ok(((), changed))
        })
    }

    /// At start: the declared record types the org does not have yet (by object and
    /// developer name) are made, as the org's own setup (no Recycle Bin, no events).
    pub(crate) fn ensure_record_types(
        &self,
        declared: &std::collections::BTreeMap<String, Vec<crate::custom::RecordTypeConfig>>,
    ) -> Result<(), StoreError> {
        let Some(owner) = self.scan("User", |r| Some(r.id)).into_iter().next() else {
            return Ok(());
        };
        let have: Vec<(String, String)> = self.scan(crate::record_types::OBJECT, |r| {
            Some((
                r.get_str("SobjectType")?.to_ascii_lowercase(),
                r.get_str("DeveloperName")?.to_ascii_lowercase(),
            ))
        });
        let mut ops = Vec::new();
        for (object, types) in declared {
            for t in types {
                let developer = t.developer_name();
                let key = (object.to_ascii_lowercase(), developer.to_ascii_lowercase());
                if have.contains(&key) {
                    continue;
                }
                let mut fields = Map::new();
                for (k, v) in [
                    ("Name", Value::from(t.name.as_str())),
                    ("DeveloperName", Value::from(developer)),
                    ("SobjectType", Value::from(object.as_str())),
                    ("IsActive", Value::Bool(t.active)),
                    (
                        "Description",
                        t.description.clone().map_or(Value::Null, Value::from),
                    ),
                ] {
                    fields.insert(k.into(), v);
                }
                ops.push(crate::txn::Op::Seed {
                    object: crate::record_types::OBJECT.into(),
                    fields,
                });
            }
        }
        if ops.is_empty() {
            return Ok(());
        }
        let mode = crate::Mode {
            all_or_none: false,
            bulk_load: false,
            seed: true,
        };
        let caller = crate::Caller::org_setup(owner);
        let (result, commit) = self.execute(&caller, ops, mode)?.into_parts();
        commit.wait()?;
        for e in result.results.into_iter().filter_map(Result::err) {
            tracing::warn!(error = %e.message, "A declared record type cannot be made; left out.");
        }
        Ok(())
    }

    /// At start: the objects that have record types but not the field get it.
    pub(crate) fn heal_record_types(&self) -> Result<(), StoreError> {
        let gaining = {
            let schema = self.schema();
            let state = self.read();
            let ids = state.by_object.get(crate::record_types::OBJECT);
            crate::record_types::objects_gaining(
                &schema,
                ids.into_iter()
                    .flatten()
                    .filter_map(|id| state.records.get(&id)),
            )
        };
        if gaining.is_empty() {
            return Ok(());
        }
        self.give_record_type_field(&gaining)
            .map_err(|e| StoreError::Corrupt(e.message))
    }
}
