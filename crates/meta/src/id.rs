//! Salesforce record ids: 15-character case-sensitive ids and their 18-character form.
//!
//! A 15-character id is a 3-character key prefix (the object), a 2-character instance code,
//! one reserved character and a 9-character base-62 counter. The 18-character form appends
//! three checksum characters, one per 5-character chunk, each encoding which characters of
//! its chunk are uppercase (bit *i* set when character *i* is `A`–`Z`), mapped through
//! `ABCDEFGHIJKLMNOPQRSTUVWXYZ012345`. Because the suffix records the case, an 18-character
//! id can be compared case-insensitively and its canonical case restored.

use std::fmt;

const CHECKSUM_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The instance code and reserved character used in every id forcebus mints.
pub const INSTANCE: &str = "Fb0";

/// A record id in canonical form (the exact-case 15-character id).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId([u8; 15]);

/// Which characters of its five a checksum character marks upper case: its place in
/// [`CHECKSUM_ALPHABET`], in either case.
fn checksum_bits(c: u8) -> Option<u8> {
    match c.to_ascii_uppercase() {
        u @ b'A'..=b'Z' => Some(u - b'A'),
        d @ b'0'..=b'5' => Some(26 + d - b'0'),
        _ => None,
    }
}

impl RecordId {
    /// Parses a 15- or 18-character id. An 18-character id is accepted in any case as long
    /// as its checksum matches; a 15-character id is taken as it is.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if !b.iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        match b.len() {
            15 => Some(Self(b.try_into().expect("length checked"))),
            18 => {
                // Each suffix character says which of its five characters are upper case;
                // the suffix is then the checksum of the id it restores, unless it claims
                // an upper-case letter where there is a digit (a corrupt id).
                let mut id: [u8; 15] = b[..15].try_into().expect("length checked");
                for (chunk, &sum) in id.chunks_mut(5).zip(&b[15..]) {
                    let bits = checksum_bits(sum)?;
                    for (i, c) in chunk.iter_mut().enumerate() {
                        if bits & (1 << i) == 0 {
                            c.make_ascii_lowercase();
                        } else if c.is_ascii_alphabetic() {
                            c.make_ascii_uppercase();
                        } else {
                            return None;
                        }
                    }
                }
                Some(Self(id))
            }
            _ => None,
        }
    }

    /// Builds an id from a key prefix and a counter value.
    pub fn mint(prefix: &str, counter: u64) -> Self {
        let mut out = [b'0'; 15];
        out[..3].copy_from_slice(&prefix.as_bytes()[..3]);
        out[3..6].copy_from_slice(INSTANCE.as_bytes());
        let mut n = counter;
        for slot in out[6..].iter_mut().rev() {
            *slot = BASE62[(n % 62) as usize];
            n /= 62;
        }
        Self(out)
    }

    /// The 3-character key prefix.
    pub fn prefix(&self) -> &str {
        &self.as15()[..3]
    }

    /// The id as a number: its 15 characters as base-62 digits (`0-9`, `A-Z`, `a-z`, in
    /// the order of their bytes, so numbers are ordered as ids are).
    pub fn to_number(&self) -> u128 {
        self.0.iter().fold(0, |n, &c| {
            let digit = match c {
                b'0'..=b'9' => c - b'0',
                b'A'..=b'Z' => c - b'A' + 10,
                _ => c - b'a' + 36,
            };
            n * 62 + u128::from(digit)
        })
    }

    /// The id of [`RecordId::to_number`]'s `n`.
    pub fn from_number(mut n: u128) -> Self {
        let mut out = [b'0'; 15];
        for slot in out.iter_mut().rev() {
            *slot = BASE62[(n % 62) as usize];
            n /= 62;
        }
        Self(out)
    }

    /// The 15-character form.
    pub fn as15(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ids are ASCII")
    }

    /// The three checksum characters (ASCII), made without an allocation: ids are made
    /// and read on every record's path.
    fn checksum(&self) -> [u8; 3] {
        let mut sum = [0; 3];
        for (out, chunk) in sum.iter_mut().zip(self.0.chunks(5)) {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_ascii_uppercase())
                .fold(0usize, |acc, (i, _)| acc | (1 << i));
            *out = CHECKSUM_ALPHABET[bits];
        }
        sum
    }

    /// The 18-character form, as every response carries it.
    pub fn to18(&self) -> String {
        let mut s = String::with_capacity(18);
        s.push_str(self.as15());
        s.extend(self.checksum().map(char::from));
        s
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to18())
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({})", self.to18())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// An id and its number go both ways, and numbers are ordered as ids are.
        #[test]
        fn numbers_round_trip_in_id_order(a in "[0-9A-Za-z]{15}", b in "[0-9A-Za-z]{15}") {
            let (a, b) = (RecordId::parse(&a).unwrap(), RecordId::parse(&b).unwrap());
            prop_assert_eq!(RecordId::from_number(a.to_number()), a);
            prop_assert_eq!(a.to_number().cmp(&b.to_number()), a.cmp(&b));
        }
    }

    #[test]
    fn known_salesforce_checksums() {
        // The all-zero id of overflow events, and ids worked by hand from the rule.
        assert_eq!(
            RecordId::parse("000000000000000").unwrap().to18(),
            "000000000000000AAA"
        );
        assert_eq!(
            RecordId::parse("0015g00000EMU01").unwrap().to18(),
            "0015g00000EMU01AAH"
        );
        assert_eq!(
            RecordId::parse("00D5g000000EMU1").unwrap().to18(),
            "00D5g000000EMU1EAO"
        );
        assert_eq!(
            RecordId::parse("ABCDEabcdeZZZZZ").unwrap().to18(),
            "ABCDEabcdeZZZZZ5A5"
        );
    }

    #[test]
    fn eighteen_char_ids_ignore_case_and_restore_it() {
        let id = RecordId::parse("0015g00000EMU01AAH").unwrap();
        assert_eq!(RecordId::parse("0015G00000emu01aah").unwrap(), id);
        assert_eq!(id.as15(), "0015g00000EMU01");
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for bad in [
            "",
            "001",
            "0015g00000EMU01AA",
            "0015g00000EMU0!",
            "0015g00000EMU01AA9",
        ] {
            assert!(RecordId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn minted_ids_carry_the_prefix() {
        let id = RecordId::mint("003", 62 * 62 + 5);
        assert_eq!(id.as15(), "003Fb0000000105");
        assert_eq!(id.prefix(), "003");
    }

    proptest! {
        #[test]
        fn to18_then_parse_is_identity(prefix in "[0-9a-zA-Z]{3}", n in any::<u64>()) {
            let id = RecordId::mint(&prefix, n);
            prop_assert_eq!(RecordId::parse(&id.to18()), Some(id));
            prop_assert_eq!(RecordId::parse(&id.to18().to_lowercase()), Some(id));
            prop_assert_eq!(RecordId::parse(id.as15()), Some(id));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,20}") {
            let _ = RecordId::parse(&s);
        }

        /// An 18-character id is read as the rule reads it: its case restored from the
        /// suffix's places in the alphabet, and accepted when the suffix is the checksum of
        /// what that restores.
        #[test]
        fn eighteen_characters_are_read_by_the_rule(s in "[0-9A-Za-z]{15}[0-9A-Za-z]{3}") {
            prop_assert_eq!(RecordId::parse(&s), by_the_rule(&s));
        }

        /// The same for the suffixes of real ids, which the rule accepts.
        #[test]
        fn real_suffixes_are_read_by_the_rule(s in "[0-9A-Za-z]{15}", lower in any::<bool>()) {
            let id = RecordId::parse(&s).unwrap().to18();
            let id = if lower { id.to_lowercase() } else { id };
            prop_assert_eq!(RecordId::parse(&id), by_the_rule(&id));
            prop_assert!(RecordId::parse(&id).is_some());
        }
    }

    /// An 18-character id read the slow way: each suffix character's place in the
    /// alphabet found by search, the case restored, the checksum of the result compared.
    fn by_the_rule(s: &str) -> Option<RecordId> {
        let b = s.as_bytes();
        let mut id: [u8; 15] = b[..15].try_into().unwrap();
        for (chunk, &sum) in id.chunks_mut(5).zip(&b[15..]) {
            let bits = CHECKSUM_ALPHABET
                .iter()
                .position(|&c| c == sum.to_ascii_uppercase())?;
            for (i, c) in chunk.iter_mut().enumerate() {
                *c = if bits & (1 << i) != 0 {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                };
            }
        }
        let id = RecordId(id);
        id.checksum().eq_ignore_ascii_case(&b[15..]).then_some(id)
    }
}
