//! The Bulk APIs' wire forms over [`forcebus_bulk`]'s jobs: Bulk API 2.0
//! ([`v2`]: `/jobs/ingest`, `/jobs/query`) and Bulk API 1.0 ([`v1`]: `/services/async`,
//! its result lists in [`v1_results`]), their result files sent by [`stream`].

pub(crate) mod stream;
pub(crate) mod v1;
pub(crate) mod v1_results;
pub(crate) mod v2;
