//! SOSL statements (`data-apis.md` §5.2):
//!
//! ```text
//! FIND {term} [IN (ALL|NAME|EMAIL|PHONE|SIDEBAR) FIELDS]
//!   [RETURNING Object [(Field, ... [WHERE cond] [ORDER BY ...] [LIMIT n] [OFFSET n])], ...]
//!   [WITH ...] [LIMIT n] [UPDATE TRACKING | UPDATE VIEWSTAT]
//! ```
//!
//! The text between the braces is the search expression ([`crate::sosl::term`]); the rest is
//! lexed as SOQL, and each object's field list, `WHERE` and `ORDER BY` become a SOQL
//! [`Query`] on that object, so they bind and run as SOQL does and their errors point at
//! the SOSL text.

use crate::ast::*;
use crate::error::{ErrorKind, SoqlError};
use crate::lexer::{Tok, lex};
use crate::sosl::statement::{Returning, Scope, Search};
use crate::sosl::term;

use super::Parser;

/// Longest SOSL statement accepted, in characters.
pub const MAX_STATEMENT: usize = 100_000;

fn malformed(message: impl Into<String>, at: Option<usize>) -> SoqlError {
    SoqlError::new(ErrorKind::MalformedSearch, message, at)
}

/// Where `FIND {...}` ends: the term's text and the offset after the closing brace.
fn find_clause(src: &str) -> Result<(&str, usize), SoqlError> {
    let no_term = || {
        malformed(
            "No search term found. The search term must be enclosed in braces.",
            None,
        )
    };
    let trimmed = src.trim_start();
    let start = src.len() - trimmed.len();
    let head = trimmed.get(..4).filter(|h| h.eq_ignore_ascii_case("FIND"));
    if head.is_none() {
        return Err(malformed(
            "unexpected token: the statement must start with FIND",
            Some(start),
        ));
    }
    let after_find = &trimmed[4..];
    let rest = after_find.trim_start();
    if !rest.starts_with('{') {
        return Err(no_term());
    }
    let open = src.len() - rest.len();
    let mut escaped = false;
    for (i, c) in src[open + 1..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '}' => return Ok((&src[open + 1..open + 1 + i], open + 2 + i)),
            _ => {}
        }
    }
    Err(no_term())
}

/// Parses one SOSL statement.
pub fn parse_search(src: &str) -> Result<Search, SoqlError> {
    if src.chars().count() > MAX_STATEMENT {
        return Err(malformed(
            format!("The search is too long; the maximum is {MAX_STATEMENT} characters"),
            None,
        ));
    }
    let (text, after) = find_clause(src)?;
    let term = term::parse_term(text)?;
    let mut tokens = lex(&src[after..])?;
    for t in &mut tokens {
        t.start += after;
        t.end += after;
    }
    let mut p = Parser {
        src,
        tokens,
        i: 0,
        depth: 0,
        cond_depth: 0,
    };
    p.search(term)
}

/// Largest SOSL `OFFSET`.
const MAX_OFFSET: u64 = 2000;

/// `OFFSET` is for one object at a time, and at most [`MAX_OFFSET`].
fn check_offsets(returning: &[Returning]) -> Result<(), SoqlError> {
    for r in returning {
        let Some(offset) = r.query.as_ref().and_then(|q| q.offset) else {
            continue;
        };
        if returning.len() > 1 {
            return Err(malformed(
                "OFFSET can be used only when RETURNING names one object",
                Some(r.object.pos.0),
            ));
        }
        if offset > MAX_OFFSET {
            return Err(SoqlError::new(
                ErrorKind::OutOfRange,
                "SOSL offset should be between 0 to 2000",
                Some(r.object.pos.0),
            ));
        }
    }
    Ok(())
}

