//! Validation rules made, changed and deleted while the org runs (the Tooling API's
//! `ValidationRule`): a schema change each, its formula compiled before it is kept.

use crate::Org;
use crate::custom::ValidationRuleConfig;
use crate::error::{Code, OrgError};

use super::Changed;

impl Org {
    /// Makes the validation rule `rule` of `object`, or changes the one of its name; its
    /// `ValidationRule` id.
    pub fn put_validation_rule(
        &self,
        object: &str,
        rule: ValidationRuleConfig,
    ) -> Result<String, OrgError> {
        self.change_schema(|schema, runtime, _| {
            let name = schema
                .object(object)
                .filter(|o| !o.tooling)
                .map(|o| o.name.clone())
                .ok_or_else(|| {
                    OrgError::new(
                        Code::InvalidCrossReferenceKey,
                        format!("In field: fullName - no CustomObject named {object} found"),
                    )
                })?;
            let rule_name = rule.name.clone();
            let made = runtime.put_validation_rule(schema, &name, rule)?;
            let id = match made {
                Some((id, _)) => id,
                None => runtime
                    .validation_rule(&name, &rule_name)
                    .map(|r| r.id.clone())
                    .unwrap_or_default(),
            };
            Ok((id, Changed::default()))
        })
    }

    /// Deletes the validation rule `name` of `object` (made at runtime: a declared one
    /// stays the config's or the project's).
    pub fn delete_validation_rule_named(&self, object: &str, name: &str) -> Result<(), OrgError> {
        self.change_schema(|schema, runtime, _| {
            if runtime.remove_validation_rule(schema, object, name) {
                Ok(((), Changed::default()))
            } else {
                Err(OrgError::not_found())
            }
        })
    }

    /// Deletes the validation rule with this id (15 or 18 characters).
    pub fn delete_validation_rule(&self, id: &str) -> Result<(), OrgError> {
        self.change_schema(|schema, runtime, _| {
            let (object, name) = runtime
                .validation_rule_by_id(id)
                .map(|(o, r)| (o.to_owned(), r.config.name.clone()))
                .ok_or_else(OrgError::not_found)?;
            runtime.remove_validation_rule(schema, &object, &name);
            Ok(((), Changed::default()))
        })
    }
}
