//! A record's field values: a compact map from field name to value, in the order set.
//!
//! The org keeps every record in memory, so a record's map is most of what the org costs:
//! a `serde_json::Map` (an `IndexMap` of owned `String` keys) spent 104 bytes per entry
//! (a hash, the key, and a `Value`, which is 72 bytes with `preserve_order`) plus its
//! hash index, plus a copy of every field name in every record, and hashed the name
//! (SipHash) at every lookup. Here an entry is a shared name and a value (88 bytes),
//! names are interned (one copy per name and thread, however many records), and a map of
//! more than [`LINEAR`] entries keeps a sorted index for lookups; smaller ones are
//! searched in order. The values are still `serde_json::Value`s: most of what a record
//! costs now (a compact value type is the next step).

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Entries searched in order; past this many, through the sorted index.
const LINEAR: usize = 16;

/// Names an interner keeps per thread before it starts again (field names are the
/// schemas' own: this bounds only a schema churning through names).
const MAX_NAMES: usize = 65_536;

thread_local! {
    static NAMES: RefCell<HashSet<Arc<str>>> = RefCell::default();
    /// The map a deserialisation gathers entries in before sizing the result.
    static SCRATCH: RefCell<Fields> = RefCell::default();
}

/// The shared copy of `name`.
fn intern(name: &str) -> Arc<str> {
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
#[derive(Clone, Default)]
pub struct Fields {
    entries: Vec<(Arc<str>, Value)>,
    /// Positions in `entries` ordered by name, when there are more than [`LINEAR`].
    sorted: Vec<u32>,
}

impl Fields {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n),
            sorted: Vec::new(),
        }
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where `name` is in `entries`; else where its position goes in `sorted` (`Err`).
    fn find(&self, name: &str) -> Result<usize, usize> {
        if self.sorted.is_empty() {
            return self.entries.iter().position(|(n, _)| &**n == name).ok_or(0);
        }
        self.sorted
            .binary_search_by(|&i| (*self.entries[i as usize].0).cmp(name))
            .map(|at| self.sorted[at] as usize)
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.find(name).ok().map(|i| &self.entries[i].1)
    }

    /// The value of `name`, to change.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.find(name).ok().map(|i| &mut self.entries[i].1)
    }

    /// Whether `name` has an entry (null included).
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Sets `name`, keeping its place if it was set; the value it had.
    pub fn insert(&mut self, name: String, value: Value) -> Option<Value> {
        self.set(&name, value)
    }

    /// [`Fields::insert`] by reference.
    pub fn set(&mut self, name: &str, value: Value) -> Option<Value> {
        match self.find(name) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(at) => {
                self.push(intern(name), value, at);
                None
            }
        }
    }

    /// [`Fields::set`] with a name already interned.
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

    /// Removes `name`; the value it had. The others keep their order.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
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

    /// Keeps the entries `keep` says to.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut Value) -> bool) {
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

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.sorted.clear();
    }

    /// Entries in the order set.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &Value)> + ExactSizeIterator {
        self.entries.iter().map(|(n, v)| (&**n, v))
    }

    /// Entries in the order set, values to change.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Value)> {
        self.entries.iter_mut().map(|(n, v)| (&**n, v))
    }

    /// Names in the order set.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| &**n)
    }

    /// Values in the order set.
    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// Values in the order set, to change.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Value> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// Gives back room beyond the entries (the committed state keeps every record).
    pub fn shrink_to_fit(&mut self) {
        self.entries.shrink_to_fit();
        self.sorted.shrink_to_fit();
    }
}

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
        for (n, v) in iter {
            self.set(&n, v);
        }
    }
}

impl FromIterator<(String, Value)> for Fields {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        let mut out = Self::new();
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

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter().map(|(n, v)| (n.to_string(), v))
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = (&'a str, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Arc<str>, Value)>,
        fn(&'a (Arc<str>, Value)) -> (&'a str, &'a Value),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(n, v)| (&**n, v))
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (n, v) in self.iter() {
            map.serialize_entry(n, v)?;
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
                scratch.clear();
                while let Some(name) = map.next_key::<Key>()? {
                    scratch.set_name(name.0, map.next_value()?);
                }
                let out = Fields {
                    entries: scratch.entries.drain(..).collect(),
                    sorted: std::mem::take(&mut scratch.sorted),
                };
                SCRATCH.with_borrow_mut(|s| *s = scratch);
                Ok(out)
            }
        }
        d.deserialize_map(Entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_the_order_set_and_finds_by_name_past_the_index_threshold() {
        let mut f = Fields::new();
        let names: Vec<String> = (0..40).rev().map(|i| format!("F{i:02}")).collect();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(f.insert(n.clone(), Value::from(i)), None);
        }
        assert_eq!(
            f.keys().collect::<Vec<_>>(),
            names.iter().map(String::as_str).collect::<Vec<_>>()
        );
        for (i, n) in names.iter().enumerate() {
            assert_eq!(f.get(n), Some(&Value::from(i)), "{n}");
        }
        assert_eq!(f.insert("F10".into(), Value::Null), Some(Value::from(29)));
        assert_eq!(f.remove("F39"), Some(Value::from(0)));
        assert!(f.get("F39").is_none() && f.get("F38").is_some());
        f.retain(|n, _| n < "F20");
        assert_eq!(f.len(), 20);
        assert!(f.get("F05").is_some() && f.get("F25").is_none());
    }

    #[test]
    fn names_are_shared_between_maps() {
        let a: Fields = [("Name".to_owned(), Value::from("a"))]
            .into_iter()
            .collect();
        let b: Fields = [("Name".to_owned(), Value::from("b"))]
            .into_iter()
            .collect();
        assert!(Arc::ptr_eq(&a.entries[0].0, &b.entries[0].0));
    }

    #[test]
    fn round_trips_through_json() {
        let json = r#"{"Name":"Acme","Amount":12.5,"Flag":true,"Gone":null,"Nested":{"a":[1,2]}}"#;
        let f: Fields = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&f).unwrap(), json);
        assert_eq!(f.get("Gone"), Some(&Value::Null));
    }

    proptest! {
        /// Against a `serde_json::Map` (an insertion-ordered map): the same answers to
        /// every operation, in the same order.
        #[test]
        fn behaves_as_an_ordered_map(ops in proptest::collection::vec((0u8..3, 0u8..40, any::<i32>()), 0..200)) {
            let mut model: Map<String, Value> = Map::new();
            let mut f = Fields::new();
            for (op, name, v) in ops {
                let name = format!("N{name}");
                match op {
                    0 | 1 => {
                        let had = model.get(&name).cloned();
                        if had.is_some() {
                            *model.get_mut(&name).unwrap() = Value::from(v);
                        } else {
                            model.insert(name.clone(), Value::from(v));
                        }
                        prop_assert_eq!(f.insert(name, Value::from(v)), had);
                    }
                    _ => prop_assert_eq!(f.remove(&name), model.shift_remove(&name)),
                }
                prop_assert_eq!(f.len(), model.len());
                prop_assert!(f.iter().eq(model.iter().map(|(k, v)| (k.as_str(), v))));
                for k in model.keys() {
                    prop_assert_eq!(f.get(k), model.get(k));
                }
            }
        }
    }
}
