//! Org errors: Salesforce status codes with their message and the fields involved.
//!
//! [`Code`] is the one table of Salesforce error codes: every front door (REST,
//! SOAP, the SOQL errors they render) names its codes from it, and their wire text comes
//! from [`Code::as_str`] alone. The codes are the exact upstream strings clients
//! match on; the REST and SOAP edges pick the HTTP status and body shape, the org only
//! says what went wrong.

use std::fmt;

/// Salesforce error codes (`errorCode` / `statusCode` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // Each variant is the upstream code of the same name.
pub enum Code {
    AllOrNoneOperationRolledBack,
    ApiCurrentlyDisabled,
    BatchProcessingHalted,
    CannotInsertUpdateActivateEntity,
    CannotUpdateConvertedLead,
    DuplicateDeveloperName,
    DuplicateExternalId,
    DuplicateValue,
    EntityIsDeleted,
    ExceededIdLimit,
    ExceededMaxSizeRequest,
    ExternalObjectUnsupported,
    FieldCustomValidationException,
    FieldIntegrityException,
    Gone,
    InsufficientAccess,
    InsufficientAccessOnCrossReferenceEntity,
    /// `INSUFFICIENT_ACCESS`: a user permission an API needs is missing.
    InsufficientPrivileges,
    InvalidCrossReferenceKey,
    InvalidDateFormat,
    InvalidEmailAddress,
    InvalidField,
    InvalidFieldForInsertUpdate,
    InvalidId,
    InvalidInput,
    InvalidLogin,
    InvalidNewPassword,
    InvalidOperation,
    InvalidOrNullForRestrictedPicklist,
    InvalidQueryFilterOperator,
    InvalidQueryLocator,
    InvalidReplayId,
    InvalidReplicationDate,
    InvalidSearch,
    InvalidSessionId,
    InvalidStatus,
    InvalidType,
    JsonParserError,
    LimitExceeded,
    MalformedId,
    MalformedQuery,
    MalformedSearch,
    MalformedUrl,
    MergeFailed,
    MethodNotAllowed,
    MissingArgument,
    NotFound,
    NumberOutsideValidRange,
    OperationEnqueued,
    ProcessingHalted,
    RequestEntityTooLarge,
    RequestLimitExceeded,
    RequiredFieldMissing,
    ServerUnavailable,
    StandardPriceNotDefined,
    StorageLimitExceeded,
    StringTooLong,
    UndeleteFailed,
    UnknownException,
    UnsupportedApiVersion,
    UnsupportedMediaType,
}

