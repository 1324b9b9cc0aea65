//! Object metadata: objects, fields and their types, as `describe` reports them. Pure data,
//! shared by the org (validation), the SOQL binder and the event schemas.
//!
//! A [`Schema`] is built once at start-up from the standard catalogue
//! plus the custom objects and fields of the config file, and is read-only afterwards.
//! The standard catalogue is [`standard`].

use std::collections::HashMap;

pub mod id;
mod lowercase;
mod rules;
mod schema;
pub mod standard;

pub use id::RecordId;
pub use rules::{FormulaDef, SummaryDef, SummaryFilter, SummaryOp, ValidationRuleDef};
pub use schema::Schema;

use serde::{Deserialize, Serialize};

/// Objects and fields by lower-case name (or key prefix), hashed with foldhash: the keys
/// are the schema's own names, looked up on every record an org touches, where SipHash
/// was most of a lookup's cost.
type NameMap = HashMap<String, usize, foldhash::fast::RandomState>;

/// A field's type, by its describe name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)] // The variants are Salesforce's own type names.
pub enum FieldType {
    Id,
    String,
    Textarea,
    Boolean,
    Int,
    Long,
    Double,
    Currency,
    Percent,
    Date,
    Datetime,
    Time,
    Reference,
    Picklist,
    Multipicklist,
    Combobox,
    Email,
    Phone,
    Url,
    Address,
    Location,
    Base64,
    Encryptedstring,
    #[serde(rename = "anyType")]
    AnyType,
}

impl FieldType {
    /// The describe `type` string.
    pub fn name(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::String => "string",
            Self::Textarea => "textarea",
            Self::Boolean => "boolean",
            Self::Int => "int",
            Self::Long => "long",
            Self::Double => "double",
            Self::Currency => "currency",
            Self::Percent => "percent",
            Self::Date => "date",
            Self::Datetime => "datetime",
            Self::Time => "time",
            Self::Reference => "reference",
            Self::Picklist => "picklist",
            Self::Multipicklist => "multipicklist",
            Self::Combobox => "combobox",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Url => "url",
            Self::Address => "address",
            Self::Location => "location",
            Self::Base64 => "base64",
            Self::Encryptedstring => "encryptedstring",
            Self::AnyType => "anyType",
        }
    }

    /// The describe `soapType` string.
    pub fn soap_type(self) -> &'static str {
        match self {
            Self::Id | Self::Reference => "tns:ID",
            Self::Boolean => "xsd:boolean",
            Self::Int => "xsd:int",
            Self::Long => "xsd:long",
            Self::Double | Self::Currency | Self::Percent => "xsd:double",
            Self::Date => "xsd:date",
            Self::Datetime => "xsd:dateTime",
            Self::Time => "xsd:time",
            Self::Address => "urn:address",
            Self::Location => "urn:location",
            Self::Base64 => "xsd:base64Binary",
            Self::AnyType => "xsd:anyType",
            _ => "xsd:string",
        }
    }

    /// Whether values are text (length-limited strings).
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Self::String
                | Self::Textarea
                | Self::Picklist
                | Self::Multipicklist
                | Self::Combobox
                | Self::Email
                | Self::Phone
                | Self::Url
                | Self::Encryptedstring
        )
    }
}

