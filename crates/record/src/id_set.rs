//! Sets of record ids in order, as the committed state keeps them: an object's records,
//! and the records an index key finds. Every record is in several (its object's, one per
//! non-null reference it holds), so what a set costs per id is much of what a record
//! costs: a `BTreeSet` spent about 32 bytes per 15-byte id (nodes of 11 ids, left half
//! full by inserts in increasing order, which is how ids are made).
//!
//! Here an id is a number ([`RecordId::to_number`]: ids in order are numbers in order),
//! and ids are kept in sorted chunks of up to `CHUNK`, each the varint of its first id
//! and then the varint distance of each id from the one before. Ids made one after another
//! are a byte apiece. An id past the last goes at the end of the last chunk, so a set grown
//! in id order is made of full chunks; an id inside a full chunk splits it; neighbours
//! merge as they empty. A set of one id keeps it inline (most index keys of a child's
//! parent hold few).

use crate::id::RecordId;
use crate::varint::{get as varint, put as put_varint};

/// Ids per chunk, at most.
const CHUNK: usize = 64;

/// Record ids, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdSet(Repr);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Repr {
    #[default]
    Empty,
    One(RecordId),
    /// Non-empty chunks, each after the one before.
    Chunks(Vec<Chunk>),
}

/// Up to [`CHUNK`] ids in order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Chunk {
    first: u128,
    last: u128,
    len: u16,
    /// The varint of `first`, then of each id's distance from the one before.
    bytes: Vec<u8>,
}

impl Chunk {
    fn of(ids: &[u128]) -> Self {
        let mut bytes = Vec::with_capacity(ids.len() + 12);
        let mut before = 0;
        for &n in ids {
            put_varint(&mut bytes, n - before);
            before = n;
        }
        bytes.shrink_to_fit();
        Self {
            first: ids[0],
            last: ids[ids.len() - 1],
            len: ids.len() as u16,
            bytes,
        }
    }

    /// Its ids, into `out`.
    fn numbers(&self, out: &mut Vec<u128>) {
        out.clear();
        let (mut at, mut n) = (0, 0);
        while at < self.bytes.len() {
            n += varint(&self.bytes, &mut at);
            out.push(n);
        }
    }

    /// Adds `n`, past its last id.
    fn push(&mut self, n: u128) {
        put_varint(&mut self.bytes, n - self.last);
        self.last = n;
        self.len += 1;
        if usize::from(self.len) == CHUNK {
            self.bytes.shrink_to_fit();
        }
    }
}

impl IdSet {
    /// Whether it has no id.
    pub fn is_empty(&self) -> bool {
        matches!(self.0, Repr::Empty)
    }

    /// Adds `id`; whether it was not there.
    pub fn insert(&mut self, id: RecordId) -> bool {
        let chunks = match &mut self.0 {
            Repr::Empty => {
                self.0 = Repr::One(id);
                return true;
            }
            Repr::One(one) if *one == id => return false,
            Repr::One(one) => {
                let (a, b) = (one.to_number(), id.to_number());
                self.0 = Repr::Chunks(vec![Chunk::of(&[a.min(b), a.max(b)])]);
                return true;
            }
            Repr::Chunks(chunks) => chunks,
        };
        let n = id.to_number();
        let end = chunks.len() - 1;
        if n > chunks[end].last {
            // Past the end, how ids are made: no chunk to take apart.
            if usize::from(chunks[end].len) < CHUNK {
                chunks[end].push(n);
            } else {
                chunks.push(Chunk::of(&[n]));
            }
            return true;
        }
        // The first chunk whose last id is not below `n`.
        let c = chunks.partition_point(|ch| ch.last < n);
        let mut ids = Vec::with_capacity(CHUNK + 1);
        chunks[c].numbers(&mut ids);
        match ids.binary_search(&n) {
            Ok(_) => return false,
            Err(at) => ids.insert(at, n),
        }
        if ids.len() <= CHUNK {
            chunks[c] = Chunk::of(&ids);
        } else {
            chunks[c] = Chunk::of(&ids[..CHUNK / 2]);
            chunks.insert(c + 1, Chunk::of(&ids[CHUNK / 2..]));
        }
        true
    }

