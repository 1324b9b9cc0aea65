//! Managed event subscriptions' progress: the replay id a subscriber last committed, kept
//! per `ManagedEventSubscription` so a managed subscription resumes after it.

use forcebus_store::{Batch, StoreError};

use crate::Org;
use crate::id::RecordId;

/// Where committed replay ids are kept, by the subscription's 18-character id.
const COMMITTED: &str = "pubsub.commit";

impl Org {
    /// The replay id last committed for a managed subscription, if any.
    pub fn committed_replay_id(&self, subscription: RecordId) -> Result<Option<u64>, StoreError> {
        let key = subscription.to18();
        Ok(self
            .store
            .load_values(COMMITTED)?
            .into_iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.parse().ok()))
    }

    /// Records (or with `None`, forgets) the replay id committed for a managed
    /// subscription; durable when this returns.
    pub fn commit_replay_id(
        &self,
        subscription: RecordId,
        replay_id: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.put(
            COMMITTED,
            &subscription.to18(),
            replay_id.map(|r| r.to_string()),
        );
        let _underway = self.underway();
        self.store.commit(&b)
    }
}
