//! The Tooling API's schema objects as describe knows them (`metadata-tooling.md` §14):
//! `CustomObject` and `CustomField` (writable with `FullName` and `Metadata`),
//! `EntityDefinition` and `FieldDefinition` (read-only). Their rows are built from the
//! live schema at query time ([`crate::tooling::defs`]), so they are no objects of the
//! org's schema; these definitions give them a describeGlobal entry and a describe with
//! the columns those rows have.

use std::sync::OnceLock;

use forcebus_meta::{FieldDef, FieldType as T, ObjectDef};

/// (name, type) of each column; `Metadata` is the component as JSON.
type Columns = &'static [(&'static str, T)];

const CUSTOM_OBJECT: Columns = &[
    ("Id", T::Id),
    ("DeveloperName", T::String),
    ("NamespacePrefix", T::String),
    ("ExternalName", T::String),
    ("SharingModel", T::Picklist),
    ("ExternalSharingModel", T::Picklist),
    ("ManageableState", T::Picklist),
    ("FullName", T::String),
    ("Description", T::Textarea),
    ("Metadata", T::AnyType),
];

const CUSTOM_FIELD: Columns = &[
    ("Id", T::Id),
    ("DeveloperName", T::String),
    ("TableEnumOrId", T::String),
    ("EntityDefinitionId", T::String),
    ("NamespacePrefix", T::String),
    ("ManageableState", T::Picklist),
    ("FullName", T::String),
    ("Length", T::Int),
    ("Description", T::Textarea),
    ("InlineHelpText", T::Textarea),
    ("Metadata", T::AnyType),
];

const ENTITY_DEFINITION: Columns = &[
    ("Id", T::Id),
    ("DurableId", T::String),
    ("QualifiedApiName", T::String),
    ("DeveloperName", T::String),
    ("NamespacePrefix", T::String),
    ("Label", T::String),
    ("PluralLabel", T::String),
    ("MasterLabel", T::String),
    ("KeyPrefix", T::String),
    ("IsCustomizable", T::Boolean),
    ("IsQueryable", T::Boolean),
    ("IsCustomSetting", T::Boolean),
    ("IsApexTriggerable", T::Boolean),
    ("IsDeprecatedAndHidden", T::Boolean),
    ("IsFeedEnabled", T::Boolean),
    ("InternalSharingModel", T::Picklist),
    ("ExternalSharingModel", T::Picklist),
    ("DeploymentStatus", T::Picklist),
    ("PublisherId", T::String),
];

const FIELD_DEFINITION: Columns = &[
    ("Id", T::Id),
    ("DurableId", T::String),
    ("QualifiedApiName", T::String),
    ("DeveloperName", T::String),
    ("NamespacePrefix", T::String),
    ("EntityDefinitionId", T::String),
    ("Label", T::String),
    ("MasterLabel", T::String),
    ("DataType", T::String),
    ("ValueTypeId", T::String),
    ("Length", T::Int),
    ("Precision", T::Int),
    ("Scale", T::Int),
    ("Digits", T::Int),
    ("IsNillable", T::Boolean),
    ("IsIndexed", T::Boolean),
    ("IsCalculated", T::Boolean),
    ("IsFieldHistoryTracked", T::Boolean),
    ("RelationshipName", T::String),
    ("ReferenceTo", T::AnyType),
    ("PublisherId", T::String),
    ("LastModifiedDate", T::Datetime),
];

/// One object's definition: writable ones take `FullName` and `Metadata` on create and
/// `Metadata` on update.
fn object(name: &str, label: &str, prefix: &str, columns: Columns, writable: bool) -> ObjectDef {
    let fields = columns
        .iter()
        .map(|&(column, ftype)| {
            let mut f = FieldDef::new(column, column, ftype);
            f.custom = false;
            f.nillable = column != "Id";
            f.createable = writable && matches!(column, "FullName" | "Metadata");
            f.updateable = writable && column == "Metadata";
            f
        })
        .collect();
    let mut o = ObjectDef::new(name, label, &format!("{label}s"), prefix, fields);
    o.tooling = true;
    o.custom = false;
    o.change_events = false;
    o.createable = writable;
    o.updateable = writable;
    o.deletable = writable;
    o
}

/// The four objects, in describeGlobal's (alphabetical) order.
pub(crate) fn objects() -> &'static [ObjectDef] {
    static OBJECTS: OnceLock<Vec<ObjectDef>> = OnceLock::new();
    OBJECTS.get_or_init(|| {
        vec![
            object(
                "CustomField",
                "Custom Field Definition",
                "00N",
                CUSTOM_FIELD,
                true,
            ),
            object("CustomObject", "Custom Object", "01I", CUSTOM_OBJECT, true),
            object(
                "EntityDefinition",
                "Entity Definition",
                "",
                ENTITY_DEFINITION,
                false,
            ),
            object(
                "FieldDefinition",
                "Field Definition",
                "",
                FIELD_DEFINITION,
                false,
            ),
        ]
    })
}

/// One of them by name (any case).
pub(crate) fn object_named(name: &str) -> Option<&'static ObjectDef> {
    objects().iter().find(|o| o.name.eq_ignore_ascii_case(name))
}
