//! Recursive-descent parser from tokens to [`crate::ast::Query`].
//!
//! Salesforce refuses `AND` and `OR` mixed at one level without parentheses; so does this
//! parser. Keywords are case-insensitive; a keyword is never taken as an alias.

use crate::ast::*;
use crate::error::{ErrorKind, SoqlError};
use crate::lexer::{Tok, Token, lex};

pub(crate) mod sosl;

/// Longest query accepted, in characters (Salesforce's limit).
pub const MAX_QUERY: usize = 100_000;

/// Most `NOT`s and parentheses nested in one condition.
pub const MAX_CONDITION_DEPTH: usize = 64;

/// Words that end a SELECT item or FROM clause, so they are never aliases.
const RESERVED: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "HAVING",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "FOR",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "INCLUDES",
    "EXCLUDES",
    "WITH",
    "USING",
    "ASC",
    "DESC",
    "NULLS",
    "BY",
    "ALL",
    "TYPEOF",
    "END",
    "UPDATE",
    "VIEW",
    "REFERENCE",
];

const DATE_LITERALS: &[&str] = &[
    "YESTERDAY",
    "TODAY",
    "TOMORROW",
    "LAST_WEEK",
    "THIS_WEEK",
    "NEXT_WEEK",
    "LAST_MONTH",
    "THIS_MONTH",
    "NEXT_MONTH",
    "LAST_90_DAYS",
    "NEXT_90_DAYS",
    "THIS_QUARTER",
    "LAST_QUARTER",
    "NEXT_QUARTER",
    "THIS_YEAR",
    "LAST_YEAR",
    "NEXT_YEAR",
    "THIS_FISCAL_QUARTER",
    "LAST_FISCAL_QUARTER",
    "NEXT_FISCAL_QUARTER",
    "THIS_FISCAL_YEAR",
    "LAST_FISCAL_YEAR",
    "NEXT_FISCAL_YEAR",
];

const DATE_LITERALS_N: &[&str] = &[
    "LAST_N_DAYS",
    "NEXT_N_DAYS",
    "N_DAYS_AGO",
    "LAST_N_WEEKS",
    "NEXT_N_WEEKS",
    "N_WEEKS_AGO",
    "LAST_N_MONTHS",
    "NEXT_N_MONTHS",
    "N_MONTHS_AGO",
    "LAST_N_QUARTERS",
    "NEXT_N_QUARTERS",
    "N_QUARTERS_AGO",
    "LAST_N_YEARS",
    "NEXT_N_YEARS",
    "N_YEARS_AGO",
    "LAST_N_FISCAL_QUARTERS",
    "NEXT_N_FISCAL_QUARTERS",
    "N_FISCAL_QUARTERS_AGO",
    "LAST_N_FISCAL_YEARS",
    "NEXT_N_FISCAL_YEARS",
    "N_FISCAL_YEARS_AGO",
];

