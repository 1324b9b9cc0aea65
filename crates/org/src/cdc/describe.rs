//! What one record change amounts to in a change event: its change type, the body fields
//! present, and the changed, nulled and diffed field sets (`org-rest-cdc.md` §4.2–4.6).

use crate::fields::FieldRef;
use forcebus_events::change::{ChangeEvent, EventField, event_fields};
use forcebus_meta::{FieldDef, FieldType};
use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};
use serde_json::{Map, Value};
use std::cell::OnceCell;

use super::Change;
use crate::record::Record;

/// What one record change amounts to.
pub(super) struct Described<'c> {
    pub(super) kind: &'static str,
    pub(super) body: Map<String, Value>,
    /// A created or undeleted record's body, when it is written from the record's own
    /// fields (then `body` is empty).
    pub(super) created: Option<Created<'c>>,
    pub(super) changed: Vec<String>,
    pub(super) nulled: Vec<String>,
    /// Fields whose value is a unified diff.
    pub(super) diffs: Vec<String>,
}

impl Described<'_> {
    fn new(kind: &'static str) -> Self {
        Self {
            kind,
            body: Map::new(),
            created: None,
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
    /// may carry a hundred: its body is made from the record's own fields. Worked out at
    /// the transaction's first create or undelete; `None` if a record field went to two
    /// places (then a body looks up every event field).
    places: OnceCell<Option<Places<'o>>>,
}

type Places<'o> = crate::FastMap<&'o str, (u32, u32)>;

/// The part index of a plain field in [`Carried::places`].
const WHOLE: u32 = u32::MAX;

impl<'o> Carried<'o> {
    pub(super) fn of(object: &'o forcebus_meta::ObjectDef) -> Self {
        Self {
            fields: event_fields(object)
                .into_iter()
                .filter(|ef| !matches!(ef, EventField::Scalar(f) if f.ftype == FieldType::Base64))
                .collect(),
            places: OnceCell::new(),
        }
    }

    fn places(&self) -> Option<&Places<'o>> {
        self.places
            .get_or_init(|| {
                let mut places = Places::default();
                let mut twice = false;
                let mut place = |name: &'o str, at: (usize, u32)| {
                    twice |= places.insert(name, (at.0 as u32, at.1)).is_some();
                };
                for (i, ef) in self.fields.iter().enumerate() {
                    match ef {
                        EventField::Scalar(f) => place(&f.name, (i, WHOLE)),
                        EventField::Compound { parts, .. } => {
                            for (p, (_, f)) in parts.iter().enumerate() {
                                if let Some(f) = f {
                                    place(&f.name, (i, p as u32));
                                }
                            }
                        }
                    }
                }
                (!twice).then_some(places)
            })
            .as_ref()
    }
}

