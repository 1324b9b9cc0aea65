//! Secrets compared and kept: a token's digest, and comparison in constant time.

use sha2::{Digest, Sha256};

/// The SHA-256 of `token`, in lower-case hex.
pub(crate) fn digest(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let d = Sha256::digest(token.as_bytes());
    // Every request with a token hashes it: no formatting machinery per byte.
    let mut hex = String::with_capacity(d.len() * 2);
    for b in d {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 15)]));
    }
    hex
}

/// Compares secrets in time independent of where they differ.
pub fn secret_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
