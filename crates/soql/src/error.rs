//! SOQL errors, rendered as Salesforce renders them: the query, a caret under the offending
//! column, `ERROR at Row:r:Column:c`, then the explanation.

use std::fmt;

/// What went wrong; each kind is one Salesforce `errorCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Syntax: `MALFORMED_QUERY`.
    Malformed,
    /// Unknown field or relationship: `INVALID_FIELD`.
    InvalidField,
    /// Unknown object: `INVALID_TYPE`.
    InvalidType,
    /// A literal of the wrong type for its field: `INVALID_QUERY_FILTER_OPERATOR`.
    InvalidFilter,
    /// OFFSET past 2,000 and similar: `NUMBER_OUTSIDE_VALID_RANGE`.
    OutOfRange,
    /// A SOSL statement that cannot be read: `MALFORMED_SEARCH`.
    MalformedSearch,
    /// A SOSL search term Salesforce refuses (too short, a leading wildcard):
    /// `INVALID_SEARCH`.
    InvalidSearch,
}

impl ErrorKind {
    /// The Salesforce error code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Malformed => "MALFORMED_QUERY",
            Self::InvalidField => "INVALID_FIELD",
            Self::InvalidType => "INVALID_TYPE",
            Self::InvalidFilter => "INVALID_QUERY_FILTER_OPERATOR",
            Self::OutOfRange => "NUMBER_OUTSIDE_VALID_RANGE",
            Self::MalformedSearch => "MALFORMED_SEARCH",
            Self::InvalidSearch => "INVALID_SEARCH",
        }
    }
}

/// A SOQL error with the byte offset it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoqlError {
    /// The kind (and so the error code).
    pub kind: ErrorKind,
    /// The explanation, e.g. `unexpected token: 'FROM'`.
    pub message: String,
    /// Byte offset into the query, when the error has a place.
    pub offset: Option<usize>,
}

impl SoqlError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>, offset: Option<usize>) -> Self {
        Self {
            kind,
            message: message.into(),
            offset,
        }
    }

    pub(crate) fn malformed(message: impl Into<String>, offset: usize) -> Self {
        Self::new(ErrorKind::Malformed, message, Some(offset))
    }

    /// 1-based row and column of the error in `query`.
    pub fn position(&self, query: &str) -> Option<(usize, usize)> {
        let offset = self.offset?.min(query.len());
        let before = &query[..offset];
        let row = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Some((row, query[line_start..offset].chars().count() + 1))
    }

    /// The message as the REST API returns it.
    pub fn render(&self, query: &str) -> String {
        match self.position(query) {
            Some((row, col)) => {
                let line = query.lines().nth(row - 1).unwrap_or("");
                format!(
                    "\n{line}\n{caret:>col$}\nERROR at Row:{row}:Column:{col}\n{msg}",
                    caret = "^",
                    msg = self.message
                )
            }
            None => self.message.clone(),
        }
    }
}

impl fmt::Display for SoqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.message)
    }
}

impl std::error::Error for SoqlError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_caret_diagram() {
        let q = "SELECT Id FROM Account WHERE";
        let e = SoqlError::malformed("unexpected token: <EOF>", q.len());
        assert_eq!(
            e.render(q),
            "\nSELECT Id FROM Account WHERE\n                            ^\nERROR at Row:1:Column:29\nunexpected token: <EOF>"
        );
        let q = "SELECT Id\nFROM Nope";
        let e = SoqlError::new(ErrorKind::InvalidType, "x", Some(15));
        assert_eq!(e.position(q), Some((2, 6)));
    }
}
