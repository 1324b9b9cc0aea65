//! A record's field values: a compact map from field name to value, in the order set.
//!
//! The org keeps every record in memory, so a record's map is most of what the org costs.
//! A map is open while it is built or changed: entries of a shared name and a
//! `serde_json::Value` (names are interned, one copy per name and thread; a map of more
//! than `LINEAR` entries keeps a sorted index for lookups, smaller ones are searched in
//! order). The committed state [`Fields::pack`]s every record it keeps: its names become a
//! shape shared with every record of the same names, and its values are packed one after
//! another in one allocation (`packed`). Reads answer [`FieldRef`]s, the same from
//! both forms; a change opens a packed map again.

mod field_ref;
mod packed;

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

pub use field_ref::FieldRef;
use packed::Packed;

/// Entries searched in order; past this many, through the sorted index.
const LINEAR: usize = 16;

/// Names an interner keeps per thread before it starts again (field names are the
/// schemas' own: this bounds only a schema churning through names).
const MAX_NAMES: usize = 65_536;

thread_local! {
    static NAMES: RefCell<crate::FastSet<Arc<str>>> = RefCell::default();
    /// The map a deserialisation gathers entries in before sizing the result.
    static SCRATCH: RefCell<Open> = RefCell::default();
}

/// The shared copy of `name` (field and object names).
pub fn intern(name: &str) -> Arc<str> {
    NAMES.with_borrow_mut(|names| {
        if let Some(n) = names.get(name) {
            return n.clone();
        }
        if names.len() >= MAX_NAMES {
            names.clear();
        }
        let n: Arc<str> = Arc::from(name);
        names.insert(n.clone());
        n
    })
}

/// Field values by canonical name; absent means null.
#[derive(Clone)]
pub struct Fields(Repr);

#[derive(Clone)]
enum Repr {
    Open(Box<Open>),
    Packed(Packed),
}

/// A map being built or changed.
#[derive(Clone, Default)]
struct Open {
    entries: Vec<(Arc<str>, Value)>,
    /// Positions in `entries` ordered by name, when there are more than [`LINEAR`].
    sorted: Vec<u32>,
}

impl Default for Fields {
    fn default() -> Self {
        Fields(Repr::Packed(Packed::default()))
    }
}

impl Fields {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Fields(Repr::Open(Box::new(Open {
            entries: Vec::with_capacity(n),
            sorted: Vec::new(),
        })))
    }

    /// The map, open to change.
    fn open(&mut self) -> &mut Open {
        if let Repr::Packed(p) = &self.0 {
            let mut o = Open {
                entries: p
                    .shape
                    .names
                    .iter()
                    .cloned()
                    .zip(p.values().map(FieldRef::to_value))
                    .collect(),
                sorted: Vec::new(),
            };
            if o.entries.len() > LINEAR {
                o.index();
            }
            self.0 = Repr::Open(Box::new(o));
        }
        match &mut self.0 {
            Repr::Open(o) => o,
            Repr::Packed(_) => unreachable!("opened above"),
        }
    }

    /// Packs the map into one allocation with its names shared (the committed state keeps
    /// every record); reads answer the same. A map holding an array or an object stays
    /// open: no field of a record holds one today, and their text form would not give
    /// every float back exactly (`serde_json` parses floats to within a unit).
    pub fn pack(&mut self) {
        if let Repr::Open(o) = &self.0
            && !o.entries.iter().any(|(_, v)| v.is_array() || v.is_object())
        {
            self.0 = Repr::Packed(Packed::new(o.entries.iter().map(|(n, v)| (n, v))));
        }
    }

    /// Entries.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Open(o) => o.entries.len(),
            Repr::Packed(p) => p.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<FieldRef<'_>> {
        match &self.0 {
            Repr::Open(o) => o.find(name).ok().map(|i| FieldRef::of(&o.entries[i].1)),
            Repr::Packed(p) => p.shape.find(name).map(|i| p.value(i)),
        }
    }

    /// The value of `name`, to change.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        let o = self.open();
        o.find(name).ok().map(|i| &mut o.entries[i].1)
    }

    /// Whether `name` has an entry (null included).
    pub fn contains_key(&self, name: &str) -> bool {
        match &self.0 {
            Repr::Open(o) => o.find(name).is_ok(),
            Repr::Packed(p) => p.shape.find(name).is_some(),
        }
    }

    /// Sets `name`, keeping its place if it was set; the value it had.
    pub fn insert(&mut self, name: String, value: Value) -> Option<Value> {
        self.set(&name, value)
    }

    /// [`Fields::insert`] by reference.
    pub fn set(&mut self, name: &str, value: Value) -> Option<Value> {
        self.open().set(name, value)
    }

    /// Removes `name`; the value it had. The others keep their order.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        if !self.contains_key(name) {
            return None;
        }
        self.open().remove(name)
    }

    /// Keeps the entries `keep` says to.
    pub fn retain(&mut self, keep: impl FnMut(&str, &mut Value) -> bool) {
        self.open().retain(keep);
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Entries in the order set.
    pub fn iter(&self) -> Iter<'_> {
        Iter(match &self.0 {
            Repr::Open(o) => IterRepr::Open(o.entries.iter()),
            Repr::Packed(p) => IterRepr::Packed(p.shape.names.iter(), p.values()),
        })
    }

    /// Entries in the order set, values to change.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Value)> {
        self.open().entries.iter_mut().map(|(n, v)| (&**n, v))
    }

    /// Names in the order set.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        let (open, packed) = match &self.0 {
            Repr::Open(o) => (&o.entries[..], &[][..]),
            Repr::Packed(p) => (&[][..], &p.shape.names[..]),
        };
        open.iter()
            .map(|(n, _)| &**n)
            .chain(packed.iter().map(|n| &**n))
    }

    /// Values in the order set.
    pub fn values(&self) -> impl Iterator<Item = FieldRef<'_>> {
        self.iter().map(|(_, v)| v)
    }

    /// Values in the order set, to change.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Value> {
        self.open().entries.iter_mut().map(|(_, v)| v)
    }
}

