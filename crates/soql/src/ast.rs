//! The SOQL syntax tree. Nodes keep the byte offset they start at, for error messages;
//! offsets are not part of a node's identity (`PartialEq` ignores them), so a printed and
//! re-parsed query compares equal to the original.
//!
//! `Display` prints canonical SOQL that [`crate::parse`] reads back to the same tree.

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate};

use crate::lexer::{ESCAPED_PERCENT, ESCAPED_UNDERSCORE};

/// A byte offset into the query text; equal to every other offset.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pos(pub usize);

impl PartialEq for Pos {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A name as written, with where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    /// The text.
    pub name: String,
    /// Where it starts.
    pub pos: Pos,
}

/// `Account.Owner.Name`: one or more names.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// The names, in order.
    pub parts: Vec<Ident>,
}

impl Path {
    /// Where the path starts.
    pub fn pos(&self) -> usize {
        self.parts.first().map_or(0, |p| p.pos.0)
    }
}

/// Aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum AggFunc {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
}

impl AggFunc {
    /// Parses a function name (any case).
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "COUNT" => Self::Count,
            "COUNT_DISTINCT" => Self::CountDistinct,
            "SUM" => Self::Sum,
            "AVG" => Self::Avg,
            "MIN" => Self::Min,
            "MAX" => Self::Max,
            _ => return None,
        })
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Count => "COUNT",
            Self::CountDistinct => "COUNT_DISTINCT",
            Self::Sum => "SUM",
            Self::Avg => "AVG",
            Self::Min => "MIN",
            Self::Max => "MAX",
        }
    }
}

/// Date functions usable on the left of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum DateFunc {
    CalendarMonth,
    CalendarQuarter,
    CalendarYear,
    DayInMonth,
    DayInWeek,
    DayInYear,
    DayOnly,
    FiscalMonth,
    FiscalQuarter,
    FiscalYear,
    HourInDay,
    WeekInMonth,
    WeekInYear,
}

impl DateFunc {
    const ALL: [(Self, &'static str); 13] = [
        (Self::CalendarMonth, "CALENDAR_MONTH"),
        (Self::CalendarQuarter, "CALENDAR_QUARTER"),
        (Self::CalendarYear, "CALENDAR_YEAR"),
        (Self::DayInMonth, "DAY_IN_MONTH"),
        (Self::DayInWeek, "DAY_IN_WEEK"),
        (Self::DayInYear, "DAY_IN_YEAR"),
        (Self::DayOnly, "DAY_ONLY"),
        (Self::FiscalMonth, "FISCAL_MONTH"),
        (Self::FiscalQuarter, "FISCAL_QUARTER"),
        (Self::FiscalYear, "FISCAL_YEAR"),
        (Self::HourInDay, "HOUR_IN_DAY"),
        (Self::WeekInMonth, "WEEK_IN_MONTH"),
        (Self::WeekInYear, "WEEK_IN_YEAR"),
    ];

    /// Parses a function name (any case).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(s))
            .map(|(f, _)| *f)
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map(|(_, n)| *n)
            .expect("every function is listed")
    }
}

/// One item of the SELECT list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// A field or parent path.
    Field(Path),
    /// `COUNT()`: the row count, no rows.
    CountAll(Pos),
    /// `SUM(Amount) total`.
    Agg {
        /// The function.
        func: AggFunc,
        /// Its argument.
        arg: Path,
        /// The alias, if any.
        alias: Option<Ident>,
        /// Where the call starts.
        pos: Pos,
    },
    /// `(SELECT ... FROM Contacts)`.
    Subquery(Box<Query>),
    /// `CALENDAR_YEAR(CreatedDate) y`, in a query grouped by it.
    DateFn {
        /// The function.
        func: DateFunc,
        /// Its argument.
        arg: Path,
        /// The alias, if any.
        alias: Option<Ident>,
        /// Where the call starts.
        pos: Pos,
    },
}

/// The left side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A field path.
    Path(Path),
    /// `CALENDAR_YEAR(CreatedDate)`.
    DateFn(DateFunc, Path),
    /// An aggregate, in HAVING: `COUNT(Id)`.
    Agg(AggFunc, Path),
}

impl Operand {
    /// Where the operand starts.
    pub fn pos(&self) -> usize {
        match self {
            Operand::Path(p) | Operand::DateFn(_, p) | Operand::Agg(_, p) => p.pos(),
        }
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    fn text(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number as written.
    Num(String),
    /// A string (escapes decoded; see [`crate::lexer::ESCAPED_PERCENT`]).
    Str(String),
    /// `2024-05-01`
    Date(NaiveDate),
    /// `2024-05-01T00:00:00Z`
    DateTime(DateTime<FixedOffset>),
    /// `TODAY`, `LAST_N_DAYS:7` (name upper-cased).
    DateLiteral(String, Option<i64>),
}

/// The right side of IN / NOT IN.
#[derive(Debug, Clone, PartialEq)]
pub enum InList {
    /// `('a', 'b')`
    Values(Vec<Literal>),
    /// `(SELECT AccountId FROM Contact)`
    Subquery(Box<Query>),
}

/// A WHERE or HAVING condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// All of them.
    And(Vec<Cond>),
    /// Any of them.
    Or(Vec<Cond>),
    /// Not this.
    Not(Box<Cond>),
    /// `a op v`
    Cmp(Operand, CmpOp, Literal, Pos),
    /// `a [NOT] IN (...)`
    In(Operand, bool, InList),
    /// `a LIKE 'p%'`
    Like(Operand, String),
    /// `a INCLUDES (...)` (`false`) / `a EXCLUDES (...)` (`true`)
    Includes(Operand, bool, Vec<String>),
}

/// An ORDER BY item.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    /// What to sort by.
    pub key: Operand,
    /// Descending.
    pub desc: bool,
    /// `Some(true)` for NULLS FIRST, `Some(false)` for NULLS LAST.
    pub nulls_first: Option<bool>,
}

