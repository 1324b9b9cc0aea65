//! The results of the Metadata API's asynchronous calls (deploys, retrieves), kept by id
//! until polled.

use forcebus_sync::prelude::*;

/// Finished asynchronous calls (deploys, retrieves) by id (`prefix` and a counter), the
/// oldest dropped past `max`; they are answered whole at the first poll.
#[derive(Debug)]
pub(super) struct AsyncResults<T> {
    prefix: &'static str,
    max: usize,
    state: std::sync::Mutex<(std::collections::BTreeMap<String, T>, u64)>,
}

impl<T: Clone> AsyncResults<T> {
    /// Results with ids `prefix…`, at most `max` kept.
    pub(super) fn new(prefix: &'static str, max: usize) -> Self {
        Self {
            prefix,
            max,
            state: std::sync::Mutex::default(),
        }
    }

    /// Keeps the result `make` builds for its new id; the id.
    /// The id is in `org`'s range: no other org's result has it.
    pub(crate) fn keep(&self, org: &forcebus_org::Org, make: impl FnOnce(&str) -> T) -> String {
        let mut state = self.state.locked();
        state.1 += 1;
        // Ids grow with the counter, so the first key is the oldest.
        let id = org.mint(self.prefix, state.1).to18();
        let result = make(&id);
        state.0.insert(id.clone(), result);
        while state.0.len() > self.max {
            state.0.pop_first();
        }
        id
    }

    /// The result of `id` (15 or 18 characters).
    pub(crate) fn get(&self, id: &str) -> Option<T> {
        let id = forcebus_org::RecordId::parse(id)?.to18();
        let state = self.state.locked();
        state.0.get(&id).cloned()
    }
}
