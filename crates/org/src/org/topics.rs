//! The org's active PushTopics: recompiled when a `PushTopic` changes, matched against
//! every committed change.

use forcebus_sync::prelude::*;
use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::id::RecordId;
use crate::pushtopic::{CLASS, OBJECT, Operation, Topics, changed_fields};

impl crate::Org {
    /// Recompiles the active PushTopics from the committed state.
    pub(crate) fn rebuild_topics(&self) {
        let topics = Topics::build(&self.schema(), self.read().of(OBJECT));
        *self.topics.write_locked() = Arc::new(topics);
    }

    /// The names of the active PushTopics on `object`.
    pub(crate) fn topics_on(&self, object: &str) -> Vec<String> {
        let topics = self.topics.read_locked().clone();
        topics
            .by_object
            .iter()
            .filter(|(o, _)| o.eq_ignore_ascii_case(object))
            .flat_map(|(_, l)| l.iter().map(|t| t.name.clone()))
            .collect()
    }

    /// The names of the active PushTopics on `object` whose query names `field`.
    pub(crate) fn topics_naming(&self, object: &str, field: &str) -> Vec<String> {
        let topics = self.topics.read_locked().clone();
        let Some(list) = topics
            .by_object
            .iter()
            .find(|(o, _)| o.eq_ignore_ascii_case(object))
            .map(|(_, l)| l)
        else {
            return Vec::new();
        };
        list.iter()
            .filter(|t| t.names_field(field))
            .map(|t| t.name.clone())
            .collect()
    }

    /// The PushTopic notifications of a transaction's changes.
    pub(crate) fn topic_notifications(
        &self,
        state: &crate::state::State,
        overlay: &crate::Writes,
        order: &[RecordId],
        now: DateTime<Utc>,
    ) -> Vec<forcebus_eventlog::NewEvent> {
        let topics = self.topics.read_locked().clone();
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
