//! Schema changes made while an org runs (the Tooling API's `CustomObject` and
//! `CustomField`), in the config file's terms: kept in the store as one document, applied
//! at start after the config file's objects, so a restart finds the schema as it was.
//!
//! The config file wins where both name the same object or field (a name the file took
//! since is skipped, with a warning). Custom objects keep the key prefix and the ids they
//! were given, so their records keep their ids across restarts and config changes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use forcebus_meta::{RecordId, Schema};

use crate::custom::{FieldConfig, ObjectConfig, ValidationRuleConfig, custom_object, field_def};
use crate::error::{ErrorKind, SchemaError};

/// Where the document is kept (space, key).
pub const STORED: (&str, &str) = ("schema.runtime", "definitions");

/// Key prefix of custom field ids (`CustomField`, `FieldDefinition`).
pub const FIELD_PREFIX: &str = "00N";
/// Key prefix of custom object ids (`CustomObject`, `EntityDefinition`).
pub const OBJECT_PREFIX: &str = "01I";

/// A custom object created at runtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeObject {
    /// Its records' key prefix.
    pub key_prefix: String,
    /// Its `CustomObject` id.
    pub id: String,
    /// Labels (its fields are kept with every other runtime field).
    pub config: ObjectConfig,
}

/// A custom field added at runtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeField {
    /// Its `CustomField` id.
    pub id: String,
    /// The field.
    pub config: FieldConfig,
}

/// A validation rule made or changed at runtime (a deploy, the Tooling API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeRule {
    /// Its `ValidationRule` id.
    pub id: String,
    /// The rule.
    pub config: ValidationRuleConfig,
}

/// Key prefix of validation rule ids (`ValidationRule`).
pub const RULE_PREFIX: &str = "03d";

/// Every runtime change, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuntimeSchema {
    /// Custom objects, by name.
    #[serde(default)]
    pub objects: BTreeMap<String, RuntimeObject>,
    /// Fields, by object name, in the order they were added.
    #[serde(default)]
    pub fields: BTreeMap<String, Vec<RuntimeField>>,
    /// The counter behind the ids.
    #[serde(default)]
    pub next_id: u64,
    /// Key prefixes of deleted objects, never given again (Salesforce does not reuse
    /// them, and events in the log still name their records).
    #[serde(default)]
    pub retired_prefixes: Vec<String>,
    /// Objects that have had a record type: they have the `RecordTypeId` field.
    #[serde(default)]
    pub record_types: std::collections::BTreeSet<String>,
    /// Standard objects whose field history a deploy enabled.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub history: std::collections::BTreeSet<String>,
    /// Validation rules, by object name, in the order they were made.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub validation_rules: BTreeMap<String, Vec<RuntimeRule>>,
    /// Where the org's range of ids starts: added to `next_id` when an id is minted.
    #[serde(skip)]
    pub id_base: u64,
}

