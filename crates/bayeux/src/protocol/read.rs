//! A request body's messages read straight from its JSON text: the fields the server
//! reads are taken as values as the parser meets them, and every other field is checked
//! as building a JSON value would check it (its text UTF-8, its escapes whole, its numbers
//! in range, its nesting within the parser's limit) and dropped without being built. Every
//! long poll is parsed, and building each message as a map of its own (keys hashed, every
//! value allocated) first was a sixth of the server's instructions at 500 long polls a
//! second.
//!
//! This is the fast path only: a body it cannot read (not JSON, not messages, too deep,
//! or an object whose first key is serde_json's raw-value marker, which the JSON value's
//! own reader treats apart) is read again by [`Message::parse_body`], which builds a JSON
//! value first, and its answer (the same messages, or the error) stands. The two agree on
//! every body this reads, duplicated fields included (the last one counts in both): a
//! property test and the fuzz target `bayeux_parse` hold them to it.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::message::{Fields, Message};

/// The messages of `body`, or `None` when it is not an array of message objects or one
/// message object.
pub(super) fn messages(body: &[u8]) -> Option<Vec<Message>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let messages = (&mut de).deserialize_any(Body).ok()?;
    de.end().ok()?;
    Some(messages)
}

/// A body: an array of messages, or one message.
struct Body;

impl<'de> Visitor<'de> for Body {
    type Value = Vec<Message>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Bayeux message or an array of them")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(fields) = seq.next_element_seed(OneMessage)? {
            out.push(fields.into_message());
        }
        // Sized exactly: a parked connect keeps its messages.
        out.shrink_to_fit();
        Ok(out)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(vec![OneMessage.visit_map(map)?.into_message()])
    }
}

/// One message object.
struct OneMessage;

impl<'de> DeserializeSeed<'de> for OneMessage {
    type Value = Fields;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for OneMessage {
    type Value = Fields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Bayeux message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut f = Fields::default();
        let mut first = true;
        while let Some(key) = next_key(&mut map, &mut first)? {
            let slot = match key {
                Key::Channel => &mut f.channel,
                Key::Id => &mut f.id,
                Key::ClientId => &mut f.client_id,
                Key::Subscription => &mut f.subscription,
                Key::Ext => &mut f.ext,
                Key::Advice => &mut f.advice,
                Key::ConnectionTypes => &mut f.connection_types,
                Key::RawValue | Key::Other => {
                    map.next_value_seed(Skip)?;
                    continue;
                }
            };
            *slot = Some(map.next_value::<Value>()?);
        }
        Ok(f)
    }
}

/// The key a JSON value's reader takes, first in an object, for a raw value it reads
/// apart (`serde_json`'s `raw_value` feature, which axum turns on for the whole build).
const RAW_VALUE_KEY: &str = "$serde_json::private::RawValue";
const RAW_VALUE_FIRST: &str = "an object led by the raw-value key: read through a value";

/// The next key of an object read field by field (`first` until one is read), refusing
/// an object led by the raw-value key, which is left to the JSON value's reader.
fn next_key<'de, A: MapAccess<'de>>(
    map: &mut A,
    first: &mut bool,
) -> Result<Option<Key>, A::Error> {
    let key = map.next_key::<Key>()?;
    if std::mem::take(first) && matches!(key, Some(Key::RawValue)) {
        return Err(de::Error::custom(RAW_VALUE_FIRST));
    }
    Ok(key)
}

/// A message's field name, matched without allocating it.
enum Key {
    Channel,
    Id,
    ClientId,
    Subscription,
    Ext,
    Advice,
    ConnectionTypes,
    RawValue,
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
        Ok(match name {
            "channel" => Key::Channel,
            "id" => Key::Id,
            "clientId" => Key::ClientId,
            "subscription" => Key::Subscription,
            "ext" => Key::Ext,
            "advice" => Key::Advice,
            "supportedConnectionTypes" => Key::ConnectionTypes,
            RAW_VALUE_KEY => Key::RawValue,
            _ => Key::Other,
        })
    }
}

/// A value the server does not read: parsed as a JSON value's reader parses it (so the
/// same text is refused: invalid UTF-8, a lone surrogate, a number out of range, nesting
/// past the limit), and dropped. `serde`'s `IgnoredAny` would skip it unchecked.
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut first = true;
        while next_key(&mut map, &mut first)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}