impl Parser<'_> {
    fn search(&mut self, term: term::Term) -> Result<Search, SoqlError> {
        let scope = if self.eat_kw("IN") {
            let scope = match self.ident()?.name.to_ascii_uppercase().as_str() {
                "ALL" => Scope::All,
                "NAME" => Scope::Name,
                "EMAIL" => Scope::Email,
                "PHONE" => Scope::Phone,
                "SIDEBAR" => Scope::Sidebar,
                _ => return Err(self.unexpected_search()),
            };
            self.expect_kw("FIELDS")
                .map_err(|_| self.unexpected_search())?;
            scope
        } else {
            Scope::All
        };
        let mut returning = Vec::new();
        if self.eat_kw("RETURNING") {
            returning.push(self.object_spec()?);
            while *self.peek() == Tok::Comma {
                self.bump();
                returning.push(self.object_spec()?);
            }
        }
        check_offsets(&returning)?;
        let metadata_labels = self.with_clauses()?;
        let limit = if self.eat_kw("LIMIT") {
            Some(self.count()?)
        } else {
            None
        };
        if self.eat_kw("UPDATE") && !(self.eat_kw("TRACKING") || self.eat_kw("VIEWSTAT")) {
            return Err(self.unexpected_search());
        }
        if *self.peek() != Tok::Eof {
            return Err(self.unexpected_search());
        }
        Ok(Search {
            term,
            scope,
            returning,
            limit,
            metadata_labels,
        })
    }

    fn unexpected_search(&self) -> SoqlError {
        let mut e = self.unexpected();
        e.kind = ErrorKind::MalformedSearch;
        e
    }

    /// `Object [(fields [WHERE ...] [ORDER BY ...] [LIMIT n] [OFFSET n])]`.
    fn object_spec(&mut self) -> Result<Returning, SoqlError> {
        let object = self.ident()?;
        if *self.peek() != Tok::LParen {
            return Ok(Returning {
                object,
                query: None,
            });
        }
        self.bump();
        let mut select = vec![self.search_field()?];
        while *self.peek() == Tok::Comma {
            self.bump();
            select.push(self.search_field()?);
        }
        let filter = if self.eat_kw("WHERE") {
            Some(self.cond(false)?)
        } else {
            None
        };
        if self.is_kw("USING") {
            return Err(SoqlError::malformed(
                "USING ListView is not supported",
                self.pos(),
            ));
        }
        let order_by = self.order_by()?;
        let limit = if self.eat_kw("LIMIT") {
            Some(self.count()?)
        } else {
            None
        };
        let offset = if self.eat_kw("OFFSET") {
            Some(self.count()?)
        } else {
            None
        };
        self.expect(Tok::RParen)?;
        let query = Query {
            select,
            from: object.clone(),
            alias: None,
            filter,
            group_by: Vec::new(),
            having: None,
            order_by,
            limit,
            offset,
            for_clause: None,
        };
        Ok(Returning {
            object,
            query: Some(query),
        })
    }

    /// A field of a `RETURNING` list: a path; functions and subqueries are refused.
    fn search_field(&mut self) -> Result<SelectItem, SoqlError> {
        let at = self.pos();
        let function = matches!(self.peek(), Tok::Ident(_)) && *self.peek_at(1) == Tok::LParen;
        if function || *self.peek() == Tok::LParen {
            return Err(SoqlError::malformed(
                "Functions and subqueries are not supported in a RETURNING field list",
                at,
            ));
        }
        if self.reserved() {
            return Err(self.unexpected());
        }
        Ok(SelectItem::Field(self.path()?))
    }

    /// The `WITH` clauses: `METADATA = 'LABELS'` is kept; `DIVISION`, `NETWORK`,
    /// `PricebookId`, `SNIPPET`, `HIGHLIGHT` and `SPELL_CORRECTION` are read and have no
    /// effect here; `DATA CATEGORY` is refused.
    fn with_clauses(&mut self) -> Result<bool, SoqlError> {
        let mut labels = false;
        while self.eat_kw("WITH") {
            let at = self.pos();
            let name = self.ident()?.name.to_ascii_uppercase();
            match name.as_str() {
                "HIGHLIGHT" => {}
                "SNIPPET" => {
                    if *self.peek() == Tok::LParen {
                        self.bump();
                        self.ident()?;
                        self.expect(Tok::Eq)?;
                        self.literal()?;
                        self.expect(Tok::RParen)?;
                    }
                }
                "METADATA" | "DIVISION" | "PRICEBOOKID" | "SPELL_CORRECTION" => {
                    self.expect(Tok::Eq)?;
                    let value = self.literal()?;
                    labels |= name == "METADATA"
                        && matches!(&value, Literal::Str(s) if s.eq_ignore_ascii_case("LABELS"));
                }
                "NETWORK" => {
                    if self.eat_kw("IN") {
                        self.expect(Tok::LParen)?;
                        self.literal()?;
                        while *self.peek() == Tok::Comma {
                            self.bump();
                            self.literal()?;
                        }
                        self.expect(Tok::RParen)?;
                    } else {
                        self.expect(Tok::Eq)?;
                        self.literal()?;
                    }
                }
                _ => {
                    return Err(malformed(format!("WITH {name} is not supported"), Some(at)));
                }
            }
        }
        Ok(labels)
    }
}
