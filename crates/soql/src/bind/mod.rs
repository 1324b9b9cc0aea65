//! The binder: resolves a parsed query against object metadata into a [`Plan`]: objects,
//! fields and relationship paths found (case-insensitively) and canonicalised, literals
//! type-checked against their fields, aggregate rules enforced.
//!
//! This module holds the plan's types and the SELECT, GROUP BY and ORDER BY clauses;
//! `cond`: WHERE and HAVING; `literals`: literals and aggregate arguments.

use crate::Visible;
use chrono::{DateTime, NaiveDate, Utc};

use forcebus_meta::{FieldDef, FieldType, ObjectDef, RecordId, Schema};

use crate::ast::*;
use crate::error::{ErrorKind, SoqlError};

mod aggregate;
mod cond;
mod literals;

use aggregate::{check_aggregate, grouped_by};
use literals::check_agg_arg;
pub use literals::plain;

/// Most parent hops in one path (`Contact.Account.Owner.Manager.Name` is four).
pub const MAX_HOPS: usize = 5;
/// Largest OFFSET.
pub const MAX_OFFSET: u64 = 2000;

/// One step from a record to its parent.
#[derive(Debug, Clone)]
pub struct Hop<'s> {
    /// The reference field on the child (`AccountId`).
    pub field: &'s FieldDef,
    /// The parent object.
    pub target: &'s ObjectDef,
}

/// A resolved field path.
#[derive(Debug, Clone)]
pub struct FieldRef<'s> {
    /// Parent steps, outermost first.
    pub hops: Vec<Hop<'s>>,
    /// The object that owns `field`.
    pub object: &'s ObjectDef,
    /// The field.
    pub field: &'s FieldDef,
}

impl FieldRef<'_> {
    /// Canonical dotted name: `Account.Owner.Name`.
    pub fn display(&self) -> String {
        let mut parts: Vec<&str> = self
            .hops
            .iter()
            .map(|h| {
                h.field
                    .relationship_name
                    .as_deref()
                    .unwrap_or(&h.field.name)
            })
            .collect();
        parts.push(&self.field.name);
        parts.join(".")
    }

    fn same(&self, other: &FieldRef<'_>) -> bool {
        self.display() == other.display()
    }
}

/// A literal, typed for its comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// null
    Null,
    /// true / false
    Bool(bool),
    /// A number.
    Num(f64),
    /// Text (escaped wildcards still marked; see [`crate::lexer::ESCAPED_PERCENT`]).
    Str(String),
    /// A record id.
    Id(RecordId),
    /// A date.
    Date(NaiveDate),
    /// An instant.
    DateTime(DateTime<Utc>),
    /// A relative date range, resolved at evaluation time.
    Range(String, Option<i64>),
}

