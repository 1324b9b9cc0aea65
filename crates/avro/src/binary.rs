//! Avro values and the binary encoding of one record: zig-zag varints for `int` and
//! `long`, 8-byte little-endian `double`, length-prefixed `string`, a branch index before a
//! union's value, arrays in blocks ending with a zero count. No container header: a Pub/Sub
//! payload is the bare encoding.

use crate::schema::Schema;

/// An Avro value, shaped by its schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// null
    Null,
    /// boolean
    Boolean(bool),
    /// int
    Int(i32),
    /// long
    Long(i64),
    /// double
    Double(f64),
    /// string
    String(String),
    /// array
    Array(Vec<Value>),
    /// enum symbol by index
    Enum(usize),
    /// record fields in schema order
    Record(Vec<Value>),
    /// union branch and its value
    Union(usize, Box<Value>),
}

/// Why bytes do not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended inside a value.
    #[error("unexpected end of input at byte {0}")]
    Eof(usize),
    /// A varint ran past 10 bytes or out of range.
    #[error("malformed varint at byte {0}")]
    Varint(usize),
    /// A string is not UTF-8.
    #[error("invalid UTF-8 at byte {0}")]
    Utf8(usize),
    /// A union branch or enum index does not exist, or a length is negative.
    #[error("index {index} out of range at byte {at}")]
    Index {
        /// The index read.
        index: i64,
        /// Where.
        at: usize,
    },
    /// Bytes remain after the record.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// Nesting deeper than the schema allows (hostile array blocks).
    #[error("value too large")]
    TooLarge,
}

/// Why a value does not fit its schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("value does not match the schema at {0}")]
pub struct EncodeError(pub String);

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

/// Appends `n` as Avro's zig-zag varint (`int` and `long`, a union's branch, a length).
pub fn put_long(out: &mut Vec<u8>, n: i64) {
    let mut v = zigzag(n);
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Encodes `value` as `schema`.
pub fn encode(schema: &Schema, value: &Value) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    put(schema, value, &mut out, "$")?;
    Ok(out)
}

/// Appends the encoding of `value` as `schema` to `out`: a record's fields one at a time.
/// On error `out` may hold part of the value.
pub fn encode_into(schema: &Schema, value: &Value, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    put(schema, value, out, "$")
}

/// Appends `s` as an Avro `string`: its length in bytes, then its bytes.
pub fn put_string(out: &mut Vec<u8>, s: &str) {
    put_long(out, s.len() as i64);
    out.extend_from_slice(s.as_bytes());
}