/// Change type, body, changed and nulled fields of one change, whose object's event
/// fields are `carried`; `None` when nothing is emitted.
pub(super) fn describe<'c>(c: &Change<'c>, carried: &'c Carried<'_>) -> Option<Described<'c>> {
    let kind = kind(c)?;
    let mut out = Described::new(kind);
    match kind {
        "CREATE" | "UNDELETE" => {
            let after = c.after.filter(|r| !r.is_deleted)?;
            match carried.places() {
                Some(places) => out.created = Some(Created::of(after, &carried.fields, places)),
                None => walk(after, &carried.fields, &mut out.body),
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

/// The change type of a change; `None` when nothing is emitted.
pub(super) fn kind(c: &Change<'_>) -> Option<&'static str> {
    Some(match (c.before, c.after) {
        (None, Some(a)) if !a.is_deleted => "CREATE",
        (Some(b), Some(a)) if !b.is_deleted && !a.is_deleted => "UPDATE",
        (Some(b), Some(a)) if !b.is_deleted && a.is_deleted => "DELETE",
        (Some(b), Some(a)) if b.is_deleted && !a.is_deleted => "UNDELETE",
        _ => return None,
    })
}

/// A created or undeleted record's body, made from its own fields: what [`walk`] makes,
/// in the same order, written as the event is (a map of it cost a bulk load's writer an
/// allocation per field and a copy of every text).
pub(super) struct Created<'c> {
    fields: &'c [EventField<'c>],
    /// Each non-null value the record holds for an event field: the field's index in
    /// `fields` and its part's, in that order.
    found: Vec<(u32, u32, FieldRef<'c>)>,
}

impl<'c> Created<'c> {
    fn of(after: &'c Record, fields: &'c [EventField<'c>], places: &Places<'_>) -> Self {
        let mut found: Vec<(u32, u32, FieldRef<'c>)> = Vec::with_capacity(after.fields.len());
        found.extend(
            after
                .fields
                .iter()
                .filter(|(_, v)| !v.is_null())
                .filter_map(|(name, v)| places.get(name).map(|&(i, part)| (i, part, v))),
        );
        found.sort_unstable_by_key(|&(i, part, _)| (i, part));
        Created { fields, found }
    }
}

impl Serialize for Created<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        let mut at = 0;
        while let Some(&(i, _, v)) = self.found.get(at) {
            let run = self.found[at..].partition_point(|&(next, ..)| next == i);
            match &self.fields[i as usize] {
                EventField::Scalar(f) => map.serialize_entry(&f.name, &v)?,
                EventField::Compound { name, parts } => map.serialize_entry(
                    name,
                    &Parts {
                        names: parts,
                        found: &self.found[at..at + run],
                    },
                )?,
            }
            at += run;
        }
        map.end()
    }
}

/// A change event whose body is a created record's: what serialising the event with that
/// body in its `fields` writes. It follows [`ChangeEvent`]'s serde layout field by field;
/// a test builds the event field by field, so a field added there fails to compile there.
pub(super) struct WithBody<'e, 'c> {
    pub(super) event: &'e ChangeEvent,
    pub(super) body: &'e Created<'c>,
}

impl Serialize for WithBody<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.event;
        let mut event = s.serialize_struct("ChangeEvent", 5)?;
        event.serialize_field("schemaId", &e.schema_id)?;
        event.serialize_field("ChangeEventHeader", &e.header)?;
        event.serialize_field("fields", self.body)?;
        if e.channels.is_empty() {
            event.skip_field("channels")?;
        } else {
            event.serialize_field("channels", &e.channels)?;
        }
        if e.enriched.is_empty() {
            event.skip_field("enriched")?;
        } else {
            event.serialize_field("enriched", &e.enriched)?;
        }
        event.end()
    }
}

/// A compound field's parts the record holds, as an object of them.
struct Parts<'p, 'c> {
    names: &'p [(String, Option<&'c FieldDef>)],
    found: &'p [(u32, u32, FieldRef<'c>)],
}

impl Serialize for Parts<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.found.len()))?;
        for &(_, part, v) in self.found {
            map.serialize_entry(&self.names[part as usize].0, &v)?;
        }
        map.end()
    }
}

fn part_value(rec: &Record, f: Option<&FieldDef>) -> Value {
    f.map_or(Value::Null, |f| rec.get(&f.name).to_value())
}

