//! Emptying an org (the admin API's reset): every record goes (the recycle
//! bin's too) but its users, its Standard Price Book and its streaming settings (PushTopics, channels and their
//! members, managed subscriptions, generic streaming channels), and every event; the
//! schema, users, credentials and tokens stay, and replay ids go on from where they were.

use forcebus_store::{Batch, Write};

use crate::Org;
use crate::error::OrgError;

/// Objects whose records a reset keeps besides the tooling objects'.
const KEPT: [&str; 4] = ["User", "PushTopic", "StreamingChannel", "Organization"];

impl Org {
    /// Empties the org of records and events; how many records went.
    pub fn reset_data(&self) -> Result<usize, OrgError> {
        let failed = |e: forcebus_store::StoreError| OrgError::storage(&e);
        let (_underway, _writer) = self.begin_write();
        let schema = self.schema();
        let gone: Vec<crate::id::RecordId> = self
            .read()
            .records
            .values()
            .filter(|r| {
                !KEPT.contains(&r.object.as_str())
                    && !schema.object(&r.object).is_some_and(|o| o.tooling)
                    && r.get("IsStandard") != true
            })
            .map(|r| r.id)
            .collect();
        let mut batch = Batch::new();
        for id in &gone {
            batch.writes.push(Write::PurgeRecord {
                id: id.as15().to_owned(),
            });
        }
        self.store.commit(&batch).map_err(failed)?;
        {
            let mut state = self.write();
            for id in &gone {
                state.remove(&schema, id);
            }
        }
        self.log.clear().map_err(failed)?;
        tracing::info!(org = %self.id.to18(), records = gone.len(), "Org reset.");
        Ok(gone.len())
    }
}
