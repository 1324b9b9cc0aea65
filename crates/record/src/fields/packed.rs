//! A record's field values packed into one allocation, for the committed state.
//!
//! The names are not in the record: records of one object mostly set the same fields in
//! the same order, so the list of names (the record's [`Shape`]) is shared by every record
//! that has it. The values follow one another, each a tag byte and what the tag needs:
//! nothing for `null`, `true` and `false`; an unsigned LEB128 varint for an integer (the
//! complement of a negative one); eight bytes for a float; the UTF-8 bytes for text, their
//! length in the tag itself when it is short, else a varint after it. A map holding an
//! array or an object is not packed (see [`Packed::new`]). Text a record already holds in
//! an earlier field (a new record's `CreatedDate`, `LastModifiedDate` and `SystemModstamp`;
//! its `OwnerId`, `CreatedById` and `LastModifiedById`) is kept once: the later fields name
//! where the first is. Every [`CHECKPOINT`]th value's offset is kept at the front, so
//! reading a value walks past fewer than that many.

use std::sync::{Arc, LazyLock, Mutex, Weak};

use serde_json::Value;

use super::FieldRef;

/// Values walked past at most to reach one.
pub(super) const CHECKPOINT: usize = 16;

/// Names searched in order; past this many, through the shape's sorted index.
const LINEAR: usize = 16;

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const UINT: u8 = 3;
const NEG_INT: u8 = 4;
const FLOAT: u8 = 5;
const TEXT: u8 = 6;
/// The text at an earlier offset.
const SAME: u8 = 8;

/// Text of `tag - SHORT_TEXT` bytes (tags from here up: text shorter than 240 bytes).
const SHORT_TEXT: u8 = 16;

/// Text shorter than this is kept again rather than named (naming costs up to 4 bytes).
const SHARED_TEXT: usize = 8;

/// The names of a packed record's fields, in the order set; shared by every record with
/// the same ones.
#[derive(Debug, PartialEq)]
pub(super) struct Shape {
    pub(super) names: Box<[Arc<str>]>,
    /// Positions in `names` ordered by name, when there are more than [`LINEAR`].
    sorted: Box<[u32]>,
}

impl Shape {
    /// Where `name` is.
    pub(super) fn find(&self, name: &str) -> Option<usize> {
        if self.sorted.is_empty() {
            return self.names.iter().position(|n| &**n == name);
        }
        self.sorted
            .binary_search_by(|&i| (*self.names[i as usize]).cmp(name))
            .ok()
            .map(|at| self.sorted[at] as usize)
    }
}

/// The shapes in use, so records with the same names share one.
struct Shapes {
    by_names: crate::FastMap<Box<[Arc<str>]>, Weak<Shape>>,
    /// Shapes kept after the last sweep of those no record uses.
    live: usize,
}

static SHAPES: LazyLock<Mutex<Shapes>> = LazyLock::new(|| {
    Mutex::new(Shapes {
        by_names: crate::FastMap::default(),
        live: 0,
    })
});

static EMPTY: LazyLock<Arc<Shape>> = LazyLock::new(|| {
    Arc::new(Shape {
        names: Box::new([]),
        sorted: Box::new([]),
    })
});

/// The shared shape of `names`.
fn shape(names: &[Arc<str>]) -> Arc<Shape> {
    if names.is_empty() {
        return EMPTY.clone();
    }
    let mut shapes = SHAPES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(s) = shapes.by_names.get(names).and_then(Weak::upgrade) {
        return s;
    }
    // Shapes no record uses any more are let go once they are half of those kept.
    if shapes.by_names.len() >= 2 * shapes.live + 1024 {
        shapes.by_names.retain(|_, s| s.strong_count() > 0);
        shapes.live = shapes.by_names.len();
    }
    let sorted = if names.len() > LINEAR {
        let mut sorted: Vec<u32> = (0..names.len() as u32).collect();
        sorted.sort_unstable_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
        sorted.into_boxed_slice()
    } else {
        Box::new([])
    };
    let s = Arc::new(Shape {
        names: names.into(),
        sorted,
    });
    shapes.by_names.insert(names.into(), Arc::downgrade(&s));
    s
}

/// Field values packed after their shape.
#[derive(Clone, Debug)]
pub(super) struct Packed {
    pub(super) shape: Arc<Shape>,
    pub(super) data: Box<[u8]>,
}

impl Default for Packed {
    fn default() -> Self {
        Self {
            shape: EMPTY.clone(),
            data: Box::new([]),
        }
    }
}

/// Bytes of checkpoints before the values of `n` fields.
fn header(n: usize) -> usize {
    n.saturating_sub(1) / CHECKPOINT * 4
}

