//! What one record change amounts to in a change event: its change type, the body fields
//! present, and the changed, nulled and diffed field sets (`org-rest-cdc.md` §4.2–4.6).

use crate::fields::FieldRef;
use forcebus_events::change::{EventField, event_fields};
use forcebus_meta::{FieldDef, FieldType};
use serde_json::{Map, Value};

use super::Change;
use crate::record::Record;

/// What one record change amounts to.
pub(super) struct Described {
    pub(super) kind: &'static str,
    pub(super) body: Map<String, Value>,
    pub(super) changed: Vec<String>,
    pub(super) nulled: Vec<String>,
    /// Fields whose value is a unified diff.
    pub(super) diffs: Vec<String>,
}

impl Described {
    fn new(kind: &'static str) -> Self {
        Self {
            kind,
            body: Map::new(),
            changed: Vec::new(),
            nulled: Vec::new(),
            diffs: Vec::new(),
        }
    }
}

/// The fields a change event of `object` may carry: its [`event_fields`] but blobs (a
/// blob's bytes are not in change events: the record holds only their store key). The
/// same for every change of the object: worked out once per transaction.
pub(super) fn carried(object: &forcebus_meta::ObjectDef) -> Vec<EventField<'_>> {
    event_fields(object)
        .into_iter()
        .filter(|ef| !matches!(ef, EventField::Scalar(f) if f.ftype == FieldType::Base64))
        .collect()
}

/// Change type, body, changed and nulled fields of one change, whose object's event
/// fields are `fields` ([`carried`]); `None` when nothing is emitted.
pub(super) fn describe(c: &Change<'_>, fields: &[EventField<'_>]) -> Option<Described> {
    let kind = match (c.before, c.after) {
        (None, Some(a)) if !a.is_deleted => "CREATE",
        (Some(b), Some(a)) if !b.is_deleted && !a.is_deleted => "UPDATE",
        (Some(b), Some(a)) if !b.is_deleted && a.is_deleted => "DELETE",
        (Some(b), Some(a)) if b.is_deleted && !a.is_deleted => "UNDELETE",
        _ => return None,
    };
    let mut out = Described::new(kind);
    match kind {
        "CREATE" | "UNDELETE" => {
            let after = c.after.filter(|r| !r.is_deleted)?;
            for ef in fields {
                whole(after, ef, &mut out.body);
            }
        }
        "UPDATE" => {
            let (before, after) = (c.before?, c.after?);
            for ef in fields {
                match ef {
                    EventField::Scalar(f) => changed_scalar(before, after, f, &mut out),
                    EventField::Compound { name, parts } => {
                        changed_compound(before, after, name, parts, &mut out);
                    }
                }
            }
        }
        _ => {}
    }
    Some(out)
}

fn part_value(rec: &Record, f: Option<&FieldDef>) -> Value {
    f.map_or(Value::Null, |f| rec.get(&f.name).to_value())
}

/// A created or undeleted record's field in the body: every non-null value, compounds
/// with their non-null parts.
fn whole(after: &Record, ef: &EventField<'_>, body: &mut Map<String, Value>) {
    match ef {
        EventField::Scalar(f) => {
            let v = after.get(&f.name);
            if !v.is_null() {
                body.insert(f.name.clone(), v.to_value());
            }
        }
        EventField::Compound { name, parts } => {
            let m: Map<String, Value> = parts
                .iter()
                .map(|(p, f)| (p.clone(), part_value(after, *f)))
                .filter(|(_, v)| !v.is_null())
                .collect();
            if !m.is_empty() {
                body.insert(name.clone(), Value::Object(m));
            }
        }
    }
}

/// An updated scalar field: in the body and the changed set when its value changed
/// (`LastModifiedDate` always), nulled when set to null, a diff for long text areas.
fn changed_scalar(before: &Record, after: &Record, f: &FieldDef, out: &mut Described) {
    let (old, new) = (before.get(&f.name), after.get(&f.name));
    if old == new && f.name != "LastModifiedDate" {
        return;
    }
    out.changed.push(f.name.clone());
    if new.is_null() {
        out.nulled.push(f.name.clone());
    }
    let diff = match (f.ftype, old, new) {
        (FieldType::Textarea, FieldRef::Str(o), FieldRef::Str(n)) if f.length > 255 => {
            super::textdiff::diff(o, n)
        }
        _ => None,
    };
    match diff {
        Some(d) => {
            out.diffs.push(f.name.clone());
            out.body.insert(f.name.clone(), Value::String(d));
        }
        None => {
            out.body.insert(f.name.clone(), new.to_value());
        }
    }
}

/// An updated compound field: the parts that changed, each named `Compound.Part` in the
/// field sets.
fn changed_compound(
    before: &Record,
    after: &Record,
    name: &str,
    parts: &[(String, Option<&FieldDef>)],
    out: &mut Described,
) {
    let mut m = Map::new();
    for (p, f) in parts {
        let (old, new) = (part_value(before, *f), part_value(after, *f));
        if old != new {
            out.changed.push(format!("{name}.{p}"));
            if new.is_null() {
                out.nulled.push(format!("{name}.{p}"));
            }
            m.insert(p.clone(), new);
        }
    }
    if !m.is_empty() {
        out.body.insert(name.to_owned(), Value::Object(m));
    }
}