impl Code {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllOrNoneOperationRolledBack => "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            Self::ApiCurrentlyDisabled => "API_CURRENTLY_DISABLED",
            Self::BatchProcessingHalted => "BATCH_PROCESSING_HALTED",
            Self::CannotInsertUpdateActivateEntity => "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
            Self::CannotUpdateConvertedLead => "CANNOT_UPDATE_CONVERTED_LEAD",
            Self::DuplicateDeveloperName => "DUPLICATE_DEVELOPER_NAME",
            Self::DuplicateExternalId => "DUPLICATE_EXTERNAL_ID",
            Self::DuplicateValue => "DUPLICATE_VALUE",
            Self::EntityIsDeleted => "ENTITY_IS_DELETED",
            Self::ExceededIdLimit => "EXCEEDED_ID_LIMIT",
            Self::ExceededMaxSizeRequest => "EXCEEDED_MAX_SIZE_REQUEST",
            Self::ExternalObjectUnsupported => "EXTERNAL_OBJECT_UNSUPPORTED_EXCEPTION",
            Self::FieldCustomValidationException => "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            Self::FieldIntegrityException => "FIELD_INTEGRITY_EXCEPTION",
            Self::Gone => "GONE",
            Self::InsufficientAccess => "INSUFFICIENT_ACCESS_OR_READONLY",
            Self::InsufficientPrivileges => "INSUFFICIENT_ACCESS",
            Self::InsufficientAccessOnCrossReferenceEntity => {
                "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"
            }
            Self::InvalidCrossReferenceKey => "INVALID_CROSS_REFERENCE_KEY",
            Self::InvalidDateFormat => "INVALID_DATE_FORMAT",
            Self::InvalidEmailAddress => "INVALID_EMAIL_ADDRESS",
            Self::InvalidField => "INVALID_FIELD",
            Self::InvalidFieldForInsertUpdate => "INVALID_FIELD_FOR_INSERT_UPDATE",
            Self::InvalidId => "INVALID_ID_FIELD",
            Self::InvalidInput => "INVALID_INPUT",
            Self::InvalidLogin => "INVALID_LOGIN",
            Self::InvalidNewPassword => "INVALID_NEW_PASSWORD",
            Self::InvalidOperation => "INVALID_OPERATION",
            Self::InvalidOrNullForRestrictedPicklist => "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            Self::InvalidQueryFilterOperator => "INVALID_QUERY_FILTER_OPERATOR",
            Self::InvalidQueryLocator => "INVALID_QUERY_LOCATOR",
            Self::InvalidReplayId => "INVALID_REPLAY_ID",
            Self::InvalidReplicationDate => "INVALID_REPLICATION_DATE",
            Self::InvalidSearch => "INVALID_SEARCH",
            Self::InvalidSessionId => "INVALID_SESSION_ID",
            Self::InvalidStatus => "INVALID_STATUS",
            Self::InvalidType => "INVALID_TYPE",
            Self::JsonParserError => "JSON_PARSER_ERROR",
            Self::LimitExceeded => "LIMIT_EXCEEDED",
            Self::MalformedId => "MALFORMED_ID",
            Self::MalformedQuery => "MALFORMED_QUERY",
            Self::MalformedSearch => "MALFORMED_SEARCH",
            Self::MalformedUrl => "MALFORMED_URL",
            Self::MergeFailed => "MERGE_FAILED",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::MissingArgument => "MISSING_ARGUMENT",
            Self::NotFound => "NOT_FOUND",
            Self::NumberOutsideValidRange => "NUMBER_OUTSIDE_VALID_RANGE",
            Self::OperationEnqueued => "OPERATION_ENQUEUED",
            Self::ProcessingHalted => "PROCESSING_HALTED",
            Self::RequestEntityTooLarge => "REQUEST_ENTITY_TOO_LARGE",
            Self::RequestLimitExceeded => "REQUEST_LIMIT_EXCEEDED",
            Self::RequiredFieldMissing => "REQUIRED_FIELD_MISSING",
            Self::ServerUnavailable => "SERVER_UNAVAILABLE",
            Self::StandardPriceNotDefined => "STANDARD_PRICE_NOT_DEFINED",
            Self::StorageLimitExceeded => "STORAGE_LIMIT_EXCEEDED",
            Self::StringTooLong => "STRING_TOO_LONG",
            Self::UndeleteFailed => "UNDELETE_FAILED",
            Self::UnknownException => "UNKNOWN_EXCEPTION",
            Self::UnsupportedApiVersion => "UNSUPPORTED_API_VERSION",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
        }
    }
}

impl From<forcebus_soql::ErrorKind> for Code {
    /// The code a SOQL error is reported with.
    fn from(kind: forcebus_soql::ErrorKind) -> Self {
        use forcebus_soql::ErrorKind as K;
        match kind {
            K::InvalidField => Self::InvalidField,
            K::InvalidType => Self::InvalidType,
            K::InvalidFilter => Self::InvalidQueryFilterOperator,
            K::OutOfRange => Self::NumberOutsideValidRange,
            K::MalformedSearch => Self::MalformedSearch,
            K::InvalidSearch => Self::InvalidSearch,
            // `Malformed`, and any kind the SOQL crate adds later: a query the server
            // cannot run as written.
            _ => Self::MalformedQuery,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected operation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct OrgError {
    /// The Salesforce code.
    pub code: Code,
    /// Human text, as Salesforce words it.
    pub message: String,
    /// The fields involved, if any.
    pub fields: Vec<String>,
    /// More errors of the same write, reported after this one (every validation rule a
    /// record breaks is an error of its own).
    pub also: Vec<OrgError>,
}

/// Longest error message, in characters. Messages quote what the client sent (a value
/// that is not a number, a picklist value); a 10 MB value must not come back whole.
pub const MAX_MESSAGE_CHARS: usize = 1_000;

/// `message`, cut to [`MAX_MESSAGE_CHARS`] characters with `…` where it was cut.
pub fn bounded_message(message: String) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        None => message,
        Some((at, _)) => {
            let mut cut = message;
            cut.truncate(at);
            cut.push('…');
            cut
        }
    }
}

/// Salesforce's message for `STORAGE_LIMIT_EXCEEDED`.
pub const STORAGE_FULL: &str = "storage limit exceeded";

/// The message of `SERVER_UNAVAILABLE` (503), as Salesforce words an unavailable server.
pub const SERVER_UNAVAILABLE: &str =
    "The server is unavailable to handle the request; try again later.";

impl OrgError {
    /// `INSUFFICIENT_ACCESS_OR_READONLY`: the caller may not change or delete the record
    /// (its sharing, or their object permissions).
    pub fn insufficient_access() -> Self {
        Self::new(
            Code::InsufficientAccess,
            "insufficient access rights on object id",
        )
    }