fn put(schema: &Schema, value: &Value, out: &mut Vec<u8>, at: &str) -> Result<(), EncodeError> {
    match (schema, value) {
        (Schema::Null, Value::Null) => {}
        (Schema::Boolean, Value::Boolean(b)) => out.push(u8::from(*b)),
        (Schema::Int, Value::Int(n)) => put_long(out, i64::from(*n)),
        (Schema::Long, Value::Long(n)) => put_long(out, *n),
        (Schema::Double, Value::Double(d)) => out.extend_from_slice(&d.to_le_bytes()),
        (Schema::String, Value::String(s)) => put_string(out, s),
        (Schema::Array(items), Value::Array(vs)) => {
            if !vs.is_empty() {
                put_long(out, vs.len() as i64);
                for (i, v) in vs.iter().enumerate() {
                    put(items, v, out, &format!("{at}[{i}]"))?;
                }
            }
            put_long(out, 0);
        }
        (Schema::Enum { symbols, .. }, Value::Enum(i)) if *i < symbols.len() => {
            put_long(out, *i as i64)
        }
        (Schema::Record(r), Value::Record(vs)) if vs.len() == r.fields.len() => {
            for (f, v) in r.fields.iter().zip(vs) {
                put(&f.schema, v, out, &format!("{at}.{}", f.name))?;
            }
        }
        (Schema::Union(branches), Value::Union(i, v)) if *i < branches.len() => {
            put_long(out, *i as i64);
            put(&branches[*i], v, out, at)?;
        }
        _ => return Err(EncodeError(at.to_owned())),
    }
    Ok(())
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self.b.get(self.i).ok_or(DecodeError::Eof(self.i))?;
        self.i += 1;
        Ok(b)
    }

    fn long(&mut self) -> Result<i64, DecodeError> {
        let start = self.i;
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(((v >> 1) as i64) ^ -((v & 1) as i64));
            }
        }
        Err(DecodeError::Varint(start))
    }

    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self
            .i
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or(DecodeError::Eof(self.b.len()))?;
        let s = &self.b[self.i..end];
        self.i = end;
        Ok(s)
    }

    fn index(&mut self, len: usize) -> Result<usize, DecodeError> {
        let at = self.i;
        let n = self.long()?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n < len)
            .ok_or(DecodeError::Index { index: n, at })
    }

    fn value(&mut self, schema: &Schema, depth: usize) -> Result<Value, DecodeError> {
        if depth > 64 {
            return Err(DecodeError::TooLarge);
        }
        Ok(match schema {
            Schema::Null => Value::Null,
            Schema::Boolean => Value::Boolean(self.byte()? != 0),
            Schema::Int => {
                let at = self.i;
                let n = self.long()?;
                Value::Int(i32::try_from(n).map_err(|_| DecodeError::Varint(at))?)
            }
            Schema::Long => Value::Long(self.long()?),
            Schema::Double => Value::Double(f64::from_le_bytes(
                self.take(8)?.try_into().expect("8 bytes"),
            )),
            Schema::String => {
                let at = self.i;
                let n = self.long()?;
                let len = usize::try_from(n).map_err(|_| DecodeError::Index { index: n, at })?;
                let at = self.i;
                Value::String(
                    std::str::from_utf8(self.take(len)?)
                        .map_err(|_| DecodeError::Utf8(at))?
                        .to_owned(),
                )
            }
            Schema::Array(items) => {
                let mut out = Vec::new();
                loop {
                    let at = self.i;
                    let mut n = self.long()?;
                    if n == 0 {
                        break;
                    }
                    if n < 0 {
                        // A negative count is followed by the block's size in bytes.
                        n = n.checked_neg().ok_or(DecodeError::Index { index: n, at })?;
                        self.long()?;
                    }
                    // Every item takes at least a byte unless it is null: bound the count.
                    if n as usize > self.b.len() - self.i + 1 && **items != Schema::Null {
                        return Err(DecodeError::Eof(self.b.len()));
                    }
                    if out.len() + n as usize > 1_000_000 {
                        return Err(DecodeError::TooLarge);
                    }
                    for _ in 0..n {
                        out.push(self.value(items, depth + 1)?);
                    }
                }
                Value::Array(out)
            }
            Schema::Enum { symbols, .. } => Value::Enum(self.index(symbols.len())?),
            Schema::Record(r) => Value::Record(
                r.fields
                    .iter()
                    .map(|f| self.value(&f.schema, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            Schema::Union(branches) => {
                let i = self.index(branches.len())?;
                Value::Union(i, Box::new(self.value(&branches[i], depth + 1)?))
            }
        })
    }
}

/// Decodes one value of `schema` that fills `bytes` exactly.
pub fn decode(schema: &Schema, bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut r = Reader { b: bytes, i: 0 };
    let v = r.value(schema, 0)?;
    if r.i != bytes.len() {
        return Err(DecodeError::Trailing(bytes.len() - r.i));
    }
    Ok(v)
}

/// A decoded value as JSON the way Avro's JSON tools show it to people: unions flattened
/// to their value, enums as symbols, records as objects in field order.
pub fn to_json(schema: &Schema, value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match (schema, value) {
        (_, Value::Null) => J::Null,
        (_, Value::Boolean(b)) => J::Bool(*b),
        (_, Value::Int(n)) => J::from(*n),
        (_, Value::Long(n)) => J::from(*n),
        // Not a number (NaN, infinite): null, as JSON has no such number.
        (_, Value::Double(d)) => J::from(*d),
        (_, Value::String(s)) => J::String(s.clone()),
        (Schema::Array(items), Value::Array(vs)) => {
            J::Array(vs.iter().map(|v| to_json(items, v)).collect())
        }
        (Schema::Enum { symbols, .. }, Value::Enum(i)) => {
            symbols.get(*i).map_or(J::Null, |s| J::String(s.clone()))
        }
        (Schema::Record(r), Value::Record(vs)) => J::Object(
            r.fields
                .iter()
                .zip(vs)
                .map(|(f, v)| (f.name.clone(), to_json(&f.schema, v)))
                .collect(),
        ),
        (Schema::Union(bs), Value::Union(i, v)) => bs.get(*i).map_or(J::Null, |b| to_json(b, v)),
        _ => J::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Field, RecordSchema};
    use proptest::prelude::*;
    use std::sync::Arc;

    #[test]
    fn known_encodings() {
        // Examples from the Avro specification.
        assert_eq!(encode(&Schema::Long, &Value::Long(-64)).unwrap(), [0x7f]);
        assert_eq!(
            encode(&Schema::Long, &Value::Long(64)).unwrap(),
            [0x80, 0x01]
        );
        assert_eq!(
            encode(&Schema::String, &Value::String("foo".into())).unwrap(),
            [0x06, b'f', b'o', b'o']
        );
        let arr = Schema::Array(Box::new(Schema::Long));
        assert_eq!(
            encode(&arr, &Value::Array(vec![Value::Long(3), Value::Long(27)])).unwrap(),
            [0x04, 0x06, 0x36, 0x00]
        );
        let u = Schema::Union(vec![Schema::Null, Schema::String]);
        assert_eq!(
            encode(&u, &Value::Union(1, Box::new(Value::String("a".into())))).unwrap(),
            [0x02, 0x02, b'a']
        );
        assert_eq!(
            encode(&u, &Value::Union(0, Box::new(Value::Null))).unwrap(),
            [0x00]
        );
        assert!(encode(&Schema::Int, &Value::String("x".into())).is_err());
    }

    fn schema() -> Schema {
        let inner = Schema::Record(Arc::new(RecordSchema {
            name: "In".into(),
            namespace: None,
            fields: vec![
                Field::nullable("S", Schema::String),
                Field::new("D", Schema::Double),
            ],
        }));
        Schema::Record(Arc::new(RecordSchema {
            name: "Out".into(),
            namespace: None,
            fields: vec![
                Field::new("L", Schema::Long),
                Field::new("I", Schema::Int),
                Field::new("B", Schema::Boolean),
                Field::new("A", Schema::Array(Box::new(Schema::String))),
                Field::new(
                    "E",
                    Schema::Enum {
                        name: "E".into(),
                        symbols: vec!["X".into(), "Y".into()],
                        doc: None,
                    },
                ),
                Field::nullable("R", inner),
            ],
        }))
    }

    fn value() -> impl Strategy<Value = Value> {
        (
            any::<i64>(),
            any::<i32>(),
            any::<bool>(),
            prop::collection::vec(".{0,8}", 0..4),
            0usize..2,
            prop::option::of((prop::option::of(".{0,8}"), -1e12f64..1e12)),
        )
            .prop_map(|(l, i, b, a, e, r)| {
                Value::Record(vec![
                    Value::Long(l),
                    Value::Int(i),
                    Value::Boolean(b),
                    Value::Array(a.into_iter().map(Value::String).collect()),
                    Value::Enum(e),
                    match r {
                        None => Value::Union(0, Box::new(Value::Null)),
                        Some((s, d)) => Value::Union(
                            1,
                            Box::new(Value::Record(vec![
                                s.map_or(Value::Union(0, Box::new(Value::Null)), |s| {
                                    Value::Union(1, Box::new(Value::String(s)))
                                }),
                                Value::Double(d),
                            ])),
                        ),
                    },
                ])
            })
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(v in value()) {
            let s = schema();
            prop_assert_eq!(decode(&s, &encode(&s, &v).unwrap()).unwrap(), v);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&schema(), &bytes);
        }
    }

    #[test]
    fn hostile_inputs_fail_cleanly() {
        let s = Schema::Array(Box::new(Schema::String));
        // A huge count with no items behind it.
        assert!(decode(&s, &[0xfe, 0xff, 0xff, 0xff, 0x0f]).is_err());
        assert!(matches!(
            decode(&Schema::Long, &[0xff; 11]),
            Err(DecodeError::Varint(0))
        ));
        assert!(matches!(
            decode(&Schema::Long, &[0x02, 0x00]),
            Err(DecodeError::Trailing(1))
        ));
        assert!(matches!(
            decode(&Schema::String, &[0x04, 0xff, 0xfe]),
            Err(DecodeError::Utf8(1))
        ));
    }
}
