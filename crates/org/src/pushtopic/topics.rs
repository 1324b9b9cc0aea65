//! The active topics of an org, compiled, and the notifications a transaction's changes
//! raise on them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use forcebus_meta::Schema;
use serde_json::Value;

use super::{CLASS, OBJECT, Operation, Topic, compile};
use crate::id::RecordId;
use crate::record::Record;

/// The active topics, by object.
#[derive(Debug, Default)]
pub(crate) struct Topics {
    pub(crate) by_object: HashMap<String, Vec<Arc<Topic>>>,
}

impl Topics {
    /// Compiles every active, live `PushTopic`.
    pub(crate) fn build<'r>(
        schema: &'static Schema,
        records: impl Iterator<Item = &'r Record>,
    ) -> Self {
        let mut by_object: HashMap<String, Vec<Arc<Topic>>> = HashMap::new();
        for r in records {
            if r.is_deleted
                || !r
                    .fields
                    .get("IsActive")
                    .and_then(Value::as_bool)
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
        .filter(|(k, v)| before.fields.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect();
    out.extend(
        before
            .fields
            .keys()
            .filter(|k| !after.fields.contains_key(*k))
            .cloned(),
    );
    out
}

impl crate::Org {
    /// Recompiles the active PushTopics from the committed state.
    pub(crate) fn rebuild_topics(&self) {
        let topics = Topics::build(self.schema(), self.read().of(OBJECT));
        *self.topics.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(topics);
    }

    /// The PushTopic notifications of a transaction's changes.
    pub(crate) fn topic_notifications(
        &self,
        state: &crate::state::State,
        overlay: &HashMap<RecordId, Option<Record>>,
        order: &[RecordId],
        now: DateTime<Utc>,
    ) -> Vec<forcebus_eventlog::NewEvent> {
        let topics = self
            .topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if topics.by_object.is_empty() {
            return Vec::new();
        }
        let created_date = now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        let mut out = Vec::new();
        for id in order {
            let after = overlay[id].as_ref();
            let before = state.records.get(id);
            let Some(object) = after.or(before).map(|r| r.object.as_str()) else {
                continue;
            };
            let Some(list) = topics.by_object.get(object) else {
                continue;
            };
            let Some(op) = Operation::of(before, after) else {
                continue;
            };
            let changed = match (op, before, after) {
                (Operation::Updated, Some(b), Some(a)) => changed_fields(b, a),
                _ => HashSet::default(),
            };
            for t in list {
                if let Some(sobject) = t.matches(op, before, after, &changed, now) {
                    out.push(forcebus_eventlog::NewEvent {
                        kind: forcebus_events::pushtopic::kind(&t.name),
                        class: CLASS,
                        payload: forcebus_events::pushtopic::notification(
                            op.as_str(),
                            &created_date,
                            sobject,
                        ),
                    });
                }
            }
        }
        out
    }
}
