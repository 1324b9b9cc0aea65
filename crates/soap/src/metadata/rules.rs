//! `ValidationRule` through the Metadata API's CRUD and reading calls: `Object.Rule` made
//! or changed (`createMetadata`, `updateMetadata`, `upsertMetadata`), read, listed and
//! deleted. The org compiles a rule's formula before it keeps it; one that does not
//! compile is the component's error, with Salesforce's message.

use serde_json::Value;

use forcebus_org::declarations::{validation_rule_config, validation_rule_metadata};
use forcebus_org::{Code, OrgError};
use forcebus_xml::Element;
use forcebus_xml::json::to_json;

/// The type's name.
pub(crate) const VALIDATION_RULE: &str = "ValidationRule";

fn not_found(full: &str) -> OrgError {
    OrgError::new(
        Code::InvalidCrossReferenceKey,
        format!("In field: fullName - no ValidationRule named {full} found"),
    )
}

fn split(full: &str) -> Result<(&str, &str), OrgError> {
    full.split_once('.').ok_or_else(|| {
        OrgError::new(
            Code::InvalidInput,
            format!("A ValidationRule's fullName is Object.Rule_Name: {full}"),
        )
    })
}

/// Whether the org has rule `full` (`Object.Rule`).
pub(crate) fn exists(app: &crate::State, full: &str) -> bool {
    let Some((object, rule)) = full.split_once('.') else {
        return false;
    };
    app.org.schema().object(object).is_some_and(|o| {
        o.validation_rules
            .iter()
            .any(|r| r.name.eq_ignore_ascii_case(rule))
    })
}

/// Makes rule `full` from component `m`, or replaces the one of that name.
pub(crate) async fn save(app: &crate::State, m: &Element, full: &str) -> Result<(), OrgError> {
    let (object, rule) = split(full)?;
    let config = validation_rule_config(rule, &to_json(m))?;
    let (org, object) = (app.org.clone(), object.to_owned());
    crate::blocking(move || org.put_validation_rule(&object, config))
        .await
        .map_err(|e| OrgError::new(Code::UnknownException, format!("{e:?}")))?
        .map(|_| ())
}

/// Deletes rule `full`.
pub(crate) async fn delete(app: &crate::State, full: &str) -> Result<(), OrgError> {
    let (object, rule) = split(full)?;
    let (org, object, rule) = (app.org.clone(), object.to_owned(), rule.to_owned());
    match crate::blocking(move || org.delete_validation_rule_named(&object, &rule)).await {
        Ok(Err(e)) if e.code == Code::NotFound => Err(not_found(full)),
        Ok(r) => r,
        Err(e) => Err(OrgError::new(Code::UnknownException, format!("{e:?}"))),
    }
}

/// Rule `full` as `readMetadata` shows it (its `fullName` the whole name), if the org has it.
pub(crate) fn read(app: &crate::State, full: &str) -> Option<Value> {
    let (object, rule) = full.split_once('.')?;
    let schema = app.org.schema();
    let o = schema.object(object)?;
    let r = o
        .validation_rules
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(rule))?;
    let mut m = validation_rule_metadata(r);
    m["fullName"] = Value::String(format!("{}.{}", o.name, r.name));
    Some(m)
}

/// Every rule of the org, for `listMetadata`: its full name, its file (its object's) and
/// its id (made at runtime; none for a declared one).
pub(crate) fn list(app: &crate::State) -> Vec<(String, String, String)> {
    let schema = app.org.schema();
    let runtime = app.org.runtime_schema();
    schema
        .objects()
        .flat_map(|o| {
            o.validation_rules.iter().map(|r| {
                let id = runtime
                    .validation_rule(&o.name, &r.name)
                    .map(|k| k.id.clone())
                    .unwrap_or_default();
                (
                    format!("{}.{}", o.name, r.name),
                    format!("objects/{}.object", o.name),
                    id,
                )
            })
        })
        .collect()
}