impl RuntimeSchema {
    /// The stored document; an unreadable one is reported, not ignored.
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text)
            .map_err(|e| format!("the stored schema changes are unreadable: {e}"))
    }

    /// The document to store.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain data serialises")
    }

    /// A new id with `prefix`.
    pub fn mint(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        RecordId::mint(prefix, self.id_base + self.next_id)
            .as15()
            .to_owned()
    }

    /// Applies every change to `schema` (which already holds the config file's objects).
    pub fn apply(&self, schema: &mut Schema) {
        for (name, o) in &self.objects {
            if schema.object(name).is_some() {
                tracing::warn!(object = %name, "An object created at runtime is now declared in the config file; the file's is used.");
                continue;
            }
            schema.insert(custom_object(name, &o.config, o.key_prefix.clone()));
        }
        for (object, fields) in &self.fields {
            for f in fields {
                if let Err(e) = add_field(schema, object, &f.config) {
                    tracing::warn!(object = %object, field = %f.config.name, error = %e.message, "A field added at runtime cannot be restored; skipped.");
                }
            }
        }
        for object in &self.record_types {
            crate::record_types::add_field(schema, object);
        }
        for object in &self.history {
            if let Some(def) = schema.object_mut(object) {
                def.enable_history = true;
            }
        }
        for (object, rules) in &self.validation_rules {
            let configs: Vec<ValidationRuleConfig> =
                rules.iter().map(|r| r.config.clone()).collect();
            let applied = schema
                .object_mut(object)
                .ok_or_else(|| "its object is gone".to_owned())
                .and_then(|o| crate::custom::set_validation_rules(o, &configs));
            if let Err(e) = applied {
                tracing::warn!(object = %object, error = %e, "Validation rules made at runtime cannot be restored; skipped.");
            }
        }
        for problem in crate::custom::settle(schema) {
            tracing::warn!(%problem, "A roll-up summary made at runtime cannot be settled; it reads as a number.");
        }
    }

    /// Makes or changes the validation rule `rule` of `object` in `schema`, and records
    /// it: its id, and whether it is new (`None`: it was already so).
    pub fn put_validation_rule(
        &mut self,
        schema: &mut Schema,
        object: &str,
        rule: ValidationRuleConfig,
    ) -> Result<Option<(String, bool)>, SchemaError> {
        let def = schema.object_mut(object).ok_or_else(|| {
            SchemaError::new(
                ErrorKind::InvalidInput,
                format!("In field: fullName - no CustomObject named {object} found"),
            )
        })?;
        let name = def.name.clone();
        crate::custom::set_validation_rules(def, std::slice::from_ref(&rule))
            .map_err(|e| SchemaError::new(ErrorKind::InvalidInput, e))?;
        let rules = self.validation_rules.entry(name).or_default();
        match rules
            .iter_mut()
            .find(|r| r.config.name.eq_ignore_ascii_case(&rule.name))
        {
            Some(known) if known.config == rule => Ok(None),
            Some(known) => {
                known.config = rule;
                Ok(Some((known.id.clone(), false)))
            }
            None => {
                self.next_id += 1;
                let id = RecordId::mint(RULE_PREFIX, self.id_base + self.next_id)
                    .as15()
                    .to_owned();
                rules.push(RuntimeRule {
                    id: id.clone(),
                    config: rule,
                });
                Ok(Some((id, true)))
            }
        }
    }

    /// The runtime validation rule `name` of `object`, if it is one.
    pub fn validation_rule(&self, object: &str, name: &str) -> Option<&RuntimeRule> {
        self.validation_rules
            .iter()
            .find(|(o, _)| o.eq_ignore_ascii_case(object))?
            .1
            .iter()
            .find(|r| r.config.name.eq_ignore_ascii_case(name))
    }

    /// The runtime validation rule with this id (15 or 18 characters), and its object.
    pub fn validation_rule_by_id(&self, id: &str) -> Option<(&str, &RuntimeRule)> {
        let id = RecordId::parse(id)?;
        self.validation_rules.iter().find_map(|(o, rules)| {
            rules
                .iter()
                .find(|r| RecordId::parse(&r.id) == Some(id))
                .map(|r| (o.as_str(), r))
        })
    }

    /// Removes the validation rule `name` of `object`, if it was made at runtime; whether
    /// there was one.
    pub fn remove_validation_rule(
        &mut self,
        schema: &mut Schema,
        object: &str,
        name: &str,
    ) -> bool {
        let Some(rules) = self
            .validation_rules
            .iter_mut()
            .find(|(o, _)| o.eq_ignore_ascii_case(object))
            .map(|(_, r)| r)
        else {
            return false;
        };
        let before = rules.len();
        rules.retain(|r| !r.config.name.eq_ignore_ascii_case(name));
        let removed = rules.len() != before;
        if removed && let Some(def) = schema.object_mut(object) {
            def.validation_rules
                .retain(|r| !r.name.eq_ignore_ascii_case(name));
        }
        removed
    }

    /// The runtime field `object.field`, if it is one.
    pub fn field(&self, object: &str, field: &str) -> Option<&RuntimeField> {
        self.fields
            .iter()
            .find(|(o, _)| o.eq_ignore_ascii_case(object))?
            .1
            .iter()
            .find(|f| f.config.name.eq_ignore_ascii_case(field))
    }

    /// The runtime field with this id, and its object.
    pub fn field_by_id(&self, id: &str) -> Option<(&str, &RuntimeField)> {
        self.fields.iter().find_map(|(o, fs)| {
            fs.iter()
                .find(|f| f.id.eq_ignore_ascii_case(id))
                .map(|f| (o.as_str(), f))
        })
    }
}

/// Most custom fields one object may have (Salesforce's Unlimited Edition allows 800).
pub const MAX_CUSTOM_FIELDS: usize = 800;