/// One field of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDef {
    /// API name, e.g. `BillingCity`, `Region__c`.
    pub name: String,
    /// Display label.
    pub label: String,
    /// Type.
    pub ftype: FieldType,
    /// Maximum length for text types, 0 otherwise.
    pub length: u32,
    /// Total digits for numbers (`double`, `currency`, `percent`).
    pub precision: u32,
    /// Digits after the decimal point.
    pub scale: u32,
    /// Digits for `int` fields.
    pub digits: u32,
    /// May be null.
    pub nillable: bool,
    /// May be set on insert.
    pub createable: bool,
    /// May be set on update.
    pub updateable: bool,
    /// Gets a value on insert when none is given (so not required even if not nillable).
    pub defaulted_on_create: bool,
    /// A `__c` field.
    pub custom: bool,
    /// Usable for upsert and retrieval by external id.
    pub external_id: bool,
    /// Values must be unique across the object's records.
    pub unique: bool,
    /// The record's name field.
    pub name_field: bool,
    /// A formula or otherwise computed field: never writable, never in change events.
    pub calculated: bool,
    /// Numbered by the org on insert (`CaseNumber`, `OrderNumber`): read-only.
    pub auto_number: bool,
    /// Allowed picklist values, in order; the first flagged default (if any) is the default.
    pub picklist: Vec<String>,
    /// Picklist value used on insert when none is given.
    pub default_picklist: Option<String>,
    /// Only the listed picklist values are accepted.
    pub restricted_picklist: bool,
    /// Objects a reference may point to.
    pub reference_to: Vec<String>,
    /// SOQL accessor of the parent (`Account` for `AccountId`, `Parent__r` for `Parent__c`).
    pub relationship_name: Option<String>,
    /// Child relationship name on the parent (`Contacts` for `Contact.AccountId`).
    pub child_relationship: Option<String>,
    /// Deleting the parent deletes this record (master-detail, or Contact on Account).
    pub cascade_delete: bool,
    /// The compound field this field is a part of (`BillingAddress`, `Name`).
    pub compound_field_name: Option<String>,
    /// `personname`, `plaintextarea`, `richtextarea`, ...
    pub extra_type_info: Option<String>,
    /// The default value given on insert when the field is absent.
    pub default_value: Option<serde_json::Value>,
    /// The major API version the field came in (0: every served version has it); a call
    /// at an older version does not see it.
    pub since: u32,
    /// How an auto-number field shows its number (`A-{0000}`, `{YYYY}-{0}`); none: eight
    /// digits, as standard numbers (`OrderNumber`) read.
    pub display_format: Option<String>,
    /// The first number an auto-number field gives (none: 1).
    pub starting_number: Option<u64>,
    /// A formula field's formula and how it reads blanks (none for stored fields, and for
    /// the standard catalogue's computed fields, which the org derives itself).
    pub formula: Option<Box<FormulaDef>>,
    /// A roll-up summary field's definition: the org keeps its value as its children change.
    pub summary: Option<Box<SummaryDef>>,
    /// A default value formula (`TODAY() + 30`, `$User.Email`): evaluated on insert when the
    /// field is given no value.
    pub default_formula: Option<String>,
    /// Its changes are kept in its object's history (`trackHistory`).
    pub track_history: bool,
}

impl FieldDef {
    /// Whether a call at API version `major` (66 of 66.0) sees the field.
    pub fn exists_at(&self, major: u32) -> bool {
        self.since <= major
    }

    /// A field with the common defaults: nillable, createable, updateable.
    pub fn new(name: &str, label: &str, ftype: FieldType) -> Self {
        let length = match ftype {
            FieldType::Id | FieldType::Reference => 18,
            FieldType::Phone | FieldType::Picklist => 40,
            FieldType::Email | FieldType::Url | FieldType::String => 255,
            FieldType::Textarea => 32000,
            FieldType::Multipicklist => 4099,
            _ => 0,
        };
        Self {
            name: name.to_owned(),
            label: label.to_owned(),
            ftype,
            length,
            precision: 0,
            scale: 0,
            digits: if ftype == FieldType::Int { 9 } else { 0 },
            nillable: true,
            createable: true,
            updateable: true,
            defaulted_on_create: false,
            custom: name.ends_with("__c"),
            external_id: false,
            unique: false,
            name_field: false,
            calculated: false,
            auto_number: false,
            picklist: Vec::new(),
            default_picklist: None,
            restricted_picklist: false,
            reference_to: Vec::new(),
            relationship_name: None,
            child_relationship: None,
            cascade_delete: false,
            compound_field_name: None,
            extra_type_info: None,
            default_value: None,
            since: 0,
            display_format: None,
            starting_number: None,
            formula: None,
            summary: None,
            default_formula: None,
            track_history: false,
        }
    }

    /// Whether an insert must give a value.
    pub fn required_on_create(&self) -> bool {
        !self.nillable
            && self.createable
            && !self.defaulted_on_create
            && self.ftype != FieldType::Boolean
    }

    /// Whether a formula field keeps a query from grouping by it: formulas cannot be
    /// grouped, save checkbox and date ones.
    pub fn formula_ungroupable(&self) -> bool {
        self.formula.is_some() && !matches!(self.ftype, FieldType::Boolean | FieldType::Date)
    }

    /// Whether the field is one of the system audit fields Salesforce maintains itself.
    pub fn is_system(&self) -> bool {
        matches!(
            self.name.as_str(),
            "Id" | "IsDeleted"
                | "CreatedDate"
                | "CreatedById"
                | "LastModifiedDate"
                | "LastModifiedById"
                | "SystemModstamp"
        )
    }
}

/// The picklist an object's rows are made from (`LeadStatus`: `Lead.Status`), with the
/// fields each value sets beyond its label, order and default (`IsConverted`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct ValuesOf {
    /// The object of the picklist field.
    pub object: String,
    /// The picklist field.
    pub field: String,
    /// Per value, its other fields' values; a value not listed has them false.
    #[serde(default)]
    pub flags: std::collections::BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
}

/// The major number of an API version (`59` of `59.0` or `v59.0`); one that does not read
/// as a version is the newest (no field is hidden from it).
pub fn major_version(version: &str) -> u32 {
    version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(u32::MAX)
}

