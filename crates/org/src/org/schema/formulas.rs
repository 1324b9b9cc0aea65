//! The formulas of a schema change: a change whose schema has a formula that does not
//! compile (a field's, a validation rule's), and did compile before, or a roll-up summary
//! that cannot be settled, is refused (a deploy fails the component it belongs to).

use std::sync::Arc;

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

/// The roll-up summaries of `schema` settled ([`crate::custom::settle`]); each that
/// cannot be is a problem of its field (or of its object: too many tracked fields).
pub(super) fn summary_problems(schema: &mut Schema) -> Vec<Problem> {
    crate::custom::settle(schema)
        .into_iter()
        .map(|u| Problem {
            object: u.object,
            kind: if u.field.is_empty() {
                "CustomObject"
            } else {
                "CustomField"
            },
            name: u.field,
            message: u.why,
        })
        .collect()
}

/// The summary fields `after` has that `before` has not (or defines otherwise): their
/// values worked out for every parent from the children the org holds, as Salesforce
/// computes a new roll-up for the records already there.
pub(super) fn fill_new_summaries(
    before: &Schema,
    after: &Schema,
    state: &crate::state::State,
    changed: &mut super::Changed,
) {
    for o in after.objects() {
        for f in o.fields.iter().filter(|f| f.summary.is_some()) {
            let known = before
                .object(&o.name)
                .and_then(|b| b.field(&f.name))
                .is_some_and(|b| b.summary == f.summary && b.ftype == f.ftype);
            if known {
                continue;
            }
            let s = f.summary.as_deref().expect("filtered");
            let children: Vec<&crate::record::Record> = state.of(&s.child).collect();
            for parent in state.of(&o.name).filter(|p| !p.is_deleted) {
                let mine = children.iter().copied().filter(|c| {
                    c.get_str(&s.key).and_then(crate::id::RecordId::parse) == Some(parent.id)
                });
                let value = crate::rules::summarize(s, f.ftype, mine);
                if parent.get(&f.name).to_value() != value {
                    changed.rewrite(parent).fields.set(&f.name, value);
                }
            }
        }
    }
}
