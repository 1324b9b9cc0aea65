//! The Bulk APIs' jobs (`data-apis.md` §1 to §3): what Bulk API 2.0 and 1.0 share below
//! their wire formats.
//!
//! A job is created, given its data (streamed to a file), then run in the background by
//! one worker thread, in file order: an ingest job in chunks of [`CHUNK`] records, each
//! chunk one org transaction (its change events share a `transactionKey`, with
//! `changeOrigin` `com/salesforce/api/bulkapi/{v}`), a failed row failing only itself; a
//! query job runs its SOQL once and writes its rows as CSV, served in pages. A job's state
//! and progress are committed with the records of each chunk, so a restart resumes after
//! the last chunk that committed, and results are never written twice.
//!
//! Layout:
//! - [`job`]: jobs, their states and progress, as stored;
//! - [`columns`]: a CSV header and rows to org operations;
//! - [`ingest`]: running an ingest job; [`query`]: running a query job, and its pages;
//! - [`registry`]: the jobs of the org and the calls on them; `create`: a new job's
//!   checks; `upload`: a 2.0 ingest job's upload; `worker`: the thread that runs jobs;
//!   `durable`: the thread that makes an ingest job's committed chunks durable;
//! - [`results`]: an ingest job's result files, as spans to stream;
//! - [`classic`]: Bulk API 1.0 jobs and their batches; [`convert`]: XML and JSON batches
//!   to CSV;
//! - [`files`]: where a job's data lives; `mirror`: the same files kept in a store other
//!   nodes share, and copied back by the node serving the org; [`error`]: the APIs' errors.

pub mod classic;
pub mod columns;
pub mod convert;
mod create;
mod durable;
pub mod error;
pub mod files;
pub mod ingest;
pub mod job;
mod mirror;
pub mod query;
pub mod registry;
pub mod results;
mod upload;
mod worker;

/// Bulk API 2.0 query jobs an org may make a day (`DailyBulkV2QueryJobs`).
pub const DAILY_QUERY_JOBS: u64 = 10_000;

pub use error::{BulkError, Kind};
pub use job::{Job, JobType, Operation, State};
pub use registry::{Bulk, BulkConfig, NewJob};
pub use upload::Upload;

/// Records per org transaction: Salesforce's chunk size (triggers fire per 200).
pub const CHUNK: usize = 200;

/// The `# HELP` line of what Bulk jobs count (ingest rows); the server calls it once its
/// metrics recorder is installed.
pub fn describe_metrics() {
    metrics::describe_counter!(
        "forcebus_bulk_rows_total",
        "Bulk API ingest rows processed."
    );
}
