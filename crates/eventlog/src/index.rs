//! The index of retained events, oldest first: each event's replay id, class, append time
//! and payload size in 8 bytes rather than the 24 of a plain [`Meta`]. Events are kept in
//! blocks of up to [`BLOCK`] that share a base replay id and a base time; each entry holds
//! its offsets from them (an event too far from its block's base starts a block of its
//! own). A log retaining a million events holds 8 MB here, not 24 (48 with a `VecDeque`'s
//! doubling).
//!
//! An entry is 8 bytes while its id is within 4,096 of its block's base and its payload
//! under 1 MiB ([`Narrow`]). A block begun by a larger event keeps 12 bytes an entry
//! ([`Entry`]) until it is full: a log of such events spends little on its index either way.

use std::collections::{BTreeMap, VecDeque};

use crate::{Meta, RetentionClass};

/// Entries per block at most.
const BLOCK: usize = 4096;
/// The widest time offset an entry holds, either way (23 bits of milliseconds: 2.3 hours).
const TIME_SPAN: i64 = (1 << 23) - 1;
/// Bits of a narrow entry's id offset: every id of a full block of consecutive ids fits.
const NARROW_ID_BITS: u32 = 12;
/// Payload sizes a narrow entry holds are below this (1 MiB: a platform event's limit).
const NARROW_SIZE: u32 = 1 << (32 - NARROW_ID_BITS);

/// The retained events' index.
#[derive(Debug, Default)]
pub(crate) struct Index {
    blocks: VecDeque<Block>,
    len: usize,
    /// How many events of each class it holds (classes holding none are left out).
    classes: BTreeMap<RetentionClass, usize>,
}

#[derive(Debug)]
struct Block {
    base_id: u64,
    base_time: i64,
    entries: Entries,
}

/// One event: its id past the block's base, its size, and its class with its time offset
/// (class in the low 8 bits, the signed offset above).
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: u32,
    size: u32,
    class_time: u32,
}

/// An [`Entry`] in 8 bytes: its id offset in the low [`NARROW_ID_BITS`] of `id_size`, its
/// size above them.
#[derive(Debug, Clone, Copy)]
struct Narrow {
    id_size: u32,
    class_time: u32,
}

impl Narrow {
    fn of(e: Entry) -> Option<Self> {
        (e.id < 1 << NARROW_ID_BITS && e.size < NARROW_SIZE).then_some(Self {
            id_size: e.id | e.size << NARROW_ID_BITS,
            class_time: e.class_time,
        })
    }

    fn entry(self) -> Entry {
        Entry {
            id: self.id_size & ((1 << NARROW_ID_BITS) - 1),
            size: self.id_size >> NARROW_ID_BITS,
            class_time: self.class_time,
        }
    }
}

/// A block's entries: narrow unless its first event's size needs the wide form.
#[derive(Debug)]
enum Entries {
    Narrow(Vec<Narrow>),
    Wide(Vec<Entry>),
}

