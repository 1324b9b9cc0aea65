//! The set of an org's platform event definitions, and how each is stored (with its key
//! prefix) in the store's `platform_events` space.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{EventConfig, EventDef};

/// Where definitions are stored.
pub(crate) const DEFINITIONS: &str = "platform_events";

/// The definitions of an org, by lower-case name.
#[derive(Debug, Default, Clone)]
pub(crate) struct Registry {
    pub(crate) defs: BTreeMap<String, Arc<EventDef>>,
}

impl Registry {
    pub(crate) fn get(&self, name: &str) -> Option<&Arc<EventDef>> {
        self.defs.get(&name.to_ascii_lowercase())
    }

    /// The next free key prefix `e00`..`e0z`, `e10`...
    pub(crate) fn next_prefix(&self) -> Option<String> {
        const B36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        (0..36 * 36)
            .map(|i| format!("e{}{}", B36[i / 36] as char, B36[i % 36] as char))
            .find(|p| !self.defs.values().any(|d| &d.object.key_prefix == p))
    }
}

/// What the store keeps per definition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Persisted {
    pub(crate) prefix: String,
    pub(crate) config: EventConfig,
}