/// A created or undeleted record's body, made by looking up each event field in it.
fn walk(after: &Record, fields: &[EventField<'_>], body: &mut Map<String, Value>) {
    for ef in fields {
        whole(after, ef, body);
    }
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
    use std::sync::LazyLock;

    use super::*;
    use crate::fields::Fields;
    use crate::id::RecordId;
    use forcebus_meta::ObjectDef;
    use proptest::prelude::*;

    static CATALOGUE: LazyLock<Vec<ObjectDef>> = LazyLock::new(forcebus_meta::standard::catalogue);

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            // Text that needs escaping too: quotes, backslashes, controls, non-ASCII.
            "[a-z\"\\\\\n\u{1}\u{e9}]{0,6}".prop_map(Value::String),
            Just(serde_json::json!(["a", 1, {"b": null}])),
            any::<i32>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<bool>().prop_map(Value::Bool),
        ]
    }

    /// A record of `def` holding `fields`.
    fn record(def: &ObjectDef, fields: Fields) -> Record {
        Record {
            id: RecordId::mint("001", 1),
            object: def.name.as_str().into(),
            fields,
            is_deleted: false,
            deleted: None,
        }
    }

    /// Names a record may hold that are no field of its object.
    const STRANGERS: [&str; 3] = ["Gone__c", "name", "BillingAddress"];

    proptest! {
        /// A body made from a record's own fields is the one made by looking up every
        /// event field, in the same order: for any standard object, whatever fields the
        /// record has (names that are no field of the object included), in whatever order
        /// it set them, nulls included, and packed or not; and the event written with it
        /// is the event serialised with it.
        #[test]
        fn a_body_from_the_records_fields_is_the_walk_of_the_event_fields(
            object in any::<prop::sample::Index>(),
            picks in proptest::collection::vec((any::<prop::sample::Index>(), value()), 0..40),
            strangers in proptest::collection::vec((0..STRANGERS.len(), value()), 0..3),
            pack in any::<bool>(),
            routed in any::<bool>(),
        ) {
            let def = object.get(&CATALOGUE);
            let mut fields = Fields::new();
            for (at, v) in picks.into_iter().filter(|_| !def.fields.is_empty()) {
                fields.insert(at.get(&def.fields).name.clone(), v);
            }
            for (at, v) in strangers {
                fields.insert(STRANGERS[at].to_owned(), v);
            }
            if pack {
                fields.pack();
            }
            let record = record(def, fields);
            let carried = Carried::of(def);
            let places = carried.places().expect("each record field has one place");
            let mut walked = Map::new();
            walk(&record, &carried.fields, &mut walked);
            let made = Created::of(&record, &carried.fields, places);
            prop_assert_eq!(
                serde_json::to_string(&made).unwrap(),
                serde_json::to_string(&walked).unwrap()
            );
            // And the whole event, routed to a custom channel or not.
            // Built field by field: a field added to the event fails to compile here,
            // where `WithBody` must learn it.
            let mut event = ChangeEvent {
                schema_id: "s".into(),
                header: forcebus_events::change::Header {
                    entity_name: def.name.clone(),
                    record_ids: vec!["001000000000001AAA".into()],
                    change_type: "CREATE".into(),
                    change_origin: String::new(),
                    transaction_key: "k".into(),
                    sequence_number: 1,
                    commit_timestamp: 1,
                    commit_number: 2,
                    commit_user: "005000000000001AAA".into(),
                    nulled_fields: Vec::new(),
                    diff_fields: Vec::new(),
                    changed_fields: Vec::new(),
                },
                fields: Map::new(),
                channels: Vec::new(),
                enriched: Map::new(),
            };
            if routed {
                event.channels.push("Sales__chn".into());
                event.enriched.insert("Sales__chn".into(), serde_json::json!({"Name": "n"}));
            }
            let written = serde_json::to_string(&WithBody { event: &event, body: &made }).unwrap();
            event.fields = walked;
            prop_assert_eq!(written, serde_json::to_string(&event).unwrap());
        }
    }

    /// An object where a field is both an event field of its own and an address's part
    /// (`MyStreet`) has no one place per field: its creates look up every event field.
    #[test]
    fn a_field_in_two_places_takes_the_walk() {
        let mut fields = CATALOGUE
            .iter()
            .find(|o| o.name == "Account")
            .unwrap()
            .fields
            .iter()
            .filter(|f| matches!(f.name.as_str(), "Id" | "Name"))
            .cloned()
            .collect::<Vec<_>>();
        fields.push(forcebus_meta::FieldDef::new(
            "MyAddress",
            "My",
            FieldType::Address,
        ));
        fields.push(forcebus_meta::FieldDef::new(
            "MyStreet",
            "Street",
            FieldType::String,
        ));
        let def = ObjectDef::new("Thing__c", "Thing", "Things", "a00", fields);
        let carried = Carried::of(&def);
        assert!(carried.places().is_none());
        let mut values = Fields::new();
        values.insert("Name".into(), "n".into());
        values.insert("MyStreet".into(), "s".into());
        let after = record(&def, values);
        let change = Change {
            object: &def,
            before: None,
            after: Some(&after),
        };
        let body = describe(&change, &carried).unwrap().body;
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"Name":"n","MyAddress":{"Street":"s"},"MyStreet":"s"}"#
        );
    }
}
