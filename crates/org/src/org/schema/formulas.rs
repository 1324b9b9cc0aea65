//! The formulas of a schema change: a change whose schema has a formula that does not
//! compile (a field's, a validation rule's), and did compile before, or a roll-up summary
//! that cannot be settled, is refused, or, in a deploy, fails the component it belongs to.

use std::sync::Arc;

use super::deploy::Component;
use crate::error::{Code, OrgError};
use crate::formulas::{Formulas, Problem};
use crate::meta::Schema;

/// The problems of `schema`'s formulas that `before` (the formulas of the schema it
/// changes) did not have.
pub(super) fn new_problems(before: &Formulas, schema: &Schema) -> Vec<Problem> {
    let after = Formulas::of(Arc::new(schema.clone()));
    after
        .problems()
        .iter()
        .filter(|p| !before.problems().contains(p))
        .cloned()
        .collect()
}

/// The error a formula's problem is refused with.
pub(super) fn error(p: &Problem) -> OrgError {
    OrgError::new(Code::FieldIntegrityException, p.message.clone())
}

/// Fails the components of `report` whose formulas do not compile in `schema`; a
/// problem of a component the deploy does not name fails the deploy on its own.
pub(super) fn fail_components(before: &Formulas, schema: &Schema, report: &mut Vec<Component>) {
    for p in new_problems(before, schema) {
        fail(report, &p);
    }
}

/// Settles the roll-up summaries of `schema` ([`crate::custom::resolve_summaries`]),
/// failing the component of each that cannot be.
pub(super) fn fail_summaries(schema: &mut Schema, report: &mut Vec<Component>) {
    for u in crate::custom::settle(schema) {
        let problem = Problem {
            object: u.object,
            kind: if u.field.is_empty() {
                "CustomObject"
            } else {
                "CustomField"
            },
            name: u.field,
            message: u.why,
        };
        fail(report, &problem);
    }
}

/// Fails the component `p` names in `report` (adding it when the deploy does not name it).
fn fail(report: &mut Vec<Component>, p: &Problem) {
    let full = if p.name.is_empty() {
        p.object.clone()
    } else {
        format!("{}.{}", p.object, p.name)
    };
    match report
        .iter_mut()
        .find(|c| c.kind == p.kind && c.full_name.eq_ignore_ascii_case(&full))
    {
        Some(c) => c.outcome = Err(error(p)),
        None => report.push(Component {
            kind: p.kind.to_owned(),
            full_name: full,
            file: String::new(),
            outcome: Err(error(p)),
        }),
    }
}
