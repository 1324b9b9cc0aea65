//! Why a declaration or a schema change is refused.

/// A refused declaration or schema change: what kind of refusal, and Salesforce's
/// message. The org reports each kind as one Salesforce error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SchemaError {
    /// What kind of refusal.
    pub kind: ErrorKind,
    /// The message, as Salesforce words it.
    pub message: String,
}

/// The kinds of refusal, each one Salesforce error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A declaration that is not valid Metadata (`INVALID_INPUT`).
    InvalidInput,
    /// A name another object or field has (`DUPLICATE_DEVELOPER_NAME`).
    DuplicateName,
    /// Past what an org may have (`LIMIT_EXCEEDED`).
    LimitExceeded,
    /// A name Salesforce does not allow, or a change the records' values do not
    /// (`FIELD_INTEGRITY_EXCEPTION`).
    FieldIntegrity,
    /// An object that is unknown or cannot take the change (`INVALID_TYPE`).
    InvalidType,
    /// A field made unique while records share a value (`DUPLICATE_VALUE`).
    DuplicateValue,
}

impl SchemaError {
    /// A refusal of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// An unknown object name, as Salesforce words it.
    pub fn no_such_object(object: &str) -> Self {
        Self::new(
            ErrorKind::InvalidType,
            format!("sObject type '{object}' is not supported."),
        )
    }
}