impl Entries {
    fn len(&self) -> usize {
        match self {
            Self::Narrow(v) => v.len(),
            Self::Wide(v) => v.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get(&self, i: usize) -> Option<Entry> {
        match self {
            Self::Narrow(v) => v.get(i).map(|n| n.entry()),
            Self::Wide(v) => v.get(i).copied(),
        }
    }

    fn last(&self) -> Option<Entry> {
        self.get(self.len().checked_sub(1)?)
    }

    /// Adds `e` if this block's form holds it.
    fn push(&mut self, e: Entry) -> bool {
        match self {
            Self::Narrow(v) => Narrow::of(e).map(|n| v.push(n)).is_some(),
            Self::Wide(v) => {
                v.push(e);
                true
            }
        }
    }

    fn iter_from(&self, from: usize) -> impl DoubleEndedIterator<Item = Entry> + '_ {
        (from.min(self.len())..self.len()).filter_map(|i| self.get(i))
    }

    /// The number of leading entries for which `before` holds (they must come first).
    fn partition_point(&self, before: impl Fn(Entry) -> bool) -> usize {
        match self {
            Self::Narrow(v) => v.partition_point(|n| before(n.entry())),
            Self::Wide(v) => v.partition_point(|e| before(*e)),
        }
    }

    fn retain(&mut self, mut keep: impl FnMut(Entry) -> bool) {
        match self {
            Self::Narrow(v) => v.retain(|n| keep(n.entry())),
            Self::Wide(v) => v.retain(|e| keep(*e)),
        }
    }

    fn shrink_to_fit(&mut self) {
        match self {
            Self::Narrow(v) => v.shrink_to_fit(),
            Self::Wide(v) => v.shrink_to_fit(),
        }
    }
}

impl Block {
    fn new(m: Meta) -> Self {
        let first = Entry {
            id: 0,
            size: m.size,
            class_time: u32::from(m.class),
        };
        let mut entries = match Narrow::of(first) {
            Some(_) => Entries::Narrow(Vec::with_capacity(64)),
            None => Entries::Wide(Vec::with_capacity(64)),
        };
        entries.push(first);
        Self {
            base_id: m.replay_id,
            base_time: m.time_ms,
            entries,
        }
    }

    /// `m` as an entry of this block, if it fits.
    fn entry(&self, m: Meta) -> Option<Entry> {
        if self.entries.len() >= BLOCK {
            return None;
        }
        let id = u32::try_from(m.replay_id.checked_sub(self.base_id)?).ok()?;
        let time = m.time_ms.checked_sub(self.base_time)?;
        if !(-TIME_SPAN..=TIME_SPAN).contains(&time) {
            return None;
        }
        // Two's complement in the top 24 bits.
        let time = (time as i32 as u32) << 8;
        Some(Entry {
            id,
            size: m.size,
            class_time: time | u32::from(m.class),
        })
    }

    fn meta(&self, e: Entry) -> Meta {
        decode(self.base_id, self.base_time, e)
    }

    fn metas_from(&self, from: usize) -> impl DoubleEndedIterator<Item = Meta> + '_ {
        self.entries.iter_from(from).map(|e| self.meta(e))
    }

    fn first_id(&self) -> u64 {
        self.entries
            .get(0)
            .map_or(self.base_id, |e| self.base_id + u64::from(e.id))
    }
}

/// An entry of the block based at `base_id` and `base_time`.
fn decode(base_id: u64, base_time: i64, e: Entry) -> Meta {
    Meta {
        replay_id: base_id + u64::from(e.id),
        class: (e.class_time & 0xff) as RetentionClass,
        time_ms: base_time + i64::from((e.class_time as i32) >> 8),
        size: e.size,
    }
}

impl Index {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Adds the newest event (its replay id above every other's).
    pub(crate) fn push_back(&mut self, m: Meta) {
        let entry = self.blocks.back().and_then(|b| b.entry(m));
        let pushed = match (entry, self.blocks.back_mut()) {
            (Some(e), Some(b)) => b.entries.push(e),
            _ => false,
        };
        if !pushed {
            if let Some(b) = self.blocks.back_mut() {
                b.entries.shrink_to_fit();
            }
            self.blocks.push_back(Block::new(m));
        }
        self.len += 1;
        *self.classes.entry(m.class).or_default() += 1;
    }

    /// How many classes it holds events of.
    pub(crate) fn classes(&self) -> usize {
        self.classes.len()
    }

    pub(crate) fn front(&self) -> Option<Meta> {
        let b = self.blocks.front()?;
        Some(b.meta(b.entries.get(0)?))
    }

    pub(crate) fn back(&self) -> Option<Meta> {
        let b = self.blocks.back()?;
        Some(b.meta(b.entries.last()?))
    }

    /// Every event, oldest first.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = Meta> + '_ {
        self.blocks.iter().flat_map(|b| b.metas_from(0))
    }

