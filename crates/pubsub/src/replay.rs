//! Replay ids on the wire: 8 bytes, big-endian, unsigned (`pubsub-api.md` §4.5). Every
//! client that reads them takes exactly that shape (the npm client's `readBigUInt64BE`,
//! the Java examples' `ByteBuffer.putLong`).

use bytes::Bytes;

/// Why replay-id bytes are not a replay id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplayIdError {
    /// Fewer than 8 bytes (empty included): Salesforce's "validation failed".
    #[error("a replay id is 8 bytes; got {0}")]
    Short(usize),
    /// More than 8 bytes: not an id this server ever issued ("corrupted").
    #[error("a replay id is 8 bytes; got {0}")]
    Long(usize),
}

/// The wire form of a log position.
pub fn encode(id: u64) -> Bytes {
    Bytes::copy_from_slice(&id.to_be_bytes())
}

/// The log position of wire bytes.
pub fn decode(bytes: &[u8]) -> Result<u64, ReplayIdError> {
    match <[u8; 8]>::try_from(bytes) {
        Ok(b) => Ok(u64::from_be_bytes(b)),
        Err(_) if bytes.len() < 8 => Err(ReplayIdError::Short(bytes.len())),
        Err(_) => Err(ReplayIdError::Long(bytes.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn eight_bytes_big_endian() {
        assert_eq!(&encode(0x0102)[..], &[0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(decode(&[0, 0, 0, 0, 0, 0, 1, 2]), Ok(0x0102));
        assert_eq!(decode(&[]), Err(ReplayIdError::Short(0)));
        assert_eq!(decode(&[1; 7]), Err(ReplayIdError::Short(7)));
        assert_eq!(decode(&[1; 10]), Err(ReplayIdError::Long(10)));
    }

    proptest! {
        #[test]
        fn round_trips(id in any::<u64>()) {
            prop_assert_eq!(decode(&encode(id)), Ok(id));
        }

        #[test]
        fn any_bytes_decode_or_fail_by_length(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
            match decode(&bytes) {
                Ok(id) => prop_assert_eq!(&encode(id)[..], &bytes[..]),
                Err(ReplayIdError::Short(n)) => prop_assert!(n < 8 && n == bytes.len()),
                Err(ReplayIdError::Long(n)) => prop_assert!(n > 8 && n == bytes.len()),
            }
        }
    }
}