/// Parses one SOQL statement.
pub fn parse(src: &str) -> Result<Query, SoqlError> {
    if src.chars().count() > MAX_QUERY {
        return Err(SoqlError::new(
            ErrorKind::Malformed,
            format!("Query is too long; the maximum is {MAX_QUERY} characters"),
            None,
        ));
    }
    let tokens = lex(src)?;
    let mut p = Parser {
        src,
        tokens,
        i: 0,
        depth: 0,
        cond_depth: 0,
    };
    let q = p.query()?;
    p.expect_eof()?;
    Ok(q)
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    i: usize,
    /// Nesting of sub-selects (at most 3 levels, Salesforce's rule).
    depth: usize,
    /// Nesting of `NOT`s and parentheses in the condition being parsed.
    cond_depth: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Tok {
        &self.tokens[self.i].tok
    }

    fn peek_at(&self, k: usize) -> &Tok {
        &self.tokens[(self.i + k).min(self.tokens.len() - 1)].tok
    }

    fn pos(&self) -> usize {
        self.tokens[self.i].start
    }

    fn bump(&mut self) -> Token {
        let t = self.tokens[self.i].clone();
        if self.i + 1 < self.tokens.len() {
            self.i += 1;
        }
        t
    }

    fn unexpected(&self) -> SoqlError {
        let t = &self.tokens[self.i];
        SoqlError::malformed(
            format!(
                "unexpected token: {}",
                t.tok.describe(self.src, t.start, t.end)
            ),
            t.start,
        )
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn is_kw_at(&self, k: usize, kw: &str) -> bool {
        matches!(self.peek_at(k), Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let hit = self.is_kw(kw);
        if hit {
            self.bump();
        }
        hit
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), SoqlError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect(&mut self, tok: Tok) -> Result<Token, SoqlError> {
        if *self.peek() == tok {
            Ok(self.bump())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect_eof(&self) -> Result<(), SoqlError> {
        if *self.peek() == Tok::Eof {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn ident(&mut self) -> Result<Ident, SoqlError> {
        match self.peek().clone() {
            Tok::Ident(name) => {
                let pos = Pos(self.bump().start);
                Ok(Ident { name, pos })
            }
            _ => Err(self.unexpected()),
        }
    }

    fn reserved(&self) -> bool {
        matches!(self.peek(), Tok::Ident(s) if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s)))
    }

    fn path(&mut self) -> Result<Path, SoqlError> {
        let mut parts = vec![self.ident()?];
        while *self.peek() == Tok::Dot {
            self.bump();
            parts.push(self.ident()?);
        }
        Ok(Path { parts })
    }

    fn query(&mut self) -> Result<Query, SoqlError> {
        self.depth += 1;
        if self.depth > 3 {
            return Err(SoqlError::malformed(
                "Nesting of semi join sub-selects is not supported",
                self.pos(),
            ));
        }
        self.expect_kw("SELECT")?;
        let mut select = vec![self.select_item()?];
        while *self.peek() == Tok::Comma {
            self.bump();
            select.push(self.select_item()?);
        }
        self.expect_kw("FROM")?;
        let from = self.ident()?;
        let alias = if matches!(self.peek(), Tok::Ident(_)) && !self.reserved() {
            Some(self.ident()?)
        } else {
            None
        };
        if self.is_kw("USING") || self.is_kw("WITH") {
            return Err(SoqlError::malformed(
                format!(
                    "{} is not supported",
                    self.tokens[self.i]
                        .tok
                        .describe(self.src, self.pos(), self.tokens[self.i].end)
                ),
                self.pos(),
            ));
        }
        let filter = if self.eat_kw("WHERE") {
            Some(self.cond(false)?)
        } else {
            None
        };
        let (group_by, having) = self.group_by()?;
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
        let for_clause = self.for_clause()?;
        if self.is_kw("ALL") && self.is_kw_at(1, "ROWS") {
            return Err(SoqlError::malformed(
                "ALL ROWS is not supported over the API; use queryAll",
                self.pos(),
            ));
        }
        self.depth -= 1;
        Ok(Query {
            select,
            from,
            alias,
            filter,
            group_by,
            having,
            order_by,
            limit,
            offset,
            for_clause,
        })
    }

    /// `GROUP BY` paths and date functions (no ROLLUP or CUBE) and its `HAVING`.
    fn group_by(&mut self) -> Result<(Vec<Operand>, Option<Cond>), SoqlError> {
        let mut group_by = Vec::new();
        let mut having = None;
        if !self.eat_kw("GROUP") {
            return Ok((group_by, having));
        }
        self.expect_kw("BY")?;
        if self.is_kw("ROLLUP") || self.is_kw("CUBE") {
            return Err(SoqlError::malformed(
                format!("{} in GROUP BY is not supported", self.ident_text()),
                self.pos(),
            ));
        }
        group_by.push(self.operand(false)?);
        while *self.peek() == Tok::Comma {
            self.bump();
            group_by.push(self.operand(false)?);
        }
        if self.eat_kw("HAVING") {
            having = Some(self.cond(true)?);
        }
        Ok((group_by, having))
    }

    /// `ORDER BY` keys, each with `ASC`/`DESC` and `NULLS FIRST`/`LAST`.
    fn order_by(&mut self) -> Result<Vec<OrderItem>, SoqlError> {
        let mut order_by = Vec::new();
        if !self.eat_kw("ORDER") {
            return Ok(order_by);
        }
        self.expect_kw("BY")?;
        loop {
            let key = self.operand(true)?;
            let desc = if self.eat_kw("DESC") {
                true
            } else {
                self.eat_kw("ASC");
                false
            };
            let nulls_first = if self.eat_kw("NULLS") {
                if self.eat_kw("FIRST") {
                    Some(true)
                } else {
                    self.expect_kw("LAST")?;
                    Some(false)
                }
            } else {
                None
            };
            order_by.push(OrderItem {
                key,
                desc,
                nulls_first,
            });
            if *self.peek() != Tok::Comma {
                break;
            }
            self.bump();
        }
        Ok(order_by)
    }

    /// `FOR VIEW`, `FOR REFERENCE` or `FOR UPDATE`.
    fn for_clause(&mut self) -> Result<Option<ForClause>, SoqlError> {
        if !self.eat_kw("FOR") {
            return Ok(None);
        }
        Ok(Some(if self.eat_kw("VIEW") {
            ForClause::View
        } else if self.eat_kw("REFERENCE") {
            ForClause::Reference
        } else {
            self.expect_kw("UPDATE")?;
            ForClause::Update
        }))
    }

    fn ident_text(&self) -> &str {
        match self.peek() {
            Tok::Ident(s) => s,
            _ => "",
        }
    }

    fn count(&mut self) -> Result<u64, SoqlError> {
        match self.peek().clone() {
            Tok::Num(n) => {
                let at = self.pos();
                self.bump();
                n.parse()
                    .map_err(|_| SoqlError::malformed(format!("unexpected token: '{n}'"), at))
            }
            _ => Err(self.unexpected()),
        }
    }

    fn select_item(&mut self) -> Result<SelectItem, SoqlError> {
        if *self.peek() == Tok::LParen {
            self.bump();
            let q = self.query()?;
            self.expect(Tok::RParen)?;
            return Ok(SelectItem::Subquery(Box::new(q)));
        }
        let at = self.pos();
        if self.is_kw("TYPEOF") || (self.is_kw("FIELDS") && *self.peek_at(1) == Tok::LParen) {
            return Err(SoqlError::malformed(
                format!(
                    "{} is not supported",
                    self.ident_text().to_ascii_uppercase()
                ),
                at,
            ));
        }
        if let Tok::Ident(name) = self.peek().clone()
            && *self.peek_at(1) == Tok::LParen
        {
            if let Some(func) = DateFunc::from_name(&name) {
                self.bump();
                self.bump();
                let arg = self.date_arg()?;
                self.expect(Tok::RParen)?;
                let alias = if matches!(self.peek(), Tok::Ident(_)) && !self.reserved() {
                    Some(self.ident()?)
                } else {
                    None
                };
                return Ok(SelectItem::DateFn {
                    func,
                    arg,
                    alias,
                    pos: Pos(at),
                });
            }
            if let Some(func) = AggFunc::from_name(&name) {
                self.bump();
                self.bump();
                if func == AggFunc::Count && *self.peek() == Tok::RParen {
                    self.bump();
                    return Ok(SelectItem::CountAll(Pos(at)));
                }
                let arg = self.path()?;
                self.expect(Tok::RParen)?;
                let alias = if matches!(self.peek(), Tok::Ident(_)) && !self.reserved() {
                    Some(self.ident()?)
                } else {
                    None
                };
                return Ok(SelectItem::Agg {
                    func,
                    arg,
                    alias,
                    pos: Pos(at),
                });
            }
            return Err(SoqlError::malformed(
                format!("unsupported function: {name}"),
                at,
            ));
        }
        if self.reserved() {
            return Err(self.unexpected());
        }
        Ok(SelectItem::Field(self.path()?))
    }

    /// A date function's argument: a path, or `convertTimezone(path)`, the path's
    /// datetime in the user's time zone (which is UTC here: `crate::dates`).
    fn date_arg(&mut self) -> Result<Path, SoqlError> {
        if self.is_kw("convertTimezone") && *self.peek_at(1) == Tok::LParen {
            self.bump();
            self.bump();
            let p = self.path()?;
            self.expect(Tok::RParen)?;
            return Ok(p);
        }
        self.path()
    }

    /// A condition; AND and OR may not mix at one level.
    fn cond(&mut self, having: bool) -> Result<Cond, SoqlError> {
        let first = self.unary(having)?;
        let mut items = vec![first];
        let mut joiner: Option<&'static str> = None;
        loop {
            let this = if self.is_kw("AND") {
                "AND"
            } else if self.is_kw("OR") {
                "OR"
            } else {
                break;
            };
            if joiner.is_some_and(|j| j != this) {
                return Err(self.unexpected());
            }
            joiner = Some(this);
            self.bump();
            items.push(self.unary(having)?);
        }
        Ok(match joiner {
            None => items.pop().expect("one item"),
            Some("AND") => Cond::And(items),
            Some(_) => Cond::Or(items),
        })
    }

    /// `NOT c`, `( c )` or a comparison. Each `NOT` and each parenthesis is a level of
    /// recursion here and in every later walk of the tree, so together they are bounded
    /// by [`MAX_CONDITION_DEPTH`]: a query of a few kilobytes must not exhaust the stack.
    fn unary(&mut self, having: bool) -> Result<Cond, SoqlError> {
        let negated = self.is_kw("NOT");
        if !negated && *self.peek() != Tok::LParen {
            return self.comparison(having);
        }
        self.cond_depth += 1;
        if self.cond_depth > MAX_CONDITION_DEPTH {
            return Err(SoqlError::malformed(
                "condition nested too deeply",
                self.pos(),
            ));
        }
        self.bump();
        let c = if negated {
            Cond::Not(Box::new(self.unary(having)?))
        } else {
            let c = self.cond(having)?;
            self.expect(Tok::RParen)?;
            c
        };
        self.cond_depth -= 1;
        Ok(c)
    }

    fn operand(&mut self, allow_agg: bool) -> Result<Operand, SoqlError> {
        let at = self.pos();
        if let Tok::Ident(name) = self.peek().clone()
            && *self.peek_at(1) == Tok::LParen
        {
            if let Some(f) = DateFunc::from_name(&name) {
                self.bump();
                self.bump();
                let p = self.date_arg()?;
                self.expect(Tok::RParen)?;
                return Ok(Operand::DateFn(f, p));
            }
            if let (true, Some(f)) = (allow_agg, AggFunc::from_name(&name)) {
                self.bump();
                self.bump();
                let p = self.path()?;
                self.expect(Tok::RParen)?;
                return Ok(Operand::Agg(f, p));
            }
            return Err(SoqlError::malformed(
                format!("unsupported function: {name}"),
                at,
            ));
        }
        if self.reserved() {
            return Err(self.unexpected());
        }
        Ok(Operand::Path(self.path()?))
    }

    fn comparison(&mut self, having: bool) -> Result<Cond, SoqlError> {
        let left = self.operand(having)?;
        let at = self.pos();
        let op = match self.peek() {
            Tok::Eq => Some(CmpOp::Eq),
            Tok::Ne => Some(CmpOp::Ne),
            Tok::Lt => Some(CmpOp::Lt),
            Tok::Le => Some(CmpOp::Le),
            Tok::Gt => Some(CmpOp::Gt),
            Tok::Ge => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            let v = self.literal()?;
            return Ok(Cond::Cmp(left, op, v, Pos(at)));
        }
        if self.eat_kw("LIKE") {
            return match self.literal()? {
                Literal::Str(s) => Ok(Cond::Like(left, s)),
                _ => Err(SoqlError::malformed("LIKE needs a string", at)),
            };
        }
        let negated = self.is_kw("NOT") && self.is_kw_at(1, "IN");
        if negated {
            self.bump();
        }
        if self.eat_kw("IN") {
            self.expect(Tok::LParen)?;
            let list = if self.is_kw("SELECT") {
                InList::Subquery(Box::new(self.query()?))
            } else {
                let mut vs = vec![self.literal()?];
                while *self.peek() == Tok::Comma {
                    self.bump();
                    vs.push(self.literal()?);
                }
                InList::Values(vs)
            };
            self.expect(Tok::RParen)?;
            return Ok(Cond::In(left, negated, list));
        }
        let excludes = self.is_kw("EXCLUDES");
        if self.eat_kw("INCLUDES") || self.eat_kw("EXCLUDES") {
            self.expect(Tok::LParen)?;
            let mut vs = Vec::new();
            loop {
                match self.literal()? {
                    Literal::Str(s) => vs.push(s),
                    _ => {
                        return Err(SoqlError::malformed(
                            "INCLUDES and EXCLUDES take strings",
                            at,
                        ));
                    }
                }
                if *self.peek() != Tok::Comma {
                    break;
                }
                self.bump();
            }
            self.expect(Tok::RParen)?;
            return Ok(Cond::Includes(left, excludes, vs));
        }
        Err(self.unexpected())
    }

    fn literal(&mut self) -> Result<Literal, SoqlError> {
        let at = self.pos();
        let t = self.peek().clone();
        let lit = match t {
            Tok::Str(s) => Literal::Str(s),
            Tok::Num(n) => Literal::Num(n),
            Tok::Date(d) => Literal::Date(d),
            Tok::DateTime(d) => Literal::DateTime(d),
            Tok::Colon => {
                return Err(SoqlError::malformed(
                    "bind variables are only supported in Apex",
                    at,
                ));
            }
            Tok::Ident(w) => {
                let upper = w.to_ascii_uppercase();
                match upper.as_str() {
                    "NULL" => Literal::Null,
                    "TRUE" => Literal::Bool(true),
                    "FALSE" => Literal::Bool(false),
                    u if DATE_LITERALS.contains(&u) => Literal::DateLiteral(upper.clone(), None),
                    u if DATE_LITERALS_N.contains(&u) => {
                        self.bump();
                        self.expect(Tok::Colon)?;
                        let n_at = self.pos();
                        let n = match self.peek().clone() {
                            Tok::Num(n) => n.parse::<i64>().map_err(|_| {
                                SoqlError::malformed(format!("unexpected token: '{n}'"), n_at)
                            })?,
                            _ => return Err(self.unexpected()),
                        };
                        self.bump();
                        return Ok(Literal::DateLiteral(upper, Some(n)));
                    }
                    _ => return Err(self.unexpected()),
                }
            }
            _ => return Err(self.unexpected()),
        };
        self.bump();
        Ok(lit)
    }
}

#[cfg(test)]
mod tests;