/// The left side of a bound comparison.
#[derive(Debug, Clone)]
pub enum Operand<'s> {
    /// A field.
    Field(FieldRef<'s>),
    /// A date function of a field.
    DateFn(DateFunc, FieldRef<'s>),
    /// An aggregate (HAVING and aggregate ORDER BY).
    Agg(AggFunc, FieldRef<'s>),
}

/// A bound condition.
#[derive(Debug, Clone)]
pub enum Cond<'s> {
    /// All.
    And(Vec<Cond<'s>>),
    /// Any.
    Or(Vec<Cond<'s>>),
    /// Not.
    Not(Box<Cond<'s>>),
    /// Comparison.
    Cmp(Operand<'s>, CmpOp, Value),
    /// `IN` (false) / `NOT IN` (true) a literal list.
    In(Operand<'s>, bool, Vec<Value>),
    /// `IN` / `NOT IN` a semi-join.
    InQuery(Operand<'s>, bool, Box<Plan<'s>>),
    /// `LIKE`.
    Like(Operand<'s>, String),
    /// `INCLUDES` (false) / `EXCLUDES` (true): each entry is a set of values that must all be present.
    Includes(Operand<'s>, bool, Vec<Vec<String>>),
}

/// A bound SELECT item.
#[derive(Debug, Clone)]
pub enum Column<'s> {
    /// A field or parent path.
    Field(FieldRef<'s>),
    /// A child relationship subquery.
    Child {
        /// Canonical relationship name (`Contacts`).
        name: String,
        /// The child's reference field pointing at the parent.
        via: &'s FieldDef,
        /// The subquery, over the child object.
        plan: Box<Plan<'s>>,
    },
    /// An aggregate with its output name (alias or `exprN`).
    Agg {
        /// The function.
        func: AggFunc,
        /// Its argument.
        arg: FieldRef<'s>,
        /// Output key.
        name: String,
        /// As written, for column metadata (`COUNT(Id)`).
        label: String,
    },
    /// `COUNT()`.
    CountAll,
    /// A date function of a grouped field, with its output name (alias or `exprN`).
    DateFn {
        /// The function.
        func: DateFunc,
        /// Its argument.
        arg: FieldRef<'s>,
        /// Output key.
        name: String,
        /// As written, for column metadata (`CALENDAR_YEAR(CreatedDate)`).
        label: String,
    },
}

/// An ORDER BY key.
#[derive(Debug, Clone)]
pub struct Order<'s> {
    /// The key.
    pub key: Operand<'s>,
    /// Descending.
    pub desc: bool,
    /// Nulls first (the default) or last.
    pub nulls_first: bool,
}

/// A query ready to run.
#[derive(Debug, Clone)]
pub struct Plan<'s> {
    /// FROM.
    pub object: &'s ObjectDef,
    /// SELECT.
    pub columns: Vec<Column<'s>>,
    /// WHERE.
    pub filter: Option<Cond<'s>>,
    /// GROUP BY: fields and date functions of fields.
    pub group_by: Vec<Operand<'s>>,
    /// HAVING.
    pub having: Option<Cond<'s>>,
    /// ORDER BY.
    pub order: Vec<Order<'s>>,
    /// LIMIT.
    pub limit: Option<u64>,
    /// OFFSET.
    pub offset: Option<u64>,
    /// Whether rows are aggregate results.
    pub aggregate: bool,
    /// `FOR VIEW` / `FOR REFERENCE` / `FOR UPDATE`: what running the query records.
    pub for_clause: Option<crate::ast::ForClause>,
}

impl Plan<'_> {
    /// `SELECT COUNT() ...`: only the count is returned.
    pub fn count_only(&self) -> bool {
        matches!(self.columns.as_slice(), [Column::CountAll])
    }
}

pub(super) fn invalid_field(msg: String, at: usize) -> SoqlError {
    SoqlError::new(ErrorKind::InvalidField, msg, Some(at))
}

fn no_such_column(name: &str, object: &str, at: usize) -> SoqlError {
    invalid_field(
        format!(
            "No such column '{name}' on entity '{object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
        ),
        at,
    )
}

/// Binds `q` against `schema`. `visible` says which objects may be queried at all (the
/// tooling endpoint shows fewer).
pub fn bind<'s>(
    q: &Query,
    schema: &'s Schema,
    visible: &dyn Visible,
) -> Result<Plan<'s>, SoqlError> {
    bind_at(q, schema, visible, u32::MAX)
}

/// [`bind`] at API version `major`: a field that came in a later version is no column.
pub fn bind_at<'s>(
    q: &Query,
    schema: &'s Schema,
    visible: &dyn Visible,
    major: u32,
) -> Result<Plan<'s>, SoqlError> {
    let object = schema
        .object(&q.from.name)
        .filter(|o| visible.object(o) && o.queryable)
        .ok_or_else(|| {
        SoqlError::new(
            ErrorKind::InvalidType,
            format!(
                "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
                q.from.name
            ),
            Some(q.from.pos.0),
        )
    })?;
    Binder {
        schema,
        visible,
        major,
    }
    .plan(q, object)
}

pub(super) struct Binder<'s, 'v> {
    schema: &'s Schema,
    visible: &'v dyn Visible,
    /// The API version asked: fields that came later are not there.
    major: u32,
}

impl<'s> Binder<'s, '_> {
    /// The plan of `q` over `object`. The checks run in Salesforce's order (SELECT,
    /// WHERE, GROUP BY, the aggregate rules, HAVING, ORDER BY, OFFSET), so a query with
    /// several faults gets the error Salesforce reports first.
    fn plan(&self, q: &Query, object: &'s ObjectDef) -> Result<Plan<'s>, SoqlError> {
        let alias = q.alias.as_ref().map(|a| a.name.as_str());
        let columns = self.columns(q, object, alias)?;
        let filter = q
            .filter
            .as_ref()
            .map(|c| self.cond(object, alias, c, false))
            .transpose()?;
        let group_by = self.group_by(q, object, alias)?;
        let aggregate = !group_by.is_empty()
            || columns.iter().any(|c| {
                matches!(
                    c,
                    Column::Agg { .. } | Column::CountAll | Column::DateFn { .. }
                )
            });
        if aggregate {
            check_aggregate(q, &columns, &group_by)?;
        }
        let having = match &q.having {
            Some(c) if aggregate => Some(self.cond(object, alias, c, true)?),
            Some(_) => return Err(SoqlError::malformed("HAVING needs GROUP BY", q.from.pos.0)),
            None => None,
        };
        let order = q
            .order_by
            .iter()
            .map(|o| self.order(object, alias, o, aggregate, &group_by))
            .collect::<Result<Vec<_>, SoqlError>>()?;
        if let Some(off) = q.offset
            && off > MAX_OFFSET
        {
            return Err(SoqlError::new(
                ErrorKind::OutOfRange,
                format!("Maximum SOQL offset allowed is {MAX_OFFSET}"),
                Some(q.from.pos.0),
            ));
        }
        Ok(Plan {
            object,
            columns,
            filter,
            group_by,
            having,
            order,
            limit: q.limit,
            offset: q.offset,
            aggregate,
            for_clause: q.for_clause,
        })
    }

    /// The SELECT list: fields, `COUNT()` (alone), aggregates (unaliased ones named
    /// `expr0`, `expr1`, ...) and child subqueries; a field selected twice is an error.
    fn columns(
        &self,
        q: &Query,
        object: &'s ObjectDef,
        alias: Option<&str>,
    ) -> Result<Vec<Column<'s>>, SoqlError> {
        let mut columns = Vec::new();
        let mut unaliased = 0;
        for item in &q.select {
            columns.push(match item {
                SelectItem::Field(p) => Column::Field(self.path(object, alias, p)?),
                SelectItem::CountAll(pos) => {
                    if q.select.len() > 1 {
                        return Err(SoqlError::malformed(
                            "COUNT() must be the only element in the SELECT list",
                            pos.0,
                        ));
                    }
                    Column::CountAll
                }
                SelectItem::Agg {
                    func,
                    arg,
                    alias: a,
                    pos,
                } => {
                    let arg_ref = self.path(object, alias, arg)?;
                    check_agg_arg(*func, &arg_ref, pos.0)?;
                    let name = match a {
                        Some(a) => a.name.clone(),
                        None => {
                            unaliased += 1;
                            format!("expr{}", unaliased - 1)
                        }
                    };
                    Column::Agg {
                        func: *func,
                        label: format!("{}({})", func.name(), arg_ref.display()),
                        arg: arg_ref,
                        name,
                    }
                }
                SelectItem::Subquery(sub) => self.child(object, sub)?,
                SelectItem::DateFn {
                    func,
                    arg,
                    alias: a,
                    ..
                } => {
                    let call = crate::ast::Operand::DateFn(*func, arg.clone());
                    let Operand::DateFn(func, arg_ref) =
                        self.operand(object, alias, &call, false)?
                    else {
                        unreachable!("a date function binds to one")
                    };
                    let name = match a {
                        Some(a) => a.name.clone(),
                        None => {
                            unaliased += 1;
                            format!("expr{}", unaliased - 1)
                        }
                    };
                    Column::DateFn {
                        func,
                        label: format!("{}({})", func.name(), arg_ref.display()),
                        arg: arg_ref,
                        name,
                    }
                }
            });
        }
        let mut seen = std::collections::HashSet::new();
        for (c, item) in columns.iter().zip(&q.select) {
            if let (Column::Field(f), SelectItem::Field(p)) = (c, item)
                && !seen.insert(f.display())
            {
                return Err(SoqlError::malformed(
                    format!("duplicate field selected: {}", f.display()),
                    p.pos(),
                ));
            }
        }
        Ok(columns)
    }

    /// GROUP BY's fields and date functions; compounds, long text and formulas (checkbox
    /// and date ones aside) cannot be grouped.
    fn group_by(
        &self,
        q: &Query,
        object: &'s ObjectDef,
        alias: Option<&str>,
    ) -> Result<Vec<Operand<'s>>, SoqlError> {
        let group_by = q
            .group_by
            .iter()
            .map(|o| self.operand(object, alias, o, false))
            .collect::<Result<Vec<_>, _>>()?;
        for (g, p) in group_by.iter().zip(&q.group_by) {
            let Operand::Field(g) = g else { continue };
            if matches!(g.field.ftype, FieldType::Address | FieldType::Location)
                || is_long_text(g.field)
                || g.field.formula_ungroupable()
            {
                return Err(invalid_field(
                    format!(
                        "field '{}' can not be grouped in a query call",
                        g.field.name
                    ),
                    p.pos(),
                ));
            }
        }
        Ok(group_by)
    }

    /// One ORDER BY key: grouped or aggregated in an aggregate query, and of a sortable
    /// type; nulls first unless the query says otherwise.
    fn order(
        &self,
        object: &'s ObjectDef,
        alias: Option<&str>,
        o: &OrderItem,
        aggregate: bool,
        group_by: &[Operand<'s>],
    ) -> Result<Order<'s>, SoqlError> {
        let key = self.operand(object, alias, &o.key, aggregate)?;
        if let Operand::DateFn(func, f) = &key
            && aggregate
            && !grouped_by(group_by, Some(*func), f)
        {
            return Err(SoqlError::malformed(
                format!(
                    "Ordered field must be grouped or aggregated: {}",
                    f.field.name
                ),
                o.key.pos(),
            ));
        }
        if let Operand::Field(f) = &key {
            if aggregate && !grouped_by(group_by, None, f) {
                return Err(SoqlError::malformed(
                    format!(
                        "Ordered field must be grouped or aggregated: {}",
                        f.field.name
                    ),
                    o.key.pos(),
                ));
            }
            if is_long_text(f.field)
                || matches!(
                    f.field.ftype,
                    FieldType::Address | FieldType::Location | FieldType::Multipicklist
                )
            {
                return Err(invalid_field(
                    format!("field '{}' can not be sorted in a query call", f.field.name),
                    o.key.pos(),
                ));
            }
        }
        Ok(Order {
            key,
            desc: o.desc,
            nulls_first: o.nulls_first.unwrap_or(true),
        })
    }

    fn child(&self, parent: &'s ObjectDef, sub: &Query) -> Result<Column<'s>, SoqlError> {
        let rels = self.schema.child_relationships(&parent.name);
        let rel = rels
            .iter()
            .find(|r| r.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(&sub.from.name)))
            .ok_or_else(|| {
                invalid_field(
                    format!(
                        "Didn't understand relationship '{}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
                        sub.from.name
                    ),
                    sub.from.pos.0,
                )
            })?;
        let child = self
            .schema
            .object(&rel.child)
            .expect("relationships name known objects");
        let via = child
            .field(&rel.field)
            .expect("relationships name known fields");
        if !self.visible.object(child) || !self.visible.field(child, via) {
            return Err(invalid_field(
                format!(
                    "Didn't understand relationship '{}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
                    sub.from.name
                ),
                sub.from.pos.0,
            ));
        }
        if sub
            .select
            .iter()
            .any(|s| matches!(s, SelectItem::Subquery(_)))
        {
            return Err(SoqlError::malformed(
                "Nesting of child subqueries is not supported",
                sub.from.pos.0,
            ));
        }
        let plan = self.plan(sub, child)?;
        if plan.aggregate {
            return Err(SoqlError::malformed(
                "Aggregate functions are not supported in child subqueries",
                sub.from.pos.0,
            ));
        }
        Ok(Column::Child {
            name: rel.name.clone().unwrap_or_default(),
            via,
            plan: Box::new(plan),
        })
    }

    fn path(
        &self,
        object: &'s ObjectDef,
        alias: Option<&str>,
        p: &Path,
    ) -> Result<FieldRef<'s>, SoqlError> {
        let mut parts: &[Ident] = &p.parts;
        if parts.len() > 1 {
            let first = &parts[0].name;
            let is_rel = object.fields.iter().any(|f| {
                f.relationship_name
                    .as_deref()
                    .is_some_and(|r| r.eq_ignore_ascii_case(first))
            });
            if alias.is_some_and(|a| a.eq_ignore_ascii_case(first))
                || (!is_rel && object.name.eq_ignore_ascii_case(first))
            {
                parts = &parts[1..];
            }
        }
        let (last, rels) = parts.split_last().expect("paths are never empty");
        if rels.len() > MAX_HOPS {
            return Err(SoqlError::malformed(
                format!(
                    "SOQL statements cannot query across more than {MAX_HOPS} levels of relationships"
                ),
                p.pos(),
            ));
        }
        let mut current = object;
        let mut hops = Vec::new();
        for (hop, rel) in rels.iter().enumerate() {
            let field = current
                .fields
                .iter()
                .filter(|f| f.exists_at(self.major) && self.visible.field(current, f))
                .find(|f| f.ftype == FieldType::Reference && f.relationship_name.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(&rel.name)))
                .ok_or_else(|| {
                    invalid_field(
                        format!(
                            "Didn't understand relationship '{}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
                            rel.name
                        ),
                        rel.pos.0,
                    )
                })?;
            let targets = field
                .reference_to
                .iter()
                .filter_map(|t| self.schema.object(t).filter(|o| self.visible.object(o)));
            // A polymorphic reference (`Owner` → Group or User) reads the last field from
            // the first of its objects that has it (`Owner.Username`).
            let last_hop = hop + 1 == rels.len();
            let target = targets
                .clone()
                .find(|o| {
                    !last_hop
                        || o.field(&last.name)
                            .is_some_and(|f| self.visible.field(o, f))
                })
                .or_else(|| targets.clone().next())
                .ok_or_else(|| no_such_column(&rel.name, &current.name, rel.pos.0))?;
            hops.push(Hop { field, target });
            current = target;
        }
        let field = current
            .field(&last.name)
            .filter(|f| f.exists_at(self.major) && self.visible.field(current, f))
            .ok_or_else(|| no_such_column(&last.name, &current.name, last.pos.0))?;
        Ok(FieldRef {
            hops,
            object: current,
            field,
        })
    }

    fn operand(
        &self,
        object: &'s ObjectDef,
        alias: Option<&str>,
        o: &crate::ast::Operand,
        allow_agg: bool,
    ) -> Result<Operand<'s>, SoqlError> {
        Ok(match o {
            crate::ast::Operand::Path(p) => Operand::Field(self.path(object, alias, p)?),
            crate::ast::Operand::DateFn(f, p) => {
                let r = self.path(object, alias, p)?;
                if !matches!(r.field.ftype, FieldType::Date | FieldType::Datetime) {
                    return Err(SoqlError::malformed(
                        format!(
                            "{} can only be applied to date and datetime fields",
                            f.name()
                        ),
                        p.pos(),
                    ));
                }
                if *f == DateFunc::HourInDay && r.field.ftype == FieldType::Date {
                    return Err(SoqlError::malformed(
                        "HOUR_IN_DAY can only be applied to datetime fields",
                        p.pos(),
                    ));
                }
                Operand::DateFn(*f, r)
            }
            crate::ast::Operand::Agg(f, p) => {
                if !allow_agg {
                    return Err(SoqlError::malformed(
                        "Aggregate functions are only allowed in HAVING and aggregate ORDER BY",
                        p.pos(),
                    ));
                }
                let r = self.path(object, alias, p)?;
                check_agg_arg(*f, &r, p.pos())?;
                Operand::Agg(*f, r)
            }
        })
    }
}

pub(super) fn has_semi_join(c: &Cond<'_>) -> bool {
    match c {
        Cond::InQuery(..) => true,
        Cond::And(cs) | Cond::Or(cs) => cs.iter().any(has_semi_join),
        Cond::Not(c) => has_semi_join(c),
        _ => false,
    }
}

/// Long text areas cannot be filtered, grouped or sorted.
pub(super) fn is_long_text(f: &FieldDef) -> bool {
    f.ftype == FieldType::Textarea && f.length > 255
}
