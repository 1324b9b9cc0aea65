//! Errors of the Bulk APIs, in Salesforce's names (`data-apis.md` §1.10, §2.6). Bulk 2.0
//! shows them upper-cased in a REST error array (`INVALIDJOBSTATE`); Bulk 1.0 in its own
//! `exceptionCode` envelope (`InvalidJobState`).

use std::fmt;

/// Which error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No such job (or not the caller's API).
    NotFound,
    /// The job cannot be made as asked (unknown object, operation, delimiter, ...).
    InvalidJob,
    /// The job is not in a state that allows the call.
    InvalidJobState,
    /// The data or a parameter is wrong.
    ClientInputError,
    /// A batch cannot be read or processed.
    InvalidBatch,
    /// The call is over a limit (upload size, daily jobs).
    ExceededQuota,
    /// A query the Bulk APIs do not run.
    InvalidOperation,
    /// Storage failed inside the server.
    Unknown,
}

impl Kind {
    /// The Bulk 1.0 `exceptionCode`.
    pub fn name(self) -> &'static str {
        match self {
            Self::NotFound => "NotFound",
            Self::InvalidJob => "InvalidJob",
            Self::InvalidJobState => "InvalidJobState",
            Self::ClientInputError => "ClientInputError",
            Self::InvalidBatch => "InvalidBatch",
            Self::ExceededQuota => "ExceededQuota",
            Self::InvalidOperation => "InvalidOperation",
            Self::Unknown => "Unknown",
        }
    }

    /// The Bulk 2.0 `errorCode` (`NOT_FOUND` keeps the REST spelling clients match).
    pub fn code(self) -> String {
        match self {
            Self::NotFound => "NOT_FOUND".into(),
            other => other.name().to_ascii_uppercase(),
        }
    }
}

/// A failed Bulk API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkError {
    /// Which error.
    pub kind: Kind,
    /// Salesforce's message.
    pub message: String,
}

impl BulkError {
    /// An error of `kind`.
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// No such job.
    pub fn not_found() -> Self {
        Self::new(Kind::NotFound, "The requested resource does not exist")
    }

    /// A storage or file failure.
    pub fn internal(cause: &dyn fmt::Display) -> Self {
        Self::new(Kind::Unknown, cause.to_string())
    }
}

impl fmt::Display for BulkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.message)
    }
}

impl std::error::Error for BulkError {}
