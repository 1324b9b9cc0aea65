//! Conditions (WHERE and HAVING): comparisons, IN lists and semi-joins, LIKE, INCLUDES
//! and EXCLUDES, each checked against the field it applies to.

use forcebus_meta::{FieldType, ObjectDef};

use super::literals::literal_for;
use super::{Binder, Column, Cond, Operand, Plan, has_semi_join, is_long_text};
use crate::ast::{CmpOp, InList, Literal, Query};
use crate::error::{ErrorKind, SoqlError};

impl<'s> Binder<'s, '_> {
    /// A WHERE (or, with `having`, HAVING) condition, bound and checked.
    pub(super) fn cond(
        &self,
        object: &'s ObjectDef,
        alias: Option<&str>,
        c: &crate::ast::Cond,
        having: bool,
    ) -> Result<Cond<'s>, SoqlError> {
        use crate::ast::Cond as C;
        let all = |cs: &[crate::ast::Cond]| {
            cs.iter()
                .map(|c| self.cond(object, alias, c, having))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(match c {
            C::And(cs) => Cond::And(all(cs)?),
            C::Or(cs) => Cond::Or(all(cs)?),
            C::Not(c) => Cond::Not(Box::new(self.cond(object, alias, c, having)?)),
            C::Cmp(o, op, lit, pos) => {
                let operand = self.operand(object, alias, o, having)?;
                check_comparison(&operand, *op, lit, pos.0)?;
                let v = literal_for(&operand, lit, pos.0)?;
                Cond::Cmp(operand, *op, v)
            }
            C::In(o, neg, InList::Values(vs)) => {
                let operand = self.operand(object, alias, o, having)?;
                let values = vs
                    .iter()
                    .map(|l| literal_for(&operand, l, o.pos()))
                    .collect::<Result<_, _>>()?;
                Cond::In(operand, *neg, values)
            }
            C::In(o, neg, InList::Subquery(q)) => {
                let operand = self.operand(object, alias, o, having)?;
                let plan = self.semi_join(&operand, o.pos(), q)?;
                Cond::InQuery(operand, *neg, Box::new(plan))
            }
            C::Like(o, pattern) => {
                let operand = self.operand(object, alias, o, having)?;
                match &operand {
                    Operand::Field(f) if f.field.ftype.is_text() && !is_long_text(f.field) => {}
                    // `HAVING MAX(Name) LIKE 'A%'`: the largest or smallest text is text.
                    Operand::Agg(crate::ast::AggFunc::Max | crate::ast::AggFunc::Min, f)
                        if f.field.ftype.is_text() && !is_long_text(f.field) => {}
                    _ => {
                        return Err(SoqlError::new(
                            ErrorKind::InvalidFilter,
                            "LIKE can only be used on text fields",
                            Some(o.pos()),
                        ));
                    }
                }
                Cond::Like(operand, pattern.clone())
            }
            C::Includes(o, excl, vs) => {
                let operand = self.operand(object, alias, o, having)?;
                includes(operand, *excl, vs, o.pos())?
            }
        })
    }

    /// The inner query of `field IN (SELECT ...)`: an Id or reference field on the left,
    /// one Id or reference field selected, no nested semi-join.
    fn semi_join(
        &self,
        operand: &Operand<'s>,
        at: usize,
        q: &Query,
    ) -> Result<Plan<'s>, SoqlError> {
        let Operand::Field(outer) = operand else {
            return Err(SoqlError::malformed(
                "semi-joins need a field on the left",
                at,
            ));
        };
        if !matches!(outer.field.ftype, FieldType::Id | FieldType::Reference) {
            return Err(SoqlError::malformed(
                "semi-joins need an Id or reference field on the left",
                at,
            ));
        }
        let inner_object = self
            .schema
            .object(&q.from.name)
            .filter(|o| self.visible.object(o))
            .ok_or_else(|| {
                SoqlError::new(
                    ErrorKind::InvalidType,
                    format!("sObject type '{}' is not supported.", q.from.name),
                    Some(q.from.pos.0),
                )
            })?;
        let plan = self.plan(q, inner_object)?;
        match plan.columns.as_slice() {
            [Column::Field(f)]
                if matches!(f.field.ftype, FieldType::Id | FieldType::Reference)
                    && plan.filter.as_ref().is_none_or(|f| !has_semi_join(f)) =>
            {
                Ok(plan)
            }
            _ => Err(SoqlError::malformed(
                "The inner select field of a semi-join must be a single Id or reference field",
                q.from.pos.0,
            )),
        }
    }
}

/// `null` compares only with `=` and `!=`, and so do booleans; `''`, which is null too,
/// with every operator (`Id > ''`).
fn check_comparison(
    operand: &Operand<'_>,
    op: CmpOp,
    lit: &Literal,
    at: usize,
) -> Result<(), SoqlError> {
    if matches!(lit, Literal::Null) && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
        return Err(SoqlError::new(
            ErrorKind::InvalidFilter,
            "null may only be compared with = or !=",
            Some(at),
        ));
    }
    if let Operand::Field(f) = operand
        && f.field.ftype == FieldType::Boolean
        && !matches!(op, CmpOp::Eq | CmpOp::Ne)
    {
        return Err(SoqlError::new(
            ErrorKind::InvalidFilter,
            format!("invalid operator on boolean field: {}", f.field.name),
            Some(at),
        ));
    }
    Ok(())
}

/// `INCLUDES` / `EXCLUDES` on a multi-select picklist: each value a set of `;`-separated
/// parts, compared in lower case.
fn includes<'s>(
    operand: Operand<'s>,
    exclude: bool,
    values: &[String],
    at: usize,
) -> Result<Cond<'s>, SoqlError> {
    match &operand {
        Operand::Field(f) if f.field.ftype == FieldType::Multipicklist => {}
        _ => {
            return Err(SoqlError::new(
                ErrorKind::InvalidFilter,
                "INCLUDES and EXCLUDES can only be used on multi-select picklists",
                Some(at),
            ));
        }
    }
    let sets = values
        .iter()
        .map(|v| {
            v.split(';')
                .map(|p| p.trim().to_lowercase())
                .filter(|p| !p.is_empty())
                .collect()
        })
        .collect();
    Ok(Cond::Includes(operand, exclude, sets))
}
