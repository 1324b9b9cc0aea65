//! The Metadata API's declarations of custom fields and objects
//! ([`forcebus_schema::declarations`]), refused with the org's errors: what the Tooling
//! API, the Metadata API and an sfdx project read their `CustomField` and `CustomObject`
//! Metadata through.

use serde_json::{Map, Value};

use crate::custom::{FieldConfig, ObjectConfig};
use crate::error::OrgError;

pub use forcebus_schema::declarations::{
    field_metadata, object_metadata, validation_rule_metadata,
};

/// A `CustomField`'s Metadata as a field declaration.
pub fn field_config(name: &str, meta: &Map<String, Value>) -> Result<FieldConfig, OrgError> {
    Ok(forcebus_schema::declarations::field_config(name, meta)?)
}

/// The `fields` nested in a `CustomObject`'s Metadata, each named by its short `fullName`.
pub fn nested_fields(meta: &Map<String, Value>) -> Result<Vec<FieldConfig>, OrgError> {
    Ok(forcebus_schema::declarations::nested_fields(meta)?)
}

/// A `CustomObject`'s Metadata as an object declaration, with the fields nested in it.
pub fn object_config(meta: &Map<String, Value>) -> Result<ObjectConfig, OrgError> {
    Ok(forcebus_schema::declarations::object_config(meta)?)
}

/// A `ValidationRule`'s Metadata as a rule declaration.
pub fn validation_rule_config(
    name: &str,
    meta: &Map<String, Value>,
) -> Result<crate::custom::ValidationRuleConfig, OrgError> {
    Ok(forcebus_schema::declarations::validation_rule_config(
        name, meta,
    )?)
}

/// The `validationRules` nested in a `CustomObject`'s Metadata.
pub fn nested_validation_rules(
    meta: &Map<String, Value>,
) -> Result<Vec<crate::custom::ValidationRuleConfig>, OrgError> {
    Ok(forcebus_schema::declarations::nested_validation_rules(
        meta,
    )?)
}
