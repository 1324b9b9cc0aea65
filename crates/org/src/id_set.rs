//! Sets of record ids in order, as the committed state keeps them: an object's records,
//! and the records an index key finds. Every record is in several (its object's, one per
//! non-null reference it holds), so what a set costs per id is much of what a record
//! costs. A `BTreeSet` spent about 32 bytes per 15-byte id (nodes of 11 ids, left half
//! full by inserts in increasing order, which is how ids are made). Here ids are kept in
//! sorted chunks of up to [`CHUNK`]: an id past the last goes at the end of the last chunk,
//! so sets grown in id order are made of full chunks; an id inside a full chunk splits it.
//! A set of one id keeps it inline (most index keys of a child's parent hold few).

use crate::id::RecordId;

/// Ids per chunk, at most.
const CHUNK: usize = 64;

/// Record ids, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IdSet(Repr);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Repr {
    #[default]
    Empty,
    One(RecordId),
    /// Sorted, non-empty chunks, each after the one before.
    Chunks(Vec<Vec<RecordId>>),
}

impl IdSet {
    /// Whether it has no id.
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self.0, Repr::Empty)
    }

    /// Adds `id`; whether it was not there.
    pub(crate) fn insert(&mut self, id: RecordId) -> bool {
        let chunks = match &mut self.0 {
            Repr::Empty => {
                self.0 = Repr::One(id);
                return true;
            }
            Repr::One(one) if *one == id => return false,
            Repr::One(one) => {
                let mut pair = Vec::with_capacity(4);
                pair.extend(if *one < id { [*one, id] } else { [id, *one] });
                self.0 = Repr::Chunks(vec![pair]);
                return true;
            }
            Repr::Chunks(chunks) => chunks,
        };
        // The first chunk whose last id is not below `id`, else the last chunk.
        let c = chunks
            .partition_point(|ch| ch[ch.len() - 1] < id)
            .min(chunks.len() - 1);
        let last = c == chunks.len() - 1;
        let chunk = &mut chunks[c];
        let at = match chunk.binary_search(&id) {
            Ok(_) => return false,
            Err(at) => at,
        };
        if chunk.len() < CHUNK {
            chunk.insert(at, id);
        } else if at == CHUNK && last {
            // Past the end: a new chunk, which the ids after it will fill.
            let mut next = Vec::with_capacity(CHUNK);
            next.push(id);
            chunks.push(next);
        } else {
            let mut upper = Vec::with_capacity(CHUNK);
            upper.extend(chunk.drain(CHUNK / 2..));
            if at <= CHUNK / 2 {
                chunk.insert(at, id);
            } else {
                upper.insert(at - CHUNK / 2, id);
            }
            chunks.insert(c + 1, upper);
        }
        true
    }

    /// Removes `id`; whether it was there.
    pub(crate) fn remove(&mut self, id: &RecordId) -> bool {
        let chunks = match &mut self.0 {
            Repr::Empty => return false,
            Repr::One(one) => {
                if one != id {
                    return false;
                }
                self.0 = Repr::Empty;
                return true;
            }
            Repr::Chunks(chunks) => chunks,
        };
        let c = chunks.partition_point(|ch| ch[ch.len() - 1] < *id);
        let Some(chunk) = chunks.get_mut(c) else {
            return false;
        };
        let Ok(at) = chunk.binary_search(id) else {
            return false;
        };
        chunk.remove(at);
        let left = chunk.len();
        if left == 0 {
            chunks.remove(c);
        } else if c + 1 < chunks.len() && left + chunks[c + 1].len() <= CHUNK / 2 {
            // Two small neighbours become one, so a set emptied in the middle stays dense.
            let next = chunks.remove(c + 1);
            chunks[c].extend(next);
        }
        match chunks.as_slice() {
            [] => self.0 = Repr::Empty,
            [only] if only.len() == 1 => self.0 = Repr::One(only[0]),
            _ => {}
        }
        true
    }

    /// The ids in order.
    pub(crate) fn iter(&self) -> Iter<'_> {
        let (one, chunks): (&[RecordId], &[Vec<RecordId>]) = match &self.0 {
            Repr::Empty => (&[], &[]),
            Repr::One(id) => (std::slice::from_ref(id), &[]),
            Repr::Chunks(chunks) => (&[], chunks),
        };
        one.iter().chain(chunks.iter().flatten())
    }
}

/// The ids of an [`IdSet`], in order.
pub(crate) type Iter<'a> = std::iter::Chain<
    std::slice::Iter<'a, RecordId>,
    std::iter::Flatten<std::slice::Iter<'a, Vec<RecordId>>>,
>;

impl<'a> IntoIterator for &'a IdSet {
    type Item = &'a RecordId;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    fn id(n: u32) -> RecordId {
        RecordId::parse(&format!("001{n:012}")).unwrap()
    }

    #[test]
    fn ids_made_in_order_fill_whole_chunks() {
        let mut set = IdSet::default();
        for n in 0..1000 {
            assert!(set.insert(id(n)));
        }
        let Repr::Chunks(chunks) = &set.0 else {
            panic!("many ids are kept in chunks")
        };
        assert_eq!(chunks.len(), 1000usize.div_ceil(CHUNK));
        assert!(chunks[..chunks.len() - 1].iter().all(|c| c.len() == CHUNK));
        assert!(set.iter().copied().eq((0..1000).map(id)));
    }

    proptest! {
        /// Against a `BTreeSet`: the same answers, the same order, at every step.
        #[test]
        fn behaves_as_an_ordered_set(ops in proptest::collection::vec((any::<bool>(), 0u32..400), 0..1500)) {
            let mut model = BTreeSet::new();
            let mut set = IdSet::default();
            for (add, n) in ops {
                if add {
                    prop_assert_eq!(set.insert(id(n)), model.insert(id(n)));
                } else {
                    prop_assert_eq!(set.remove(&id(n)), model.remove(&id(n)));
                }
                prop_assert_eq!(set.is_empty(), model.is_empty());
                prop_assert!(set.iter().eq(model.iter()));
                if let Repr::Chunks(chunks) = &set.0 {
                    prop_assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= CHUNK));
                }
            }
        }
    }
}
