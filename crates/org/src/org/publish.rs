//! Publishing platform events through the org: validated, encoded once, appended in one
//! storage commit, acknowledged once durable.

use crate::error::OrgError;
use crate::platform::publish::{Prepared, prepare};
use crate::platform::{CLASS, Published, ToPublish};

impl crate::Org {
    /// Publishes events, each of its definition. Each is validated and encoded; the valid
    /// ones are appended in one storage commit, taking their replay ids in call order.
    /// With `all_or_none`, one invalid event fails them all and nothing is published. The
    /// results may be acknowledged, and the events are shown, once the returned
    /// [`crate::Committing`] is; a caller may publish its next batch meanwhile.
    pub fn publish(
        &self,
        caller: &crate::Caller,
        inputs: &[ToPublish],
        all_or_none: bool,
    ) -> Result<crate::Committing<Vec<Result<Published, OrgError>>>, forcebus_store::StoreError>
    {
        let now = self.clock().now();
        let created_date = crate::clock::format_datetime(now);
        let created_by = caller.user_id.to18();
        let mut results: Vec<Result<Prepared, OrgError>> = inputs
            .iter()
            .map(|(def, values, uuid)| prepare(def, values, &created_by, &created_date, uuid))
            .collect();
        if all_or_none && results.iter().any(Result::is_err) {
            let results = results
                .into_iter()
                .map(|r| r.and_then(|_| Err(crate::commit::rolled_back())))
                .collect();
            return Ok(crate::Committing::new(
                results,
                forcebus_eventlog::Commit::nothing(self.log()),
            ));
        }
        let new_events: Vec<forcebus_eventlog::NewEvent> = results
            .iter_mut()
            .filter_map(|r| r.as_mut().ok())
            .map(|(kind, _, bytes)| forcebus_eventlog::NewEvent {
                kind: kind.clone(),
                class: CLASS,
                payload: std::mem::take(bytes),
            })
            .collect();
        let underway = self.underway();
        let commit = if new_events.is_empty() {
            forcebus_eventlog::Commit::nothing(self.log())
        } else {
            let batch = forcebus_store::Batch::new();
            self.log()
                .commit(new_events, now.timestamp_millis(), batch)?
        };
        let mut ids = commit.events().iter().map(|e| e.replay_id);
        let results = results
            .into_iter()
            .map(|r| {
                r.map(|(_, uuid, _)| Published {
                    uuid,
                    replay_id: ids.next().unwrap_or(0),
                })
            })
            .collect();
        Ok(crate::Committing::new(results, commit).holding(underway))
    }
}