impl Packed {
    /// Packs `entries`.
    pub(super) fn new<'a>(
        entries: impl ExactSizeIterator<Item = (&'a Arc<str>, &'a Value)>,
    ) -> Self {
        let n = entries.len();
        let mut names = Vec::with_capacity(n);
        let mut data = vec![0; header(n)];
        // Where each text worth sharing starts (its tag), and its bytes' range.
        let mut texts: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
        for (i, (name, value)) in entries.enumerate() {
            if i > 0 && i % CHECKPOINT == 0 {
                let at = (i / CHECKPOINT - 1) * 4;
                let offset = u32::try_from(data.len()).unwrap_or(u32::MAX);
                data[at..at + 4].copy_from_slice(&offset.to_le_bytes());
            }
            names.push(name.clone());
            match value {
                Value::String(t) if t.len() >= SHARED_TEXT => {
                    let earlier = texts.iter().find(|(_, r)| &data[r.clone()] == t.as_bytes());
                    if let Some(&(at, _)) = earlier {
                        data.push(SAME);
                        put_varint(&mut data, at as u64);
                    } else {
                        let at = data.len();
                        encode(&mut data, value);
                        texts.push((at, data.len() - t.len()..data.len()));
                    }
                }
                _ => encode(&mut data, value),
            }
        }
        Self {
            shape: shape(&names),
            data: data.into_boxed_slice(),
        }
    }

    /// Fields.
    pub(super) fn len(&self) -> usize {
        self.shape.names.len()
    }

    /// The value of the `i`th field.
    pub(super) fn value(&self, i: usize) -> FieldRef<'_> {
        let mut at = header(self.len());
        if i >= CHECKPOINT {
            let c = (i / CHECKPOINT - 1) * 4;
            at = u32::from_le_bytes(self.data[c..c + 4].try_into().expect("four bytes")) as usize;
        }
        for _ in 0..i % CHECKPOINT {
            at = skip(&self.data, at);
        }
        decode(&self.data, at).0
    }

    /// The values in order, from the first.
    pub(super) fn values(&self) -> Values<'_> {
        Values {
            data: &self.data,
            at: header(self.len()),
        }
    }
}

/// The values of a packed map, in order.
#[derive(Clone, Debug)]
pub(super) struct Values<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Values<'a> {
    type Item = FieldRef<'a>;

    fn next(&mut self) -> Option<FieldRef<'a>> {
        if self.at >= self.data.len() {
            return None;
        }
        let (v, next) = decode(self.data, self.at);
        self.at = next;
        Some(v)
    }
}

fn put_varint(out: &mut Vec<u8>, n: u64) {
    crate::varint::put(out, n.into());
}

/// The varint at `at`, and where it ends.
fn varint(data: &[u8], mut at: usize) -> (u64, usize) {
    let n = crate::varint::get(data, &mut at);
    (u64::try_from(n).unwrap_or(u64::MAX), at)
}

fn put_bytes(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn encode(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(NULL),
        Value::Bool(false) => out.push(FALSE),
        Value::Bool(true) => out.push(TRUE),
        Value::Number(n) => match FieldRef::number(n) {
            FieldRef::U64(u) => {
                out.push(UINT);
                put_varint(out, u);
            }
            FieldRef::I64(i) => {
                out.push(NEG_INT);
                put_varint(out, !i as u64);
            }
            f => {
                out.push(FLOAT);
                out.extend_from_slice(&f.as_f64().unwrap_or(0.0).to_le_bytes());
            }
        },
        Value::String(s) => match u8::try_from(s.len()) {
            Ok(len) if len <= u8::MAX - SHORT_TEXT => {
                out.push(SHORT_TEXT + len);
                out.extend_from_slice(s.as_bytes());
            }
            _ => put_bytes(out, TEXT, s.as_bytes()),
        },
        Value::Array(_) | Value::Object(_) => unreachable!("maps holding these stay open"),
    }
}

/// Where the value at `at` ends.
fn skip(data: &[u8], at: usize) -> usize {
    match data[at] {
        NULL | FALSE | TRUE => at + 1,
        UINT | NEG_INT | SAME => varint(data, at + 1).1,
        FLOAT => at + 9,
        short if short >= SHORT_TEXT => at + 1 + usize::from(short - SHORT_TEXT),
        _ => {
            let (len, from) = varint(data, at + 1);
            from + len as usize
        }
    }
}

/// The value at `at`, and where it ends.
fn decode(data: &[u8], at: usize) -> (FieldRef<'_>, usize) {
    match data[at] {
        NULL => (FieldRef::Null, at + 1),
        FALSE => (FieldRef::Bool(false), at + 1),
        TRUE => (FieldRef::Bool(true), at + 1),
        UINT => {
            let (u, next) = varint(data, at + 1);
            (FieldRef::U64(u), next)
        }
        NEG_INT => {
            let (u, next) = varint(data, at + 1);
            (FieldRef::I64(!(u as i64)), next)
        }
        FLOAT => {
            let f = f64::from_le_bytes(data[at + 1..at + 9].try_into().expect("eight bytes"));
            (FieldRef::F64(f), at + 9)
        }
        SAME => {
            let (earlier, next) = varint(data, at + 1);
            (decode(data, earlier as usize).0, next)
        }
        short if short >= SHORT_TEXT => {
            let end = at + 1 + usize::from(short - SHORT_TEXT);
            (FieldRef::Str(text(&data[at + 1..end])), end)
        }
        _ => {
            // TEXT: a varint length, then the bytes.
            let (len, from) = varint(data, at + 1);
            let end = from + len as usize;
            (FieldRef::Str(text(&data[from..end])), end)
        }
    }
}

/// Packed text: from a `String`, so always UTF-8.
fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}
