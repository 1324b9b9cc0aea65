//! A parsed SOSL statement: what to look for, where, and what to return.

use crate::ast::{Ident, Query};
use crate::sosl::term::Term;

/// Which fields a search looks in (`IN ... FIELDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every searchable text field (the default).
    All,
    /// Name fields, and a few others per object (Account's `Website` and `Site`, ...).
    Name,
    /// Email fields.
    Email,
    /// Phone fields.
    Phone,
    /// As `ALL` here.
    Sidebar,
}

/// One object of `RETURNING`.
#[derive(Debug, Clone, PartialEq)]
pub struct Returning {
    /// The object as written.
    pub object: Ident,
    /// Its field list and clauses as a SOQL query on it, when a field list is given.
    pub query: Option<Query>,
}

/// A parsed SOSL statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// What to look for.
    pub term: Term,
    /// Where to look.
    pub scope: Scope,
    /// The objects to return, in order; all searchable objects when empty.
    pub returning: Vec<Returning>,
    /// The overall `LIMIT`.
    pub limit: Option<u64>,
    /// `WITH METADATA = 'LABELS'`.
    pub metadata_labels: bool,
}
