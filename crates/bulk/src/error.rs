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
    /// The store is full (`STORAGE_LIMIT_EXCEEDED`, as Salesforce names a full org).
    StorageLimitExceeded,
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
            Self::StorageLimitExceeded => "STORAGE_LIMIT_EXCEEDED",
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

    /// A storage or file failure: `STORAGE_LIMIT_EXCEEDED` when the store or the disk is
    /// full (the engine's text goes to the log), `Unknown` otherwise.
    pub fn internal<E: fmt::Display + 'static>(cause: &E) -> Self {
        let any = cause as &dyn std::any::Any;
        let full = any
            .downcast_ref::<forcebus_store::StoreError>()
            .is_some_and(forcebus_store::StoreError::is_full)
            || any
                .downcast_ref::<std::io::Error>()
                .is_some_and(forcebus_store::io_is_full);
        if full {
            tracing::error!(error = %cause, "The store is full: a Bulk API write was refused.");
            return Self::new(
                Kind::StorageLimitExceeded,
                forcebus_org::error::STORAGE_FULL,
            );
        }
        Self::new(Kind::Unknown, cause.to_string())
    }

    /// The job's `errorMessage` when this ends it: `Code : message`.
    pub fn job_message(&self) -> String {
        format!("{} : {}", self.kind.name(), self.message)
    }
}

impl fmt::Display for BulkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.message)
    }
}

impl std::error::Error for BulkError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_store_fails_a_job_with_salesforces_code_and_message() {
        let full = forcebus_store::StoreError::Io {
            path: "the data directory".into(),
            source: std::io::Error::from_raw_os_error(28),
        };
        let e = BulkError::internal(&full);
        assert_eq!(e.kind, Kind::StorageLimitExceeded);
        assert_eq!(
            e.job_message(),
            "STORAGE_LIMIT_EXCEEDED : storage limit exceeded"
        );
        let other = BulkError::internal(&"something else");
        assert_eq!(other.job_message(), "Unknown : something else");
    }
}
