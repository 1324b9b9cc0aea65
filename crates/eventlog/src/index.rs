//! The index of retained events, oldest first: each event's replay id, class, append time
//! and payload size in 12 bytes rather than the 24 of a plain [`Meta`]. Events are kept in
//! blocks of up to [`BLOCK`] that share a base replay id and a base time; each entry holds
//! its offsets from them (an event too far from its block's base starts a block of its
//! own). A log retaining a million events holds 12 MB here, not 24 (48 with a `VecDeque`'s
//! doubling).

use std::collections::VecDeque;

use crate::{Meta, RetentionClass};

/// Entries per block at most.
const BLOCK: usize = 4096;
/// The widest time offset an entry holds, either way (23 bits of milliseconds: 2.3 hours).
const TIME_SPAN: i64 = (1 << 23) - 1;

/// The retained events' index.
#[derive(Debug, Default)]
pub(crate) struct Index {
    blocks: VecDeque<Block>,
    len: usize,
}

#[derive(Debug)]
struct Block {
    base_id: u64,
    base_time: i64,
    entries: Vec<Entry>,
}

/// One event: its id past the block's base, its size, and its class with its time offset
/// (class in the low 8 bits, the signed offset above).
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: u32,
    size: u32,
    class_time: u32,
}

impl Block {
    fn new(m: Meta) -> Self {
        let mut entries = Vec::with_capacity(64);
        entries.push(Entry {
            id: 0,
            size: m.size,
            class_time: u32::from(m.class),
        });
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

    fn first_id(&self) -> u64 {
        self.base_id + u64::from(self.entries[0].id)
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
        match (entry, self.blocks.back_mut()) {
            (Some(e), Some(b)) => b.entries.push(e),
            _ => {
                if let Some(b) = self.blocks.back_mut() {
                    b.entries.shrink_to_fit();
                }
                self.blocks.push_back(Block::new(m));
            }
        }
        self.len += 1;
    }

    pub(crate) fn front(&self) -> Option<Meta> {
        let b = self.blocks.front()?;
        Some(b.meta(b.entries[0]))
    }

    pub(crate) fn back(&self) -> Option<Meta> {
        let b = self.blocks.back()?;
        Some(b.meta(*b.entries.last()?))
    }

    /// Every event, oldest first.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = Meta> + '_ {
        self.blocks
            .iter()
            .flat_map(|b| b.entries.iter().map(|e| b.meta(*e)))
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
                b.entries[from..].iter().map(|e| b.meta(*e))
            })
    }

    /// The `n`th event, oldest first.
    pub(crate) fn get(&self, mut n: usize) -> Option<Meta> {
        for b in &self.blocks {
            match b.entries.get(n) {
                Some(e) => return Some(b.meta(*e)),
                None => n -= b.entries.len(),
            }
        }
        None
    }

    /// Keeps the events `keep` says to, in place (entries keep their block's base).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Meta) -> bool) {
        for b in &mut self.blocks {
            let (base_id, base_time) = (b.base_id, b.base_time);
            b.entries.retain(|e| keep(&decode(base_id, base_time, *e)));
        }
        self.blocks.retain(|b| !b.entries.is_empty());
        self.len = self.blocks.iter().map(|b| b.entries.len()).sum();
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
        // Gaps in ids (burnt ones), times going back and far forward, sizes of any width.
        prop::collection::vec(
            (
                prop_oneof![Just(1u64), 1u64..5, Just(1u64 << 33)],
                prop_oneof![
                    Just(0i64),
                    -5_000i64..5_000,
                    Just(TIME_SPAN + 1),
                    Just(-TIME_SPAN - 7)
                ],
                any::<u32>(),
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
            let keep = |m: &Meta| !m.replay_id.is_multiple_of(keep_mod) || m.class == 3;
            index.retain(keep);
            plain.retain(keep);
            check(&index, &plain)?;
            // Appends after a removal join the last block, or start one.
            let next = plain.back().map_or(1, |m| m.replay_id + 1);
            let m = Meta { replay_id: next, class: 1, time_ms: 5, size: 9 };
            index.push_back(m);
            plain.push_back(m);
            check(&index, &plain)?;
        }
    }
}
