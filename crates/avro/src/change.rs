//! Change-event schemas (`<Object>ChangeEvent`) and the bitmap strings of
//! `changedFields` / `nulledFields` / `diffFields` (`pubsub-api.md` §5.3–5.5).
//!
//! Field 0 is `ChangeEventHeader`; then every object field that change events carry, in
//! object order, each `["null", T]`. Compound fields (addresses, person names) are nullable
//! nested records at the compound's own position; their parts do not appear on their own.
//! Never carried: `Id`, `IsDeleted`, `SystemModstamp`, formula and other derived fields
//! (roll-up summaries aside: Salesforce carries those).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use forcebus_meta::{FieldDef, FieldType, ObjectDef};

use crate::schema::{Field, RecordSchema, Schema};

/// Namespace of every Salesforce event schema.
pub const NAMESPACE: &str = "com.sforce.eventbus";

/// `ChangeType` symbols, in order.
pub const CHANGE_TYPES: [&str; 10] = [
    "CREATE",
    "UPDATE",
    "DELETE",
    "UNDELETE",
    "GAP_CREATE",
    "GAP_UPDATE",
    "GAP_DELETE",
    "GAP_UNDELETE",
    "GAP_OVERFLOW",
    "SNAPSHOT",
];

/// The parts of an address compound in events, with the record-field suffix behind each
/// (`None` where forcebus has no such field: state and country codes, `Xyz`).
pub const ADDRESS_PARTS: [(&str, Option<&str>); 11] = [
    ("Street", Some("Street")),
    ("City", Some("City")),
    ("State", Some("State")),
    ("PostalCode", Some("PostalCode")),
    ("Country", Some("Country")),
    ("StateCode", None),
    ("CountryCode", None),
    ("Latitude", Some("Latitude")),
    ("Longitude", Some("Longitude")),
    ("Xyz", None),
    ("GeocodeAccuracy", Some("GeocodeAccuracy")),
];

/// The parts of a person-name compound in events.
pub const NAME_PARTS: [&str; 5] = [
    "Salutation",
    "FirstName",
    "LastName",
    "MiddleName",
    "Suffix",
];

/// The change-event entity name: `AccountChangeEvent`, `Invoice__ChangeEvent`.
pub fn entity_name(object: &str) -> String {
    // Pushed, not formatted: every change event names its entity.
    let (base, suffix) = match object.strip_suffix("__c") {
        Some(base) => (base, "__ChangeEvent"),
        None => (object, "ChangeEvent"),
    };
    let mut name = String::with_capacity(base.len() + suffix.len());
    name.push_str(base);
    name.push_str(suffix);
    name
}

/// One top-level field of a change event.
#[derive(Debug, Clone)]
pub enum EventField<'o> {
    /// A plain field.
    Scalar(&'o FieldDef),
    /// A compound: its name, and per part the event name and the record field behind it.
    Compound {
        /// The compound's name (`BillingAddress`, `Name`).
        name: String,
        /// `(part name in the event, record field)`.
        parts: Vec<(String, Option<&'o FieldDef>)>,
    },
}

impl EventField<'_> {
    /// The top-level name.
    pub fn name(&self) -> &str {
        match self {
            EventField::Scalar(f) => &f.name,
            EventField::Compound { name, .. } => name,
        }
    }
}

/// Whether change events leave `f` out: formula and other derived fields (roll-up
/// summaries are the one derived value they carry), compounds' parts, the system fields.
fn excluded(f: &FieldDef) -> bool {
    (f.calculated && f.summary.is_none())
        || f.compound_field_name.is_some()
        || matches!(
            f.name.as_str(),
            "Id" | "IsDeleted"
                | "SystemModstamp"
                | "MasterRecordId"
                | "LastViewedDate"
                | "LastReferencedDate"
                | "LastActivityDate"
        )
}