/// One object (sObject type).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectDef {
    /// API name, e.g. `Account`, `Invoice__c`.
    pub name: String,
    /// Singular label.
    pub label: String,
    /// Plural label.
    pub label_plural: String,
    /// 3-character id prefix.
    pub key_prefix: String,
    /// A `__c` object.
    pub custom: bool,
    /// Whether records can be created through the API.
    pub createable: bool,
    /// Whether records can be updated through the API.
    pub updateable: bool,
    /// Whether records can be deleted through the API.
    pub deletable: bool,
    /// Whether a query may name it in `FROM` (not `ActivityHistory`, whose rows are only
    /// its parents' `ActivityHistories`).
    pub queryable: bool,
    /// A Tooling API object: invisible to the data API, queried through `/tooling/query`.
    pub tooling: bool,
    /// A data object the Tooling API serves too (`User`, `ApexClass`): its tooling calls
    /// are its data API calls.
    pub also_tooling: bool,
    /// Whether Change Data Capture can select it (not for PushTopic and tooling objects).
    pub change_events: bool,
    /// For an object whose rows are a picklist's values (`LeadStatus`): which picklist,
    /// and each value's flags.
    pub values_of: Option<ValuesOf>,
    /// Fields in describe order.
    pub fields: Vec<FieldDef>,
    /// Validation rules, in the order they were declared.
    pub validation_rules: Vec<ValidationRuleDef>,
    /// Field history is kept for the fields that track it (`enableHistory`).
    pub enable_history: bool,
    /// The organization-wide default for its records (`sharingModel`: `Private`, `Read`,
    /// `ReadWrite`, `ControlledByParent`, ...); `None`: public read/write, as every
    /// object was before sharing.
    pub sharing_model: Option<String>,
    index: NameMap,
}

impl ObjectDef {
    /// An object with the given fields; names are indexed case-insensitively.
    pub fn new(name: &str, label: &str, plural: &str, prefix: &str, fields: Vec<FieldDef>) -> Self {
        let mut def = Self {
            name: name.to_owned(),
            label: label.to_owned(),
            label_plural: plural.to_owned(),
            key_prefix: prefix.to_owned(),
            custom: name.ends_with("__c"),
            createable: true,
            updateable: true,
            deletable: true,
            queryable: true,
            tooling: false,
            also_tooling: false,
            change_events: true,
            values_of: None,
            fields: Vec::new(),
            validation_rules: Vec::new(),
            enable_history: false,
            sharing_model: None,
            index: NameMap::default(),
        };
        for f in fields {
            def.push_field(f);
        }
        def
    }

    /// Removes a field; returns it, if there was one.
    pub fn remove_field(&mut self, name: &str) -> Option<FieldDef> {
        let i = lowercase::with(name, |key| self.index.remove(key))?;
        let removed = self.fields.remove(i);
        for slot in self.index.values_mut() {
            if *slot > i {
                *slot -= 1;
            }
        }
        Some(removed)
    }

    /// Appends a field (replacing one of the same name).
    pub fn push_field(&mut self, field: FieldDef) {
        let key = field.name.to_ascii_lowercase();
        match self.index.get(&key) {
            Some(&i) => self.fields[i] = field,
            None => {
                self.index.insert(key, self.fields.len());
                self.fields.push(field);
            }
        }
    }

    /// Inserts a field at position `at` (at most the number of fields), or replaces one
    /// of the same name where it is.
    pub fn insert_field(&mut self, at: usize, field: FieldDef) {
        let key = field.name.to_ascii_lowercase();
        if let Some(&i) = self.index.get(&key) {
            self.fields[i] = field;
            return;
        }
        let at = at.min(self.fields.len());
        for slot in self.index.values_mut() {
            if *slot >= at {
                *slot += 1;
            }
        }
        self.index.insert(key, at);
        self.fields.insert(at, field);
    }

    /// Looks a field up by name, case-insensitively.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        lowercase::with(name, |key| self.index.get(key).copied()).map(|i| &self.fields[i])
    }

    /// The parts of a compound field, in order.
    pub fn compound_parts<'a>(&'a self, compound: &'a str) -> impl Iterator<Item = &'a FieldDef> {
        self.fields
            .iter()
            .filter(move |f| f.compound_field_name.as_deref() == Some(compound))
    }

    /// The name field (`Name`, `Subject`, `CaseNumber`).
    pub fn name_field(&self) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name_field)
    }
}

/// A child relationship as `describe` lists it on the parent.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildRelationship {
    /// Child object.
    pub child: String,
    /// Child's reference field.
    pub field: String,
    /// Relationship name (`Contacts`).
    pub name: Option<String>,
    /// Deleting the parent deletes the children.
    pub cascade_delete: bool,
}
