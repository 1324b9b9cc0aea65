//! Unsigned LEB128 varints: seven bits a byte, low bits first, the top bit set on every
//! byte but the last. What packed records and id sets are made of.

/// Appends `n`.
pub(crate) fn put(out: &mut Vec<u8>, mut n: u128) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The varint at `at`, moving `at` past it. The bytes are the crate's own (written by
/// [`put`]), never a client's.
pub(crate) fn get(bytes: &[u8], at: &mut usize) -> u128 {
    let mut n = 0u128;
    let mut shift = 0;
    loop {
        let b = bytes[*at];
        *at += 1;
        n |= u128::from(b & 0x7f) << shift;
        if b < 0x80 {
            return n;
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(ns in proptest::collection::vec(any::<u128>(), 0..20)) {
            let mut out = Vec::new();
            for &n in &ns {
                super::put(&mut out, n);
            }
            let mut at = 0;
            for &n in &ns {
                prop_assert_eq!(super::get(&out, &mut at), n);
            }
            prop_assert_eq!(at, out.len());
        }
    }
}
