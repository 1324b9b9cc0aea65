//! Reading the blob fields' bytes the store keeps apart from their records
//! ([`crate::blobs`]), a piece at a time.

use forcebus_store::StoreError;

use crate::Org;

impl Org {
    /// How many bytes the blob under `key` holds, if it is there.
    pub fn blob_size(&self, key: &str) -> Result<Option<u64>, StoreError> {
        self.store.blob_size(key)
    }

    /// Up to `len` bytes of the blob under `key` from `offset` (none past its end).
    pub fn read_blob(&self, key: &str, offset: u64, len: usize) -> Result<Vec<u8>, StoreError> {
        self.store.read_blob(key, offset, len)
    }
}