    /// The events from the first whose replay id is above `id` on (found by binary search
    /// over the blocks, then within one).
    pub(crate) fn after(&self, id: u64) -> impl Iterator<Item = Meta> + '_ {
        let first = self
            .blocks
            .partition_point(|b| b.first_id() <= id)
            .saturating_sub(1);
        let skip = self.blocks.get(first).map_or(0, |b| {
            b.entries
                .partition_point(|e| b.base_id + u64::from(e.id) <= id)
        });
        self.blocks
            .range(first..)
            .enumerate()
            .flat_map(move |(i, b)| {
                let from = if i == 0 { skip } else { 0 };
                b.metas_from(from)
            })
    }

    /// The `n`th event, oldest first.
    pub(crate) fn get(&self, mut n: usize) -> Option<Meta> {
        for b in &self.blocks {
            match b.entries.get(n) {
                Some(e) => return Some(b.meta(e)),
                None => n -= b.entries.len(),
            }
        }
        None
    }

    /// Removes every event of each class of `through` up to and including its replay id;
    /// answers their payload bytes. Only the blocks that begin at or below the highest of
    /// those ids are looked at: a step of retention touches the oldest few blocks, not a
    /// million events.
    pub(crate) fn remove_through(&mut self, through: &BTreeMap<RetentionClass, u64>) -> u64 {
        let Some(highest) = through.values().max().copied() else {
            return 0;
        };
        let (mut freed, mut removed) = (0u64, 0usize);
        let mut emptied = 0;
        for b in &mut self.blocks {
            if b.first_id() > highest {
                break;
            }
            let (base_id, base_time) = (b.base_id, b.base_time);
            b.entries.retain(|e| {
                let m = decode(base_id, base_time, e);
                let goes = through.get(&m.class).is_some_and(|t| m.replay_id <= *t);
                if goes {
                    freed += u64::from(m.size);
                    removed += 1;
                    if let Some(n) = self.classes.get_mut(&m.class) {
                        *n -= 1;
                    }
                }
                !goes
            });
            emptied += usize::from(b.entries.is_empty());
        }
        if emptied > 0 {
            self.blocks.retain(|b| !b.entries.is_empty());
        }
        self.classes.retain(|_, n| *n > 0);
        self.len -= removed;
        freed
    }
}