/// The fields change events of `object` carry, in schema order (index 0, the header, not
/// included: the first entry here is schema field 1).
pub fn event_fields(object: &ObjectDef) -> Vec<EventField<'_>> {
    let mut out = Vec::new();
    for f in &object.fields {
        if f.ftype == FieldType::Address {
            let prefix = f.name.strip_suffix("Address").unwrap_or("");
            let parts = ADDRESS_PARTS
                .iter()
                .map(|(part, suffix)| {
                    (
                        (*part).to_owned(),
                        suffix.and_then(|s| object.field(&format!("{prefix}{s}"))),
                    )
                })
                .collect();
            out.push(EventField::Compound {
                name: f.name.clone(),
                parts,
            });
        } else if excluded(f) {
            // A part of a compound, or a field change events never carry.
        } else if f.extra_type_info.as_deref() == Some("personname") {
            let parts = NAME_PARTS
                .iter()
                .map(|p| ((*p).to_owned(), object.field(p)))
                .collect();
            out.push(EventField::Compound {
                name: f.name.clone(),
                parts,
            });
        } else {
            out.push(EventField::Scalar(f));
        }
    }
    out
}

/// The Avro type of a field's values.
pub fn avro_type(f: &FieldDef) -> Schema {
    match f.ftype {
        FieldType::Boolean => Schema::Boolean,
        FieldType::Int => Schema::Int,
        FieldType::Long | FieldType::Datetime | FieldType::Time => Schema::Long,
        FieldType::Double | FieldType::Currency | FieldType::Percent => Schema::Double,
        FieldType::Date => Schema::Int,
        _ => Schema::String,
    }
}

fn doc(f: &FieldDef) -> String {
    let kind = match f.ftype {
        FieldType::Id | FieldType::Reference => "EntityId",
        FieldType::Boolean => "Boolean",
        FieldType::Int | FieldType::Long => "Int",
        FieldType::Double | FieldType::Currency | FieldType::Percent => "Double",
        FieldType::Date => "Date",
        FieldType::Datetime => "DateTime",
        FieldType::Time => "Time",
        FieldType::Picklist | FieldType::Multipicklist => "Picklist",
        _ => "Text",
    };
    match f.name.as_str() {
        "CreatedDate" | "LastModifiedDate" => format!("{}:DateTime", f.name),
        "CreatedById" => "CreatedBy:EntityId".to_owned(),
        "LastModifiedById" => "LastModifiedBy:EntityId".to_owned(),
        _ => format!("Data:{kind}"),
    }
}

/// The `ChangeEventHeader` record schema.
pub fn header_schema() -> Schema {
    let strings = || Schema::Array(Box::new(Schema::String));
    Schema::Record(Arc::new(RecordSchema {
        name: "ChangeEventHeader".into(),
        namespace: None,
        fields: vec![
            Field::new("entityName", Schema::String),
            Field::new("recordIds", strings()),
            Field::new(
                "changeType",
                Schema::Enum {
                    name: "ChangeType".into(),
                    symbols: CHANGE_TYPES.map(String::from).to_vec(),
                    doc: Some("ChangeType".into()),
                },
            )
            .doc("ChangeType"),
            Field::new("changeOrigin", Schema::String),
            Field::new("transactionKey", Schema::String),
            Field::new("sequenceNumber", Schema::Int),
            Field::new("commitTimestamp", Schema::Long),
            Field::new("commitNumber", Schema::Long),
            Field::new("commitUser", Schema::String),
            Field::new("nulledFields", strings()),
            Field::new("diffFields", strings()),
            Field::new("changedFields", strings()),
        ],
    }))
}

/// The change-event schema of `object`.
pub fn change_event_schema(object: &ObjectDef) -> Schema {
    let mut fields =
        vec![Field::new("ChangeEventHeader", header_schema()).doc("Data:ChangeEventHeader")];
    let mut address: Option<Schema> = None;
    for ef in event_fields(object) {
        match ef {
            EventField::Scalar(f) => {
                fields.push(Field::nullable(&f.name, avro_type(f)).doc(&doc(f)))
            }
            EventField::Compound { name, parts } => {
                let is_address = parts.len() == ADDRESS_PARTS.len();
                let build = || {
                    let sub = parts
                        .iter()
                        .map(|(p, f)| Field::nullable(p, f.map_or(Schema::String, avro_type)))
                        .collect();
                    Schema::Record(Arc::new(RecordSchema {
                        name: if is_address {
                            "Address".into()
                        } else {
                            "Name".into()
                        },
                        namespace: None,
                        fields: sub,
                    }))
                };
                let record = if is_address {
                    address.get_or_insert_with(build).clone()
                } else {
                    build()
                };
                let kind = if is_address {
                    "Data:Address"
                } else {
                    "Data:Name"
                };
                fields.push(Field::nullable(&name, record).doc(kind));
            }
        }
    }
    Schema::Record(Arc::new(RecordSchema {
        name: entity_name(&object.name),
        namespace: Some(NAMESPACE.into()),
        fields,
    }))
}