    /// An error without fields.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: bounded_message(message.into()),
            fields: Vec::new(),
            also: Vec::new(),
        }
    }

    /// An error about one field.
    pub fn field(code: Code, message: impl Into<String>, field: &str) -> Self {
        Self {
            code,
            message: bounded_message(message.into()),
            fields: vec![field.to_owned()],
            also: Vec::new(),
        }
    }

    /// A storage failure as the client sees it: `STORAGE_LIMIT_EXCEEDED` when the store is
    /// full (Salesforce's full org), `SERVER_UNAVAILABLE` (503) while its database cannot
    /// be reached, else `UNKNOWN_EXCEPTION`. The engine's text goes to
    /// the log, not to the client, for a full store.
    pub fn storage(e: &forcebus_store::StoreError) -> Self {
        if e.is_full() {
            tracing::error!(error = %e, "The store is full: a write was refused.");
            return Self::new(Code::StorageLimitExceeded, STORAGE_FULL);
        }
        if e.is_unavailable() {
            tracing::error!(error = %e, "The database cannot be reached: a call was refused.");
            return Self::new(Code::ServerUnavailable, SERVER_UNAVAILABLE);
        }
        Self::new(Code::UnknownException, e.to_string())
    }

    /// `NOT_FOUND` for a record path.
    pub fn not_found() -> Self {
        Self::new(Code::NotFound, "The requested resource does not exist")
    }

    /// `ENTITY_IS_DELETED`.
    pub fn deleted() -> Self {
        Self::new(Code::EntityIsDeleted, "entity is deleted")
    }

    /// `CANNOT_UPDATE_CONVERTED_LEAD`: a converted lead is read-only.
    pub fn converted_lead() -> Self {
        Self::new(
            Code::CannotUpdateConvertedLead,
            "cannot reference converted lead",
        )
    }

    /// `INVALID_FIELD` for an unknown field name.
    pub fn no_such_field(object: &str, field: &str) -> Self {
        Self::new(
            Code::InvalidField,
            format!("No such column '{field}' on sobject of type {object}"),
        )
    }

    /// `NOT_FOUND` for a field that is not an external id (nor `Id`) in an upsert or a
    /// retrieval by external id.
    pub fn not_an_external_id(field: &str) -> Self {
        Self::new(
            Code::NotFound,
            format!("Provided external ID field does not exist or is not accessible: {field}"),
        )
    }

    /// `INVALID_TYPE` for an unknown object name.
    pub fn no_such_object(object: &str) -> Self {
        Self::new(
            Code::InvalidType,
            format!("sObject type '{object}' is not supported."),
        )
    }
}

/// A refused declaration or schema change, with its kind's code.
impl From<forcebus_schema::SchemaError> for OrgError {
    fn from(e: forcebus_schema::SchemaError) -> Self {
        use forcebus_schema::ErrorKind as K;
        let code = match e.kind {
            K::InvalidInput => Code::InvalidInput,
            K::DuplicateName => Code::DuplicateDeveloperName,
            K::LimitExceeded => Code::LimitExceeded,
            K::FieldIntegrity => Code::FieldIntegrityException,
            K::InvalidType => Code::InvalidType,
            K::DuplicateValue => Code::DuplicateValue,
            _ => Code::InvalidInput,
        };
        Self::new(code, e.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soql_errors_keep_their_codes() {
        use forcebus_soql::ErrorKind as K;
        for kind in [
            K::Malformed,
            K::InvalidField,
            K::InvalidType,
            K::InvalidFilter,
            K::OutOfRange,
        ] {
            assert_eq!(Code::from(kind).as_str(), kind.code());
        }
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_MESSAGE_CHARS + 5);
        let cut = OrgError::new(Code::InvalidField, long).message;
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(cut.ends_with('…'));
        let short = OrgError::new(Code::InvalidField, "short").message;
        assert_eq!(short, "short");
    }
}
