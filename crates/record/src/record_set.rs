//! The committed records of an org, found by id. A set of records hashed by their id
//! rather than a map from id to record: every record of the org is kept, and a map keeps
//! each id twice (its key, and the record's own).
//!
//! The set is split into `SHARDS` tables by a hash of the id, each growing on its own.
//! One table doubled all at once, under the org's lock: the insert that took a set of
//! records past 917,504 moved every one of them into a new 128 MB table while the old
//! 64 MB one was still held, 70 ms (the worst of a million inserts, a release build of
//! the set alone); a shard doubles a sixty-fourth of that (worst 1.4 ms). The million
//! inserts take the same 0.4 s in all.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash, Hasher};

use crate::id::RecordId;
use crate::record::Record;

/// Tables the records are split into.
const SHARDS: usize = 64;

/// Records by id.
#[derive(Debug)]
pub struct RecordSet(Box<[crate::FastSet<ById>]>);

impl Default for RecordSet {
    fn default() -> Self {
        RecordSet((0..SHARDS).map(|_| Default::default()).collect())
    }
}

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

/// The shard of `id`: a hash of its own, fixed, so the shards' tables (each seeded at
/// random) do not place a shard's ids alike.
fn shard(id: &RecordId) -> usize {
    let h = foldhash::fast::FixedState::with_seed(0x5eed).hash_one(id);
    (h >> 40) as usize % SHARDS
}

impl RecordSet {
    fn of(&self, id: &RecordId) -> &crate::FastSet<ById> {
        &self.0[shard(id)]
    }

    /// The record of `id`.
    pub fn get(&self, id: &RecordId) -> Option<&Record> {
        self.of(id).get(id).map(|r| &r.0)
    }

    /// Whether there is a record of `id`.
    pub fn contains_key(&self, id: &RecordId) -> bool {
        self.of(id).contains(id)
    }

    /// Keeps `r`, in place of the record of its id; that record.
    pub fn insert(&mut self, r: Record) -> Option<Record> {
        self.0[shard(&r.id)].replace(ById(r)).map(|r| r.0)
    }

    /// Removes the record of `id`; that record.
    pub fn remove(&mut self, id: &RecordId) -> Option<Record> {
        self.0[shard(id)].take(id).map(|r| r.0)
    }

    /// Every record, in no order.
    pub fn values(&self) -> impl Iterator<Item = &Record> {
        self.0.iter().flatten().map(|r| &r.0)
    }

    /// Every id, in no order.
    pub fn keys(&self) -> impl Iterator<Item = &RecordId> {
        self.values().map(|r| &r.id)
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

    /// Ids made one after another spread over every shard, and each is found again.
    #[test]
    fn many_records_spread_over_the_shards() {
        let mut set = RecordSet::default();
        let ids: Vec<RecordId> = (1..=5_000).map(|n| RecordId::mint("001", n)).collect();
        for id in &ids {
            set.insert(record(&id.to18(), "r"));
        }
        assert!(set.0.iter().all(|s| (40..120).contains(&s.len())));
        assert!(
            ids.iter()
                .all(|id| set.get(id).is_some_and(|r| r.id == *id))
        );
        assert_eq!(set.values().count(), 5_000);
        assert!(set.remove(&ids[17]).is_some() && !set.contains_key(&ids[17]));
    }
}