/// Fields named by a change: schema positions of top-level fields, and of compound parts
/// under their compound's position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    /// Top-level positions (1-based: 0 is the header).
    pub top: BTreeSet<usize>,
    /// Compound position → part positions.
    pub parts: BTreeMap<usize, BTreeSet<usize>>,
}

impl FieldSet {
    /// Positions of `names` (`Phone`, `BillingAddress.City`) in `schema`'s fields.
    pub fn of(schema: &RecordSchema, names: &[String]) -> Self {
        let mut set = Self::default();
        for name in names {
            let (top, part) = match name.split_once('.') {
                Some((t, p)) => (t, Some(p)),
                None => (name.as_str(), None),
            };
            let Some(i) = schema.fields.iter().position(|f| f.name == top) else {
                continue;
            };
            match (part, compound_of(&schema.fields[i].schema)) {
                (Some(p), Some(rec)) => {
                    if let Some(j) = rec.fields.iter().position(|f| f.name == p) {
                        set.parts.entry(i).or_default().insert(j);
                    }
                }
                _ => {
                    set.top.insert(i);
                }
            }
        }
        set
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.top.is_empty() && self.parts.is_empty()
    }
}

fn compound_of(s: &Schema) -> Option<&RecordSchema> {
    match s {
        Schema::Union(bs) => bs.iter().find_map(Schema::as_record),
        other => other.as_record(),
    }
}

/// `0x` and upper-case hex of the integer whose bit *i* is set for each position: whole
/// bytes, big-endian, no leading zero bytes.
fn hex(positions: &BTreeSet<usize>) -> String {
    let len = positions.iter().max().map_or(1, |m| m / 8 + 1);
    let mut bytes = vec![0u8; len];
    for p in positions {
        bytes[p / 8] |= 1 << (p % 8);
    }
    let digits: String = bytes.iter().rev().map(|b| format!("{b:02X}")).collect();
    format!("0x{digits}")
}

/// The bitmap strings of a field set: `[]`, or `["0x…", "<pos>-0x…", …]`.
pub fn bitmap(set: &FieldSet) -> Vec<String> {
    if set.is_empty() {
        return Vec::new();
    }
    let mut out = vec![hex(&set.top)];
    for (i, parts) in &set.parts {
        out.push(format!("{i}-{}", hex(parts)));
    }
    out
}

/// Names from bitmap strings, decoded as the Pub/Sub clients decode them (bit *i* of
/// element 0 names top-level field *i*; `n-0x…` names parts of the compound at *n*).
pub fn names_from_bitmap(schema: &RecordSchema, bitmap: &[String]) -> Vec<String> {
    let bits = |hex: &str| -> Vec<usize> {
        let digits: Vec<u8> = hex.bytes().rev().collect();
        let mut out = Vec::new();
        for (k, d) in digits.iter().enumerate() {
            let v = (*d as char).to_digit(16).unwrap_or(0);
            for b in 0..4 {
                if v & (1 << b) != 0 {
                    out.push(k * 4 + b);
                }
            }
        }
        out
    };
    let mut names = Vec::new();
    for (n, entry) in bitmap.iter().enumerate() {
        if let (0, Some(hex)) = (n, entry.strip_prefix("0x")) {
            names.extend(
                bits(hex)
                    .into_iter()
                    .filter_map(|i| schema.fields.get(i).map(|f| f.name.clone())),
            );
        } else if let Some((pos, hex)) = entry.split_once("-0x") {
            let Some(parent) = pos.parse::<usize>().ok().and_then(|p| schema.fields.get(p)) else {
                continue;
            };
            let Some(rec) = compound_of(&parent.schema) else {
                continue;
            };
            names.extend(bits(hex).into_iter().filter_map(|i| {
                rec.fields
                    .get(i)
                    .map(|f| format!("{}.{}", parent.name, f.name))
            }));
        }
    }
    names
}
