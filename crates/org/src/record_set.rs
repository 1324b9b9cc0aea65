//! The committed records of an org, found by id. A set of records hashed by their id
//! rather than a map from id to record: every record of the org is kept, and a map keeps
//! each id twice (its key, and the record's own).

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

use crate::id::RecordId;
use crate::record::Record;

/// Records by id.
#[derive(Debug, Default)]
pub(crate) struct RecordSet(crate::FastSet<ById>);

/// A record, hashed and compared by its id alone.
#[derive(Debug)]
struct ById(Record);

impl Hash for ById {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // As the id hashes, so lookups by id find it.
        self.0.id.hash(h);
    }
}

impl PartialEq for ById {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}

impl Eq for ById {}

impl Borrow<RecordId> for ById {
    fn borrow(&self) -> &RecordId {
        &self.0.id
    }
}

impl RecordSet {
    /// The record of `id`.
    pub(crate) fn get(&self, id: &RecordId) -> Option<&Record> {
        self.0.get(id).map(|r| &r.0)
    }

    /// Whether there is a record of `id`.
    pub(crate) fn contains_key(&self, id: &RecordId) -> bool {
        self.0.contains(id)
    }

    /// Keeps `r`, in place of the record of its id; that record.
    pub(crate) fn insert(&mut self, r: Record) -> Option<Record> {
        self.0.replace(ById(r)).map(|r| r.0)
    }

    /// Removes the record of `id`; that record.
    pub(crate) fn remove(&mut self, id: &RecordId) -> Option<Record> {
        self.0.take(id).map(|r| r.0)
    }

    /// Every record, in no order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Record> {
        self.0.iter().map(|r| &r.0)
    }

    /// Every id, in no order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &RecordId> {
        self.0.iter().map(|r| &r.0.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::Fields;

    fn record(id: &str, name: &str) -> Record {
        let mut fields = Fields::new();
        fields.set("Name", name.into());
        Record {
            id: RecordId::parse(id).unwrap(),
            object: "Account".into(),
            fields,
            is_deleted: false,
            deleted: None,
        }
    }

    #[test]
    fn finds_replaces_and_removes_by_id() {
        let mut set = RecordSet::default();
        let a = record("001000000000001", "a");
        let b = record("001000000000002", "b");
        assert!(set.insert(a.clone()).is_none());
        assert!(set.insert(b.clone()).is_none());
        assert_eq!(set.get(&a.id), Some(&a));
        let a2 = record("001000000000001", "a2");
        assert_eq!(set.insert(a2.clone()), Some(a.clone()));
        assert_eq!(set.get(&a.id), Some(&a2));
        assert_eq!(set.keys().count(), 2);
        assert_eq!(set.remove(&b.id), Some(b.clone()));
        assert!(!set.contains_key(&b.id) && set.contains_key(&a.id));
        assert_eq!(set.keys().collect::<Vec<_>>(), vec![&a.id]);
    }
}