    /// Removes `id`; whether it was there.
    pub fn remove(&mut self, id: &RecordId) -> bool {
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
        let n = id.to_number();
        let c = chunks.partition_point(|ch| ch.last < n);
        if chunks.get(c).is_none_or(|ch| ch.first > n) {
            return false;
        }
        let mut ids = Vec::with_capacity(CHUNK);
        chunks[c].numbers(&mut ids);
        let Ok(at) = ids.binary_search(&n) else {
            return false;
        };
        ids.remove(at);
        if ids.is_empty() {
            chunks.remove(c);
        } else if c + 1 < chunks.len() && ids.len() + usize::from(chunks[c + 1].len) <= CHUNK / 2 {
            // Two small neighbours become one, so a set emptied in the middle stays dense.
            let mut next = Vec::with_capacity(CHUNK);
            chunks[c + 1].numbers(&mut next);
            ids.extend(next);
            chunks[c] = Chunk::of(&ids);
            chunks.remove(c + 1);
        } else {
            chunks[c] = Chunk::of(&ids);
        }
        match chunks.as_slice() {
            [] => self.0 = Repr::Empty,
            [only] if only.len == 1 => self.0 = Repr::One(RecordId::from_number(only.first)),
            _ => {}
        }
        true
    }

    /// The ids in order.
    pub fn iter(&self) -> Iter<'_> {
        match &self.0 {
            Repr::Empty => Iter::default(),
            Repr::One(id) => Iter {
                one: Some(*id),
                ..Iter::default()
            },
            Repr::Chunks(chunks) => Iter {
                chunks,
                ..Iter::default()
            },
        }
    }
}

/// The ids of an [`IdSet`], in order.
#[derive(Debug, Default, Clone)]
pub struct Iter<'a> {
    one: Option<RecordId>,
    chunks: &'a [Chunk],
    /// Where in the first of `chunks` the next id is, and the id before it.
    at: usize,
    before: u128,
}

impl Iterator for Iter<'_> {
    type Item = RecordId;

    fn next(&mut self) -> Option<RecordId> {
        if let Some(id) = self.one.take() {
            return Some(id);
        }
        let chunk = self.chunks.first()?;
        if self.at == 0 {
            self.before = 0;
        }
        self.before += varint(&chunk.bytes, &mut self.at);
        if self.at == chunk.bytes.len() {
            self.chunks = &self.chunks[1..];
            self.at = 0;
        }
        Some(RecordId::from_number(self.before))
    }
}

impl<'a> IntoIterator for &'a IdSet {
    type Item = RecordId;
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
        RecordId::mint("001", u64::from(n))
    }

    #[test]
    fn ids_made_in_order_fill_whole_chunks_of_a_byte_an_id() {
        let mut set = IdSet::default();
        for n in 0..1000 {
            assert!(set.insert(id(n)));
        }
        let Repr::Chunks(chunks) = &set.0 else {
            panic!("many ids are kept in chunks")
        };
        assert_eq!(chunks.len(), 1000usize.div_ceil(CHUNK));
        assert!(
            chunks[..chunks.len() - 1]
                .iter()
                .all(|c| usize::from(c.len) == CHUNK)
        );
        assert!(
            chunks[1].bytes.len() < CHUNK + 16,
            "{}",
            chunks[1].bytes.len()
        );
        assert!(set.iter().eq((0..1000).map(id)));
    }

    proptest! {
        /// Against a `BTreeSet`: the same answers, the same order, at every step.
        #[test]
        fn behaves_as_an_ordered_set(ops in proptest::collection::vec((any::<bool>(), 0u32..400), 0..1500)) {
            let mut model = BTreeSet::new();
            let mut set = IdSet::default();
            for (add, n) in ops {
                // Ids far apart as well as neighbours: some distances take many bytes.
                let id = if n % 3 == 0 { id(n * 1_000_003) } else { id(n) };
                if add {
                    prop_assert_eq!(set.insert(id), model.insert(id));
                } else {
                    prop_assert_eq!(set.remove(&id), model.remove(&id));
                }
                prop_assert_eq!(set.is_empty(), model.is_empty());
                prop_assert!(set.iter().eq(model.iter().copied()));
                if let Repr::Chunks(chunks) = &set.0 {
                    prop_assert!(chunks.iter().all(|c| c.len > 0 && usize::from(c.len) <= CHUNK));
                }
            }
        }
    }
}
