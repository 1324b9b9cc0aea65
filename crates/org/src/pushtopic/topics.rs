//! The active topics of an org, compiled, by object; and which fields a change touched.

use crate::fields::FieldRef;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use forcebus_meta::Schema;

use super::{Topic, compile};
use crate::record::Record;

/// The active topics, by object.
#[derive(Debug, Default)]
pub(crate) struct Topics {
    pub(crate) by_object: HashMap<String, Vec<Arc<Topic>>>,
}

impl Topics {
    /// Compiles every active, live `PushTopic`.
    pub(crate) fn build<'r>(schema: &Schema, records: impl Iterator<Item = &'r Record>) -> Self {
        let mut by_object: HashMap<String, Vec<Arc<Topic>>> = HashMap::new();
        for r in records {
            if r.is_deleted
                || !r
                    .fields
                    .get("IsActive")
                    .and_then(FieldRef::as_bool)
                    .unwrap_or(true)
            {
                continue;
            }
            match compile(schema, r) {
                Ok(t) => by_object
                    .entry(t.object().to_owned())
                    .or_default()
                    .push(Arc::new(t)),
                Err(e) => {
                    tracing::warn!(topic = ?r.get_str("Name"), error = %e, "Stored PushTopic does not compile; skipped.")
                }
            }
        }
        Self { by_object }
    }
}

/// Fields whose values differ between two states of a record.
pub(crate) fn changed_fields(before: &Record, after: &Record) -> HashSet<String> {
    let mut out: HashSet<String> = after
        .fields
        .iter()
        .filter(|(k, v)| before.fields.get(k) != Some(*v))
        .map(|(k, _)| k.to_owned())
        .collect();
    out.extend(
        before
            .fields
            .keys()
            .filter(|k| !after.fields.contains_key(k))
            .map(str::to_owned),
    );
    out
}
