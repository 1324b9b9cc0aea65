//! What a schema change did, for the change's own writes: the objects whose change-event
//! schemas it renews, the records it rewrites or removes, the platform event definitions
//! and components it stores.

use std::collections::HashMap;
use std::sync::Arc;

/// What a schema change did, for the change's own writes.
#[derive(Default)]
pub(crate) struct Changed {
    /// Objects whose fields changed (their change-event schemas are renewed).
    pub(crate) objects: Vec<String>,
    /// Records rewritten (a deleted field's values cleared).
    pub(crate) records: Vec<crate::record::Record>,
    /// Platform event definitions made or replaced (stored in the same commit).
    pub(crate) events: Vec<std::sync::Arc<crate::platform::EventDef>>,
    /// Platform events deleted.
    pub(crate) removed_events: Vec<String>,
    /// Objects deleted.
    pub(crate) removed_objects: Vec<String>,
    /// Records removed for good (a deleted object's).
    pub(crate) purged: Vec<crate::id::RecordId>,
    /// Change events a field's conversion publishes (`metadata-tooling.md` §13).
    pub(crate) conversions: Vec<Conversion>,
    /// Metadata components kept (by key) or removed (`None`), in order.
    pub(crate) components: Vec<(String, Option<Arc<crate::components::StoredComponent>>)>,
    /// Where each rewritten record is in `records`.
    rewritten: HashMap<crate::id::RecordId, usize>,
}

impl Changed {
    /// A change to the fields of `objects`, nothing more yet.
    pub(crate) fn of_objects(objects: Vec<String>) -> Self {
        Self {
            objects,
            ..Self::default()
        }
    }

    /// The change's copy of `r`, made on first use, for it to edit: a record two steps
    /// of one change rewrite (two fields deleted by one deploy) is written once.
    pub(crate) fn rewrite(&mut self, r: &crate::record::Record) -> &mut crate::record::Record {
        let at = *self.rewritten.entry(r.id).or_insert_with(|| {
            self.records.push(r.clone());
            self.records.len() - 1
        });
        &mut self.records[at]
    }
}

/// The change events of a field's conversion: `GAP_UPDATE` with the records whose values
/// it changed.
pub(crate) struct Conversion {
    pub(crate) object: String,
    pub(crate) change_type: &'static str,
    pub(crate) ids: Vec<String>,
}
