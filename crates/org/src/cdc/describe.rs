//! What one record change amounts to in a change event: its change type, the body fields
//! present, and the changed, nulled and diffed field sets (`org-rest-cdc.md` §4.2–4.6).

use crate::fields::FieldRef;
use forcebus_events::change::{EventField, event_fields};
use forcebus_meta::{FieldDef, FieldType};
use serde_json::{Map, Value};
use std::collections::HashMap;

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

/// The fields a change event of an object may carry: its [`event_fields`] but blobs (a
/// blob's bytes are not in change events: the record holds only their store key). The
/// same for every change of the object: worked out once per transaction.
pub(super) struct Carried<'o> {
    fields: Vec<EventField<'o>>,
    /// Where each record field goes: its event field's index and its part's, [`WHOLE`]
    /// for a plain field. A created record has a dozen fields where its object's events
    /// may carry a hundred: its body is made from the record's own fields. `None` if a
    /// record field went to two places (then a body looks up every event field).
    places: Option<HashMap<&'o str, (u32, u32)>>,
}

/// The part index of a plain field in [`Carried::places`].
const WHOLE: u32 = u32::MAX;

impl<'o> Carried<'o> {
    pub(super) fn of(object: &'o forcebus_meta::ObjectDef) -> Self {
        let fields: Vec<EventField<'o>> = event_fields(object)
            .into_iter()
            .filter(|ef| !matches!(ef, EventField::Scalar(f) if f.ftype == FieldType::Base64))
            .collect();
        let mut places = HashMap::new();
        let mut twice = false;
        for (i, ef) in fields.iter().enumerate() {
            let named: Vec<(&'o str, u32)> = match ef {
                EventField::Scalar(f) => vec![(f.name.as_str(), WHOLE)],
                EventField::Compound { parts, .. } => parts
                    .iter()
                    .enumerate()
                    .filter_map(|(p, (_, f))| Some((f.as_ref()?.name.as_str(), p as u32)))
                    .collect(),
            };
            for (name, part) in named {
                twice |= places.insert(name, (i as u32, part)).is_some();
            }
        }
        Self {
            fields,
            places: (!twice).then_some(places),
        }
    }
}

/// Change type, body, changed and nulled fields of one change, whose object's event
/// fields are `carried`; `None` when nothing is emitted.
pub(super) fn describe(c: &Change<'_>, carried: &Carried<'_>) -> Option<Described> {
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
            match &carried.places {
                Some(places) => from_record(after, &carried.fields, places, &mut out.body),
                None => {
                    for ef in &carried.fields {
                        whole(after, ef, &mut out.body);
                    }
                }
            }
        }
        "UPDATE" => {
            let (before, after) = (c.before?, c.after?);
            for ef in &carried.fields {
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

/// A created or undeleted record's body, made from its own fields: what [`whole`] makes
/// of every event field, in the same order.
fn from_record(
    after: &Record,
    fields: &[EventField<'_>],
    places: &HashMap<&str, (u32, u32)>,
    body: &mut Map<String, Value>,
) {
    let mut found: Vec<(u32, u32, FieldRef<'_>)> = after
        .fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .filter_map(|(name, v)| places.get(name).map(|&(i, part)| (i, part, v)))
        .collect();
    found.sort_unstable_by_key(|&(i, part, _)| (i, part));
    let mut found = found.into_iter().peekable();
    while let Some((i, part, v)) = found.next() {
        match &fields[i as usize] {
            EventField::Scalar(f) => {
                body.insert(f.name.clone(), v.to_value());
            }
            EventField::Compound { name, parts } => {
                let mut m = Map::new();
                m.insert(parts[part as usize].0.clone(), v.to_value());
                while let Some((_, part, v)) = found.next_if(|&(next, ..)| next == i) {
                    m.insert(parts[part as usize].0.clone(), v.to_value());
                }
                body.insert(name.clone(), Value::Object(m));
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::Fields;
    use crate::id::RecordId;
    use proptest::prelude::*;

    /// Objects with both compounds: addresses (Account, Lead) and a person's name
    /// (Contact, Lead).
    const OBJECTS: [&str; 3] = ["Account", "Contact", "Lead"];

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            "[a-z]{0,6}".prop_map(Value::String),
            any::<i32>().prop_map(Value::from),
            any::<bool>().prop_map(Value::Bool),
        ]
    }

    proptest! {
        /// A body made from a record's own fields is the one made by looking up every
        /// event field, in the same order: whatever fields the record has, in whatever
        /// order it set them, nulls included, and packed or not.
        #[test]
        fn a_body_from_the_records_fields_is_the_walk_of_the_event_fields(
            object in 0..OBJECTS.len(),
            picks in proptest::collection::vec((any::<prop::sample::Index>(), value()), 0..40),
            pack in any::<bool>(),
        ) {
            let catalogue = forcebus_meta::standard::catalogue();
            let def = catalogue.iter().find(|o| o.name == OBJECTS[object]).unwrap();
            let mut fields = Fields::new();
            for (at, v) in picks {
                fields.insert(at.get(&def.fields).name.clone(), v);
            }
            if pack {
                fields.pack();
            }
            let record = Record {
                id: RecordId::mint(&def.key_prefix, 1),
                object: def.name.as_str().into(),
                fields,
                is_deleted: false,
                deleted: None,
            };
            let carried = Carried::of(def);
            let places = carried.places.as_ref().expect("each record field has one place");
            let mut walked = Map::new();
            for ef in &carried.fields {
                whole(&record, ef, &mut walked);
            }
            let mut made = Map::new();
            from_record(&record, &carried.fields, places, &mut made);
            prop_assert_eq!(
                serde_json::to_string(&made).unwrap(),
                serde_json::to_string(&walked).unwrap()
            );
        }
    }
}