impl RuntimeSchema {
    /// Creates the custom object `name` (its labels; fields come through
    /// [`RuntimeSchema::create_field`]) in `schema`, and records it; its `CustomObject` id.
    pub fn create_object(
        &mut self,
        schema: &mut Schema,
        name: &str,
        labels: ObjectConfig,
    ) -> Result<String, SchemaError> {
        check_api_name("Object", name)?;
        if schema.object(name).is_some() {
            return Err(SchemaError::new(
                ErrorKind::DuplicateName,
                format!("There is already an object named {name}."),
            ));
        }
        let prefix = schema
            .next_custom_prefix(&self.retired_prefixes)
            .ok_or_else(|| {
                SchemaError::new(
                    ErrorKind::LimitExceeded,
                    "The org has the most custom objects it may have.",
                )
            })?;
        schema.insert(custom_object(name, &labels, prefix.clone()));
        let id = self.mint(OBJECT_PREFIX);
        self.objects.insert(
            name.to_owned(),
            RuntimeObject {
                key_prefix: prefix,
                id: id.clone(),
                config: labels,
            },
        );
        Ok(id)
    }

    /// Adds the custom field `field` to `object` in `schema`, and records it; its
    /// `CustomField` id.
    pub fn create_field(
        &mut self,
        schema: &mut Schema,
        object: &str,
        field: FieldConfig,
    ) -> Result<String, SchemaError> {
        check_api_name("Field", &field.name)?;
        add_field(schema, object, &field)?;
        let def = schema.object(object).expect("the field was added to it");
        if def.fields.iter().filter(|f| f.custom).count() > MAX_CUSTOM_FIELDS {
            return Err(SchemaError::new(
                ErrorKind::LimitExceeded,
                format!(
                    "{} has the most custom fields an object may have ({MAX_CUSTOM_FIELDS}).",
                    def.name
                ),
            ));
        }
        let config = FieldConfig {
            name: def.field(&field.name).expect("just added").name.clone(),
            ..field
        };
        let id = self.mint(FIELD_PREFIX);
        self.fields
            .entry(def.name.clone())
            .or_default()
            .push(RuntimeField {
                id: id.clone(),
                config,
            });
        Ok(id)
    }
}

/// A custom field's or object's API name (`metadata-tooling.md` §11.2): letters, digits
/// and single underscores, starting with a letter, not ending in an underscore, at most 40
/// characters before `__c`. `what` is `Field` or `Object`, as Salesforce's message says.
pub fn check_api_name(what: &str, name: &str) -> Result<(), SchemaError> {
    let base = name.strip_suffix("__c").unwrap_or("");
    let ok = !base.is_empty()
        && base.len() <= 40
        && base.starts_with(|c: char| c.is_ascii_alphabetic())
        && base.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !base.contains("__")
        && !base.ends_with('_');
    if ok {
        return Ok(());
    }
    Err(SchemaError::new(
        ErrorKind::FieldIntegrity,
        format!(
            "{name}: The {what} Name field can only contain underscores and alphanumeric characters. It must be unique, begin with a letter, not include spaces, not end with an underscore, not contain two consecutive underscores, and end in __c."
        ),
    ))
}

/// Adds the custom field `c` to `object` in `schema`: the object must exist, the name be
/// free, the definition valid.
pub fn add_field(schema: &mut Schema, object: &str, c: &FieldConfig) -> Result<(), SchemaError> {
    let def = schema
        .object(object)
        .ok_or_else(|| SchemaError::no_such_object(object))?;
    if def.tooling {
        return Err(SchemaError::new(
            ErrorKind::InvalidType,
            format!("Custom fields cannot be added to {}.", def.name),
        ));
    }
    if def.field(&c.name).is_some() {
        return Err(SchemaError::new(
            ErrorKind::DuplicateName,
            format!("There is already a field named {} on {}.", c.name, def.name),
        ));
    }
    let name = def.name.clone();
    // The config file's messages start with where the mistake is (`objects.X.fields.Y: `).
    let f = field_def(&name, c).map_err(|e| {
        let why = e.split_once(": ").map_or(e.as_str(), |(_, why)| why);
        SchemaError::new(ErrorKind::InvalidInput, format!("{name}.{}: {why}", c.name))
    })?;
    if let Some(to) = f.reference_to.first()
        && schema.object(to).is_none()
    {
        return Err(SchemaError::new(
            ErrorKind::InvalidInput,
            format!("referenceTo names unknown object {to}"),
        ));
    }
    schema
        .object_mut(&name)
        .expect("looked up above")
        .push_field(f);
    Ok(())
}