impl FromIterator<Meta> for Index {
    fn from_iter<I: IntoIterator<Item = Meta>>(iter: I) -> Self {
        let mut index = Index::default();
        for m in iter {
            index.push_back(m);
        }
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn metas() -> impl Strategy<Value = Vec<Meta>> {
        // Gaps in ids (burnt ones, some past a narrow entry's reach), times going back and
        // far forward, sizes of any width (either side of a narrow entry's limit).
        prop::collection::vec(
            (
                prop_oneof![
                    6 => Just(1u64),
                    2 => 1u64..5,
                    1 => Just(4095u64),
                    1 => Just(4096u64),
                    1 => Just(1u64 << 33)
                ],
                prop_oneof![
                    Just(0i64),
                    -5_000i64..5_000,
                    Just(TIME_SPAN + 1),
                    Just(-TIME_SPAN - 7)
                ],
                prop_oneof![
                    4 => 0u32..2000,
                    1 => Just(NARROW_SIZE - 1),
                    1 => Just(NARROW_SIZE),
                    1 => any::<u32>()
                ],
                0u8..4,
            ),
            0..3000,
        )
        .prop_map(|steps| {
            let (mut id, mut time) = (0u64, 1_700_000_000_000i64);
            steps
                .into_iter()
                .map(|(gap, dt, size, class)| {
                    id += gap;
                    time += dt;
                    Meta {
                        replay_id: id,
                        class,
                        time_ms: time,
                        size,
                    }
                })
                .collect()
        })
    }

    fn same(a: &Meta, b: &Meta) -> bool {
        (a.replay_id, a.class, a.time_ms, a.size) == (b.replay_id, b.class, b.time_ms, b.size)
    }

    proptest! {
        #[test]
        fn the_index_reads_back_what_a_plain_list_holds(
            all in metas(),
            probe in any::<u64>(),
            keep_mod in 1u64..5,
        ) {
            let mut index: Index = all.iter().copied().collect();
            let mut plain: VecDeque<Meta> = all.iter().copied().collect();
            let check = |index: &Index, plain: &VecDeque<Meta>| -> Result<(), TestCaseError> {
                prop_assert_eq!(index.len(), plain.len());
                prop_assert!(index.iter().zip(plain.iter()).all(|(a, b)| same(&a, b)));
                prop_assert_eq!(index.iter().count(), plain.len());
                prop_assert_eq!(index.front().map(|m| m.replay_id), plain.front().map(|m| m.replay_id));
                prop_assert_eq!(index.back().map(|m| m.replay_id), plain.back().map(|m| m.replay_id));
                for at in [0, plain.len() / 2, plain.len().saturating_sub(1), plain.len()] {
                    prop_assert_eq!(index.get(at).map(|m| m.replay_id), plain.get(at).map(|m| m.replay_id));
                }
                let last = plain.back().map_or(0, |m| m.replay_id);
                for id in [0, probe % (last + 2), last / 2, last] {
                    let start = plain.partition_point(|m| m.replay_id <= id);
                    prop_assert!(index.after(id).zip(plain.range(start..)).all(|(a, b)| same(&a, b)));
                    prop_assert_eq!(index.after(id).count(), plain.len() - start);
                }
                Ok(())
            };
            check(&index, &plain)?;
            // A removal of each class's oldest, as retention makes.
            let mut through = BTreeMap::new();
            for m in plain.iter().filter(|m| m.replay_id % (keep_mod + 1) == 0) {
                through.entry(m.class).or_insert(m.replay_id);
            }
            let gone = |m: &Meta| through.get(&m.class).is_some_and(|t| m.replay_id <= *t);
            let freed: u64 = plain.iter().filter(|m| gone(m)).map(|m| u64::from(m.size)).sum();
            prop_assert_eq!(index.remove_through(&through), freed);
            plain.retain(|m| !gone(m));
            check(&index, &plain)?;
            let classes: std::collections::BTreeSet<RetentionClass> =
                plain.iter().map(|m| m.class).collect();
            prop_assert_eq!(index.classes(), classes.len());
            // Appends after a removal join the last block, or start one.
            let next = plain.back().map_or(1, |m| m.replay_id + 1);
            let m = Meta { replay_id: next, class: 1, time_ms: 5, size: 9 };
            index.push_back(m);
            plain.push_back(m);
            check(&index, &plain)?;
        }
    }

    #[test]
    fn small_events_take_eight_bytes_and_a_large_one_its_own_form() {
        assert_eq!(std::mem::size_of::<Narrow>(), 8);
        let meta = |replay_id: u64, size: u32| Meta {
            replay_id,
            class: 1,
            time_ms: 1_700_000_000_000 + replay_id as i64,
            size,
        };
        let mut index: Index = (1..=10_000).map(|id| meta(id, 1_000)).collect();
        assert!(
            index
                .blocks
                .iter()
                .all(|b| matches!(b.entries, Entries::Narrow(_)))
        );
        assert_eq!(index.blocks.len(), 3);
        index.push_back(meta(20_000, NARROW_SIZE));
        index.push_back(meta(20_001, 10));
        let last = index.blocks.back().expect("a block");
        assert!(matches!(last.entries, Entries::Wide(_)));
        assert_eq!(
            index.back().map(|m| (m.replay_id, m.size)),
            Some((20_001, 10))
        );
        assert_eq!(index.get(10_000).map(|m| m.size), Some(NARROW_SIZE));
    }
}
