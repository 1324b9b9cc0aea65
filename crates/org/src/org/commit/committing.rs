//! A committed write's result, held back until the commit is durable.

use forcebus_eventlog::Commit;
use forcebus_store::StoreError;

use crate::error::{Code, OrgError};

/// A result that may be acknowledged only once its commit is durable.
#[derive(Debug)]
#[must_use = "a write may be acknowledged, and its events are shown, only once waited for"]
pub struct Committing<T> {
    result: T,
    commit: Commit,
    /// The write, under way until its commit is durable.
    underway: Option<crate::org::underway::Underway>,
}

impl<T> Committing<T> {
    pub(crate) fn new(result: T, commit: Commit) -> Self {
        Self {
            result,
            commit,
            underway: None,
        }
    }

    /// The same, with the write under way until its commit is durable.
    pub(crate) fn holding(mut self, underway: crate::org::underway::Underway) -> Self {
        self.underway = Some(underway);
        self
    }

    /// The result now, and the commit to wait for before acknowledging it (for a caller
    /// that hands the waiting to another task).
    pub fn into_parts(self) -> (T, Commit) {
        (self.result, self.commit)
    }

    /// The result, before the commit is durable (to go on with work that builds on it
    /// while another thread waits; it may be acknowledged only once that wait returns).
    pub fn result(&self) -> &T {
        &self.result
    }

    /// Waits (blocking this thread) until the commit is durable.
    pub fn wait(self) -> Result<T, StoreError> {
        self.commit.wait()?;
        Ok(self.result)
    }

    /// Waits, without blocking a thread, until the commit is durable.
    pub async fn wait_async(self) -> Result<T, StoreError> {
        self.commit.wait_async().await?;
        Ok(self.result)
    }

    /// The same commit, with its result turned into another.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Committing<U> {
        Committing {
            result: f(self.result),
            commit: self.commit,
            underway: self.underway,
        }
    }
}

/// The error every successful operation of a rolled-back all-or-none transaction gets.
pub fn rolled_back() -> OrgError {
    OrgError::new(
        Code::AllOrNoneOperationRolledBack,
        "Record rolled back because not all records were valid and the request was using \
         AllOrNone header",
    )
}
