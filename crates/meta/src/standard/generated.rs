//! The catalogue's data: `crates/meta/catalogue/standard.json`, written by
//! `scripts/catalogue/generate` from public describe data (the objects it holds are listed
//! in `scripts/catalogue/objects.txt` and `core-objects.json`). Parsed once per process;
//! every entry says only what differs from [`FieldDef::new`]'s defaults.

use std::sync::Arc;

use serde::Deserialize;

use crate::{FieldDef, FieldType, ObjectDef};

const CATALOGUE: &str = include_str!("../../catalogue/standard.json");
/// The API version fields came in, where later than the oldest served (`since.json`).
const SINCE: &str = include_str!("../../catalogue/since.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Object {
    name: String,
    label: String,
    label_plural: String,
    key_prefix: String,
    createable: bool,
    updateable: bool,
    deletable: bool,
    change_events: bool,
    #[serde(default)]
    also_tooling: bool,
    #[serde(default)]
    tooling: bool,
    #[serde(default = "yes")]
    queryable: bool,
    values_of: Option<crate::ValuesOf>,
    fields: Vec<Field>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Field {
    name: String,
    label: String,
    #[serde(rename = "type")]
    ftype: FieldType,
    length: Option<u32>,
    precision: Option<u32>,
    scale: Option<u32>,
    digits: Option<u32>,
    #[serde(default = "yes")]
    nillable: bool,
    #[serde(default = "yes")]
    createable: bool,
    #[serde(default = "yes")]
    updateable: bool,
    #[serde(default)]
    defaulted_on_create: bool,
    #[serde(default)]
    auto_number: bool,
    #[serde(default)]
    calculated: bool,
    #[serde(default)]
    name_field: bool,
    #[serde(default)]
    unique: bool,
    #[serde(default)]
    external_id: bool,
    #[serde(default)]
    picklist: Vec<String>,
    default_picklist: Option<String>,
    #[serde(default)]
    restricted_picklist: bool,
    default_value: Option<serde_json::Value>,
    #[serde(default)]
    reference_to: Vec<String>,
    relationship_name: Option<String>,
    child_relationship: Option<String>,
    #[serde(default)]
    cascade_delete: bool,
    compound_field_name: Option<String>,
    extra_type_info: Option<String>,
}

fn yes() -> bool {
    true
}

impl Field {
    fn into_def(self) -> FieldDef {
        let mut d = FieldDef::new(&self.name, &self.label, self.ftype);
        if let Some(length) = self.length {
            d.length = length;
        }
        d.precision = self.precision.unwrap_or(0);
        d.scale = self.scale.unwrap_or(0);
        if let Some(digits) = self.digits {
            d.digits = digits;
        }
        d.nillable = self.nillable;
        d.createable = self.createable;
        d.updateable = self.updateable;
        d.defaulted_on_create = self.defaulted_on_create;
        d.auto_number = self.auto_number;
        d.calculated = self.calculated;
        d.name_field = self.name_field;
        d.unique = self.unique;
        d.external_id = self.external_id;
        d.picklist = self.picklist;
        d.default_picklist = self.default_picklist;
        d.restricted_picklist = self.restricted_picklist;
        d.default_value = self.default_value;
        d.reference_to = self.reference_to;
        d.relationship_name = self.relationship_name;
        d.child_relationship = self.child_relationship;
        d.cascade_delete = self.cascade_delete;
        d.compound_field_name = self.compound_field_name;
        d.extra_type_info = self.extra_type_info;
        d
    }
}

impl Object {
    fn into_def(self) -> ObjectDef {
        let fields = self.fields.into_iter().map(Field::into_def).collect();
        let mut o = ObjectDef::new(
            &self.name,
            &self.label,
            &self.label_plural,
            &self.key_prefix,
            fields,
        );
        o.createable = self.createable;
        o.updateable = self.updateable;
        o.deletable = self.deletable;
        o.change_events = self.change_events;
        o.also_tooling = self.also_tooling;
        o.tooling = self.tooling;
        o.queryable = self.queryable;
        o.values_of = self.values_of;
        o
    }
}

/// Gives the fields of `objects` the version they came in.
fn set_field_versions(objects: &mut [ObjectDef]) {
    let since: std::collections::HashMap<String, std::collections::HashMap<String, u32>> =
        serde_json::from_str(SINCE).expect("the field versions are valid");
    for o in objects {
        let Some(fields) = since.get(&o.name) else {
            continue;
        };
        for f in &mut o.fields {
            if let Some(v) = fields.get(&f.name) {
                f.since = *v;
            }
        }
    }
}

/// Every object of the data file, in the file's order, with the version each field came
/// in; parsed on the first call. Reference-counted, so that a schema of them shares them.
pub(super) fn objects() -> &'static [Arc<ObjectDef>] {
    static OBJECTS: std::sync::OnceLock<Vec<Arc<ObjectDef>>> = std::sync::OnceLock::new();
    OBJECTS.get_or_init(|| {
        let objects: Vec<Object> =
            serde_json::from_str(CATALOGUE).expect("the generated catalogue is valid");
        let mut objects: Vec<ObjectDef> = objects.into_iter().map(Object::into_def).collect();
        set_field_versions(&mut objects);
        objects.into_iter().map(Arc::new).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_object_reads_with_an_id_and_at_most_one_name_field() {
        let objects = objects();
        assert!(objects.len() >= 60, "{} objects", objects.len());
        for o in objects {
            assert!(o.field("Id").is_some(), "{} has an Id", o.name);
            assert!(o.key_prefix.len() == 3 || !o.queryable, "{}", o.name);
            assert!(
                o.fields.iter().filter(|f| f.name_field).count() <= 1,
                "{}",
                o.name
            );
        }
    }
}
