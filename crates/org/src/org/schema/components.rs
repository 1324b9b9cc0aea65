//! The Metadata components the org keeps as deployed ([`crate::components`]): read by
//! retrieves and `listMetadata`, changed by deploys in the same store commit as the rest
//! of their schema change; and the `ApexClass` and `ApexTrigger` records an Apex
//! component's files stand for (its `Body`, `ApiVersion` and `Status`), kept in step after
//! each deploy. Apex is kept, never run.

use forcebus_sync::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use forcebus_store::{Batch, Store, StoreError};

use crate::Org;
use crate::caller::Caller;
use crate::components::{COMPONENTS, StoredComponent, key};
use crate::error::{Code, OrgError};
use crate::txn::Op;

/// The kept components, by [`key`].
pub(crate) type Components = BTreeMap<String, Arc<StoredComponent>>;

/// The kept components as stored.
pub(crate) fn load(store: &dyn Store) -> Result<Components, StoreError> {
    store
        .load_values(COMPONENTS)?
        .into_iter()
        .map(|(k, text)| {
            let c = StoredComponent::parse(&text)
                .map_err(|e| StoreError::Corrupt(format!("metadata component {k}: {e}")))?;
            Ok((k, Arc::new(c)))
        })
        .collect()
}

/// A change's writes to the kept components: each key's new component, or its removal.
pub(crate) fn stage(batch: &mut Batch, changes: &[(String, Option<Arc<StoredComponent>>)]) {
    for (k, c) in changes {
        batch.put(COMPONENTS, k, c.as_ref().map(|c| c.to_json()));
    }
}

/// The Apex objects whose records stand for components of the Metadata type of their name.
const APEX: [(&str, &str); 2] = [("ApexClass", ".cls"), ("ApexTrigger", ".trigger")];

impl Org {
    /// The component `kind` `full_name` (case-insensitive), if kept.
    pub fn component(&self, kind: &str, full_name: &str) -> Option<Arc<StoredComponent>> {
        self.components
            .read_locked()
            .get(&key(kind, full_name))
            .cloned()
    }

    /// Every kept component of `kind`, by full name.
    pub fn components_of(&self, kind: &str) -> Vec<Arc<StoredComponent>> {
        let prefix = key(kind, "");
        self.components
            .read_locked()
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(_, c)| c.clone())
            .collect()
    }

    /// A change's components installed (after its commit).
    pub(crate) fn install_components(&self, changes: Vec<(String, Option<Arc<StoredComponent>>)>) {
        if changes.is_empty() {
            return;
        }
        let mut kept = self.components.write_locked();
        for (k, c) in changes {
            match c {
                Some(c) => kept.insert(k, c),
                None => kept.remove(&k),
            };
        }
    }

    /// Brings the `ApexClass` and `ApexTrigger` records of the components `names` (type,
    /// full name) in step with what is kept: made or updated from a kept one's files,
    /// deleted when it is gone. Other types are passed over.
    pub fn sync_apex(&self, caller: &Caller, names: &[(String, String)]) -> Result<(), OrgError> {
        let mut ops = Vec::new();
        for (kind, name) in names {
            let Some((object, suffix)) = APEX.iter().find(|(o, _)| o == kind) else {
                continue;
            };
            let existing = self
                .scan(object, |r| {
                    (!r.is_deleted
                        && r.get_str("Name")
                            .is_some_and(|n| n.eq_ignore_ascii_case(name)))
                    .then_some(r.id)
                })
                .into_iter()
                .next();
            let fields = self.component(kind, name).map(|c| apex_fields(&c, suffix));
            ops.push(match (existing, fields) {
                (None, None) => continue,
                (Some(id), None) => Op::Delete {
                    object: Some((*object).to_owned()),
                    id: id.to18(),
                },
                (Some(id), Some(fields)) => Op::Update {
                    object: Some((*object).to_owned()),
                    id: id.to18(),
                    fields,
                },
                (None, Some(fields)) => Op::Create {
                    object: (*object).to_owned(),
                    fields,
                },
            });
        }
        if ops.is_empty() || self.schema().object("ApexClass").is_none() {
            return Ok(());
        }
        let mode = crate::Mode {
            all_or_none: true,
            ..crate::Mode::PARTIAL
        };
        let result = self
            .execute(caller, ops, mode)
            .and_then(crate::org::commit::Committing::wait)
            .map_err(|e| OrgError::storage(&e))?;
        match result.results.into_iter().find_map(Result::err) {
            Some(e) => Err(OrgError::new(
                Code::InvalidInput,
                format!("The Apex records could not be saved: {}", e.message),
            )),
            None => Ok(()),
        }
    }
}

/// An Apex component's record fields: `Name`, `Body` (its source file), and `ApiVersion`
/// and `Status` from its `-meta.xml` (62.0 and `Active` when it says none).
fn apex_fields(c: &StoredComponent, suffix: &str) -> Map<String, Value> {
    let meta = c.text_ending("-meta.xml").unwrap_or_default();
    let element = |name: &str| -> Option<String> {
        let open = format!("<{name}>");
        let start = meta.find(&open)? + open.len();
        let end = meta[start..].find("</")? + start;
        Some(meta[start..end].trim().to_owned())
    };
    let version = element("apiVersion")
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(62.0);
    let mut fields = Map::new();
    fields.insert("Name".into(), Value::from(c.full_name.as_str()));
    fields.insert(
        "Body".into(),
        Value::from(c.text_ending(suffix).unwrap_or_default()),
    );
    fields.insert("ApiVersion".into(), Value::from(version));
    fields.insert(
        "Status".into(),
        Value::from(element("status").unwrap_or_else(|| "Active".into())),
    );
    fields
}
