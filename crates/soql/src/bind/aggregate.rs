//! The rules of an aggregate query: what must be grouped (fields, date functions of
//! fields), and where LIMIT may go.

use super::{Column, FieldRef, Operand};
use crate::ast::{DateFunc, Query, SelectItem};
use crate::error::SoqlError;

/// The rules of an aggregate query (other than `SELECT COUNT()`): every selected field is
/// grouped, no subqueries, and LIMIT only with GROUP BY (an aggregate without GROUP BY is
/// one row).
pub(super) fn check_aggregate(
    q: &Query,
    columns: &[Column<'_>],
    group_by: &[Operand<'_>],
) -> Result<(), SoqlError> {
    if matches!(columns, [Column::CountAll]) {
        return Ok(());
    }
    for (c, item) in columns.iter().zip(&q.select) {
        match (c, item) {
            (Column::Field(f), SelectItem::Field(p)) if !grouped_by(group_by, None, f) => {
                return Err(SoqlError::malformed(
                    format!("Field must be grouped or aggregated: {}", f.field.name),
                    p.pos(),
                ));
            }
            (Column::DateFn { func, arg, .. }, SelectItem::DateFn { pos, .. })
                if !grouped_by(group_by, Some(*func), arg) =>
            {
                return Err(SoqlError::malformed(
                    format!("Field must be grouped or aggregated: {}", arg.field.name),
                    pos.0,
                ));
            }
            (Column::Child { .. }, _) => {
                return Err(SoqlError::malformed(
                    "Subqueries are not allowed in aggregate queries",
                    q.from.pos.0,
                ));
            }
            _ => {}
        }
    }
    if group_by.is_empty() && q.limit.is_some() {
        return Err(SoqlError::malformed(
            "LIMIT is not allowed with an aggregate function and no GROUP BY",
            q.from.pos.0,
        ));
    }
    Ok(())
}

/// Whether GROUP BY has `f` itself (`func` None) or the date function `func` of it.
pub(super) fn grouped_by(
    group_by: &[Operand<'_>],
    func: Option<DateFunc>,
    f: &FieldRef<'_>,
) -> bool {
    group_by.iter().any(|g| match (g, func) {
        (Operand::Field(g), None) => g.same(f),
        (Operand::DateFn(gf, g), Some(func)) => *gf == func && g.same(f),
        _ => false,
    })
}
