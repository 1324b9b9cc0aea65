//! A job as the Bulk APIs describe it (`data-apis.md` §1.3, §2.3): what it does, its state,
//! its counts, and how far it got. Kept in the store's `bulk` space as JSON, one key per
//! job, and written in the same storage commit as the records each chunk changes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use forcebus_csv::{Delimiter, Dialect, LineEnding};

/// Where jobs are kept in the store.
pub const SPACE: &str = "bulk";

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Operation {
    /// Create records.
    Insert,
    /// Update records by `Id`.
    Update,
    /// Insert or update by an external id.
    Upsert,
    /// Move records to the Recycle Bin.
    Delete,
    /// Delete records for good.
    HardDelete,
    /// Export live records.
    Query,
    /// Export live and deleted records.
    QueryAll,
}

impl Operation {
    /// The name the APIs use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Insert => "insert",
            Self::Update => "update",
            Self::Upsert => "upsert",
            Self::Delete => "delete",
            Self::HardDelete => "hardDelete",
            Self::Query => "query",
            Self::QueryAll => "queryAll",
        }
    }

    /// The operation a name stands for (any case).
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Insert,
            Self::Update,
            Self::Upsert,
            Self::Delete,
            Self::HardDelete,
            Self::Query,
            Self::QueryAll,
        ]
        .into_iter()
        .find(|o| o.name().eq_ignore_ascii_case(name))
    }

    /// A query job's operation.
    pub fn is_query(self) -> bool {
        matches!(self, Self::Query | Self::QueryAll)
    }
}

/// Which API made the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobType {
    /// Bulk API 2.0 ingest.
    V2Ingest,
    /// Bulk API 2.0 query.
    V2Query,
    /// Bulk API 1.0: a job, which holds batches.
    Classic,
    /// Bulk API 1.0: a batch of a job; it runs as a job of its own.
    ClassicBatch,
}

/// A job's state. Bulk 2.0 and 1.0 name some alike and some not; each API shows its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// Data may be uploaded (2.0), batches added (1.0).
    Open,
    /// 2.0: closed for upload, waiting to run. 1.0: closed (`Closed`).
    UploadComplete,
    /// Running.
    InProgress,
    /// Done.
    JobComplete,
    /// Stopped by an error; what ran stays.
    Failed,
    /// Stopped by the client; what ran stays.
    Aborted,
}

impl State {
    /// Whether the job will not change any more.
    pub fn terminal(self) -> bool {
        matches!(self, Self::JobComplete | Self::Failed | Self::Aborted)
    }

    /// The Bulk 2.0 name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::UploadComplete => "UploadComplete",
            Self::InProgress => "InProgress",
            Self::JobComplete => "JobComplete",
            Self::Failed => "Failed",
            Self::Aborted => "Aborted",
        }
    }
}

/// The format of a job's data and results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV in the job's dialect.
    Csv,
    /// Bulk 1.0 JSON.
    Json,
    /// Bulk 1.0 XML.
    Xml,
}

/// How far a job's processing got: every count and offset is committed with the records
/// of the chunk that advanced it, so a restart resumes exactly after the last chunk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Byte offset in the data of the next record to process (0: the header is next).
    pub offset: u64,
    /// Records processed (succeeded or failed).
    pub processed: u64,
    /// Records that failed.
    pub failed: u64,
    /// Lengths of the result files after the last committed chunk.
    pub success_bytes: u64,
    /// See `success_bytes`.
    pub failure_bytes: u64,
    /// Query jobs: rows written, and the byte offset of every thousandth row.
    pub rows: u64,
    /// See `rows`.
    pub row_index: Vec<u64>,
    /// Milliseconds spent processing.
    pub processing_ms: u64,
}

/// A job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// `750…`, 18 characters.
    pub id: String,
    /// What it does.
    pub operation: Operation,
    /// The object (for queries, the query's FROM).
    pub object: String,
    /// The external id field of an upsert.
    pub external_id_field: Option<String>,
    /// The SOQL of a query job.
    pub query: Option<String>,
    /// Which API made it.
    pub job_type: JobType,
    /// The API version it was made with, e.g. `59.0`.
    pub api_version: String,
    /// Who made it (18-character user id).
    pub created_by: String,
    /// `client=` of `Sforce-Call-Options`.
    pub client: Option<String>,
    /// When.
    pub created: DateTime<Utc>,
    /// Last change.
    pub modified: DateTime<Utc>,
    /// Its state.
    pub state: State,
    /// Why it failed.
    pub error: Option<String>,
    /// `columnDelimiter`.
    pub delimiter: String,
    /// `lineEnding`.
    pub line_ending: String,
    /// `assignmentRuleId`, kept and shown.
    pub assignment_rule_id: Option<String>,
    /// Bytes uploaded (2.0), or `None` before the upload.
    pub uploaded: Option<u64>,
    /// Progress.
    pub progress: Progress,
    /// A Bulk 1.0 batch's job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// A Bulk 1.0 job's `contentType`: `CSV`, `XML` or `JSON`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// A Bulk 1.0 job's `concurrencyMode`: `Parallel` or `Serial`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<String>,
    /// Its files are kept in a store other nodes share as well (made on PostgreSQL by a
    /// version that keeps them); otherwise they are on the disk of the node that made
    /// them only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kept: bool,
}

impl Job {
    /// The job's CSV dialect.
    pub fn dialect(&self) -> Dialect {
        Dialect {
            delimiter: Delimiter::from_name(&self.delimiter).unwrap_or_default(),
            line_ending: LineEnding::from_name(&self.line_ending).unwrap_or_default(),
        }
    }

    /// The format of a Bulk 1.0 job's data and answers (`CSV` for every other job).
    pub fn format(&self) -> Format {
        match self
            .content_type
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("JSON") => Format::Json,
            Some("XML") => Format::Xml,
            _ => Format::Csv,
        }
    }

    /// The JSON kept in the store.
    pub fn stored(&self) -> String {
        serde_json::to_string(self).expect("a job serialises")
    }
}