impl Open {
    /// Where `name` is in `entries`; else where its position goes in `sorted` (`Err`).
    fn find(&self, name: &str) -> Result<usize, usize> {
        if self.sorted.is_empty() {
            return self.entries.iter().position(|(n, _)| &**n == name).ok_or(0);
        }
        self.sorted
            .binary_search_by(|&i| (*self.entries[i as usize].0).cmp(name))
            .map(|at| self.sorted[at] as usize)
    }

    fn set(&mut self, name: &str, value: Value) -> Option<Value> {
        match self.find(name) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(at) => {
                self.push(intern(name), value, at);
                None
            }
        }
    }

    /// [`Open::set`] with a name already interned.
    fn set_name(&mut self, name: Arc<str>, value: Value) {
        match self.find(&name) {
            Ok(i) => self.entries[i].1 = value,
            Err(at) => self.push(name, value, at),
        }
    }

    /// Adds an entry of a name it lacks; `at`: the name's place in the sorted index.
    fn push(&mut self, name: Arc<str>, value: Value, at: usize) {
        let i = self.entries.len();
        self.entries.push((name, value));
        if !self.sorted.is_empty() {
            self.sorted.insert(at, i as u32);
        } else if self.entries.len() > LINEAR {
            self.index();
        }
    }

    /// Builds the sorted index.
    fn index(&mut self) {
        let entries = &self.entries;
        let mut sorted: Vec<u32> = (0..entries.len() as u32).collect();
        sorted.sort_unstable_by(|&a, &b| entries[a as usize].0.cmp(&entries[b as usize].0));
        self.sorted = sorted;
    }

    fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.find(name).ok()?;
        let (_, value) = self.entries.remove(i);
        if self.entries.len() <= LINEAR {
            self.sorted = Vec::new();
        } else {
            // The entries after `i` moved down one.
            let i = i as u32;
            self.sorted.retain(|&j| j != i);
            for j in &mut self.sorted {
                if *j > i {
                    *j -= 1;
                }
            }
        }
        Some(value)
    }

    fn retain(&mut self, mut keep: impl FnMut(&str, &mut Value) -> bool) {
        let before = self.entries.len();
        self.entries.retain_mut(|(n, v)| keep(n, v));
        if self.entries.len() != before {
            if self.entries.len() <= LINEAR {
                self.sorted = Vec::new();
            } else {
                self.index();
            }
        }
    }
}

/// The entries of a [`Fields`], in the order set.
#[derive(Clone, Debug)]
pub struct Iter<'a>(IterRepr<'a>);

#[derive(Clone, Debug)]
enum IterRepr<'a> {
    Open(std::slice::Iter<'a, (Arc<str>, Value)>),
    Packed(std::slice::Iter<'a, Arc<str>>, packed::Values<'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, FieldRef<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Open(it) => it.next().map(|(n, v)| (&**n, FieldRef::of(v))),
            IterRepr::Packed(names, values) => Some((&**names.next()?, values.next()?)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterRepr::Open(it) => it.size_hint(),
            IterRepr::Packed(names, _) => names.size_hint(),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl PartialEq for Fields {
    /// The same names with the same values, in any order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(n, v)| other.get(n) == Some(v))
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Extend<(String, Value)> for Fields {
    fn extend<I: IntoIterator<Item = (String, Value)>>(&mut self, iter: I) {
        let o = self.open();
        for (n, v) in iter {
            o.set(&n, v);
        }
    }
}

impl FromIterator<(String, Value)> for Fields {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        let mut out = Self::with_capacity(0);
        out.extend(iter);
        out
    }
}

impl From<Map<String, Value>> for Fields {
    fn from(map: Map<String, Value>) -> Self {
        let mut out = Self::with_capacity(map.len());
        out.extend(map);
        out
    }
}

impl IntoIterator for Fields {
    type Item = (String, Value);
    type IntoIter = std::iter::Map<
        std::vec::IntoIter<(Arc<str>, Value)>,
        fn((Arc<str>, Value)) -> (String, Value),
    >;

    fn into_iter(mut self) -> Self::IntoIter {
        std::mem::take(&mut self.open().entries)
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = (&'a str, FieldRef<'a>);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (n, v) in self.iter() {
            map.serialize_entry(n, &v)?;
        }
        map.end()
    }
}

/// A field name read from a document: interned as it is read, without a `String` first
/// (a `Cow<str>` is always owned once deserialised; every stored record is decoded at
/// start).
struct Key(Arc<str>);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl Visitor<'_> for Name {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Key, E> {
                Ok(Key(intern(name)))
            }
        }
        d.deserialize_str(Name)
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Fields;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of field values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                // Gathered in a scratch map, then moved into one allocation of the exact
                // size (a map grown entry by entry reallocates as it grows, then once more
                // to shrink: every stored record is decoded at start).
                let mut scratch = SCRATCH.with_borrow_mut(std::mem::take);
                scratch.entries.clear();
                scratch.sorted.clear();
                while let Some(name) = map.next_key::<Key>()? {
                    scratch.set_name(name.0, map.next_value()?);
                }
                let out = Open {
                    entries: scratch.entries.drain(..).collect(),
                    sorted: std::mem::take(&mut scratch.sorted),
                };
                SCRATCH.with_borrow_mut(|s| *s = scratch);
                Ok(Fields(Repr::Open(Box::new(out))))
            }
        }
        d.deserialize_map(Entries)
    }
}

#[cfg(test)]
mod tests;