/// `FOR VIEW` / `FOR REFERENCE` / `FOR UPDATE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ForClause {
    View,
    Reference,
    Update,
}

/// A whole query (or subquery).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The SELECT list.
    pub select: Vec<SelectItem>,
    /// FROM object (or child relationship, in a subquery).
    pub from: Ident,
    /// `FROM Account a`.
    pub alias: Option<Ident>,
    /// WHERE.
    pub filter: Option<Cond>,
    /// GROUP BY: fields and date functions (`CALENDAR_YEAR(CreatedDate)`).
    pub group_by: Vec<Operand>,
    /// HAVING.
    pub having: Option<Cond>,
    /// ORDER BY.
    pub order_by: Vec<OrderItem>,
    /// LIMIT.
    pub limit: Option<u64>,
    /// OFFSET.
    pub offset: Option<u64>,
    /// FOR VIEW / REFERENCE / UPDATE.
    pub for_clause: Option<ForClause>,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.parts.iter().map(|p| p.name.as_str()).collect();
        f.write_str(&names.join("."))
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Path(p) => write!(f, "{p}"),
            Operand::DateFn(func, p) => write!(f, "{}({p})", func.name()),
            Operand::Agg(func, p) => write!(f, "{}({p})", func.name()),
        }
    }
}

/// Quotes a string with SOQL escapes.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '"' => out.push_str("\\\""),
            ESCAPED_PERCENT => out.push_str("\\%"),
            ESCAPED_UNDERSCORE => out.push_str("\\_"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("null"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Num(n) => f.write_str(n),
            Literal::Str(s) => f.write_str(&quote(s)),
            Literal::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Literal::DateTime(t) => write!(
                f,
                "{}",
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            ),
            Literal::DateLiteral(name, None) => f.write_str(name),
            Literal::DateLiteral(name, Some(n)) => write!(f, "{name}:{n}"),
        }
    }
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every compound child is parenthesised, so AND and OR never mix at one level.
        let child = |c: &Cond| match c {
            Cond::And(_) | Cond::Or(_) | Cond::Not(_) => format!("({c})"),
            _ => c.to_string(),
        };
        match self {
            Cond::And(cs) => f.write_str(&cs.iter().map(child).collect::<Vec<_>>().join(" AND ")),
            Cond::Or(cs) => f.write_str(&cs.iter().map(child).collect::<Vec<_>>().join(" OR ")),
            Cond::Not(c) => write!(f, "NOT {}", child(c)),
            Cond::Cmp(a, op, v, _) => write!(f, "{a} {} {v}", op.text()),
            Cond::In(a, neg, InList::Values(vs)) => {
                write!(f, "{a} {}IN ({})", if *neg { "NOT " } else { "" }, join(vs))
            }
            Cond::In(a, neg, InList::Subquery(q)) => {
                write!(f, "{a} {}IN ({q})", if *neg { "NOT " } else { "" })
            }
            Cond::Like(a, p) => write!(f, "{a} LIKE {}", quote(p)),
            Cond::Includes(a, excl, vs) => {
                let vs: Vec<String> = vs.iter().map(|v| quote(v)).collect();
                write!(
                    f,
                    "{a} {} ({})",
                    if *excl { "EXCLUDES" } else { "INCLUDES" },
                    vs.join(", ")
                )
            }
        }
    }
}

impl fmt::Display for SelectItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectItem::Field(p) => write!(f, "{p}"),
            SelectItem::CountAll(_) => f.write_str("COUNT()"),
            SelectItem::Agg {
                func, arg, alias, ..
            } => {
                write!(f, "{}({arg})", func.name())?;
                if let Some(a) = alias {
                    write!(f, " {}", a.name)?;
                }
                Ok(())
            }
            SelectItem::DateFn {
                func, arg, alias, ..
            } => {
                write!(f, "{}({arg})", func.name())?;
                if let Some(a) = alias {
                    write!(f, " {}", a.name)?;
                }
                Ok(())
            }
            SelectItem::Subquery(q) => write!(f, "({q})"),
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SELECT {} FROM {}", join(&self.select), self.from.name)?;
        if let Some(a) = &self.alias {
            write!(f, " {}", a.name)?;
        }
        if let Some(c) = &self.filter {
            write!(f, " WHERE {c}")?;
        }
        if !self.group_by.is_empty() {
            write!(f, " GROUP BY {}", join(&self.group_by))?;
        }
        if let Some(c) = &self.having {
            write!(f, " HAVING {c}")?;
        }
        if !self.order_by.is_empty() {
            let items: Vec<String> = self
                .order_by
                .iter()
                .map(|o| {
                    let mut s = format!("{}{}", o.key, if o.desc { " DESC" } else { " ASC" });
                    match o.nulls_first {
                        Some(true) => s.push_str(" NULLS FIRST"),
                        Some(false) => s.push_str(" NULLS LAST"),
                        None => {}
                    }
                    s
                })
                .collect();
            write!(f, " ORDER BY {}", items.join(", "))?;
        }
        if let Some(n) = self.limit {
            write!(f, " LIMIT {n}")?;
        }
        if let Some(n) = self.offset {
            write!(f, " OFFSET {n}")?;
        }
        match self.for_clause {
            Some(ForClause::View) => f.write_str(" FOR VIEW"),
            Some(ForClause::Reference) => f.write_str(" FOR REFERENCE"),
            Some(ForClause::Update) => f.write_str(" FOR UPDATE"),
            None => Ok(()),
        }
    }
}
