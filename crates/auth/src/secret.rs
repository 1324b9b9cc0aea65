//! Secrets compared and kept: a token's digest, and comparison in constant time.

use sha2::{Digest, Sha256};

/// The SHA-256 of `token`, in lower-case hex.
pub(crate) fn digest(token: &str) -> String {
    Hex::digest(token).as_str().to_owned()
}

/// A token's SHA-256 in lower-case hex, held in place: every request with a token hashes
/// it to look it up, with no formatting machinery per byte and nothing allocated.
pub(crate) struct Hex([u8; 64]);

impl Hex {
    pub(crate) fn digest(token: &str) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let d = Sha256::digest(token.as_bytes());
        let mut hex = [0u8; 64];
        for (pair, b) in hex.chunks_exact_mut(2).zip(d) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 15)];
        }
        Self(hex)
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits")
    }
}

/// Compares secrets in time independent of where they differ.
pub fn secret_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_digest_is_sha256_in_lower_case_hex() {
        assert_eq!(
            super::digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
