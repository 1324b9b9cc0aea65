//! Deploying declarations (`metadata-tooling.md` §5.2): a set of objects and their fields,
//! as a Metadata API deploy's `.object` files declare them, applied as one schema change.
//! Deploys are additive and repeatable: a new object or field is created, one that exists
//! with the same declaration is unchanged, and one declared differently is changed when
//! the change keeps every record's value (`crate::field_change`), refused otherwise. With `all_or_none` (Salesforce's
//! `rollbackOnError`, the default) one failure applies nothing; `check_only` applies
//! nothing either way. The deploy is whole or absent after a crash: one store commit.

use crate::Org;
use crate::custom::{ObjectConfig, field_def};
use crate::error::{OrgError, StatusCode};
use crate::org::live_schema::{Changed, change_field};
use crate::platform::{EventConfig, EventDef};

/// One object a deploy declares.
#[derive(Debug, Clone)]
pub struct Declared {
    /// The object's API name.
    pub name: String,
    /// Its labels and fields.
    pub config: ObjectConfig,
    /// Whether the object itself is a member (else only its fields are).
    pub whole: bool,
}

/// What became of one component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deployed {
    /// Made by this deploy.
    Created,
    /// Changed by this deploy.
    Changed,
    /// Already so.
    Unchanged,
}

/// One component's outcome: `CustomObject` or `CustomField`, its full name, what happened.
#[derive(Debug, Clone)]
pub struct Component {
    /// `CustomObject` or `CustomField`.
    pub kind: &'static str,
    /// `Invoice__c` or `Invoice__c.Amount__c`.
    pub full_name: String,
    /// The object it came with (its file).
    pub object: String,
    /// What happened, or why not.
    pub outcome: Result<Deployed, OrgError>,
}

impl Org {
    /// Deploys `objects`; returns one outcome per component, objects before their fields,
    /// and whether anything was applied.
    pub fn deploy(
        &self,
        declared: &[Declared],
        all_or_none: bool,
        check_only: bool,
    ) -> Result<(Vec<Component>, bool), OrgError> {
        let (events, objects): (Vec<&Declared>, Vec<&Declared>) =
            declared.iter().partition(|d| d.name.ends_with("__e"));
        // Event failures are in the report first, so they count for all-or-none too.
        let (mut report, to_define) = self.check_events(&events);
        let applied = self.change_schema(|schema, runtime, state| {
            let mut changed = Vec::new();
            for d in &objects {
                let object = deploy_object(schema, runtime, d);
                let failed = object.is_err();
                if d.whole || failed {
                    report.push(Component {
                        kind: "CustomObject",
                        full_name: d.name.clone(),
                        object: d.name.clone(),
                        outcome: object.as_ref().map(|(_, how)| *how).map_err(Clone::clone),
                    });
                }
                for f in &d.config.fields {
                    let outcome = match &object {
                        Err(_) => Err(OrgError::new(
                            StatusCode::InvalidInput,
                            "Parent entity failed to deploy",
                        )),
                        Ok((name, _)) => deploy_field(schema, runtime, state, name, f),
                    };
                    report.push(Component {
                        kind: "CustomField",
                        full_name: format!("{}.{}", d.name, f.name),
                        object: d.name.clone(),
                        outcome,
                    });
                }
                if !failed {
                    changed.push(object.map(|(n, _)| n).expect("not failed"));
                }
            }
            let failures = report.iter().any(|c| c.outcome.is_err());
            if check_only || (all_or_none && failures) {
                return Err(OrgError::new(StatusCode::InvalidInput, "nothing applied"));
            }
            Ok((
                (),
                Changed {
                    objects: changed,
                    records: Vec::new(),
                },
            ))
        });
        if applied.is_err() {
            return Ok((report, false));
        }
        // Platform events live beside the schema: defined once the objects are in.
        for (name, config) in to_define {
            if let Err(e) = self.define_platform_event(&name, config) {
                for c in report.iter_mut().filter(|c| c.object == name) {
                    c.outcome = Err(OrgError::new(StatusCode::InvalidInput, e.clone()));
                }
            }
        }
        Ok((report, true))
    }

    /// The platform events of a deploy, checked: their components' outcomes, and the
    /// definitions to make (new or changed ones).
    fn check_events(&self, events: &[&Declared]) -> (Vec<Component>, Vec<(String, EventConfig)>) {
        let mut report = Vec::new();
        let mut define = Vec::new();
        for d in events {
            let config = EventConfig {
                label: d.config.label.clone(),
                plural_label: d.config.plural_label.clone(),
                fields: d.config.fields.clone(),
                ..EventConfig::default()
            };
            let existing = self.platform_event(&d.name);
            let outcome = match EventDef::build(&d.name, &config, "e00") {
                Err(e) => Err(OrgError::new(StatusCode::InvalidInput, e)),
                Ok(_) if existing.as_ref().is_some_and(|e| e.config == config) => {
                    Ok(Deployed::Unchanged)
                }
                Ok(_) => {
                    define.push((d.name.clone(), config));
                    Ok(Deployed::Created)
                }
            };
            let had = |name: &str| {
                existing
                    .as_ref()
                    .is_some_and(|e| e.config.fields.iter().any(|f| f.name == name))
            };
            report.push(Component {
                kind: "CustomObject",
                full_name: d.name.clone(),
                object: d.name.clone(),
                outcome: outcome.clone(),
            });
            for f in &d.config.fields {
                report.push(Component {
                    kind: "CustomField",
                    full_name: format!("{}.{}", d.name, f.name),
                    object: d.name.clone(),
                    outcome: match &outcome {
                        Err(_) => Err(OrgError::new(
                            StatusCode::InvalidInput,
                            "Parent entity failed to deploy",
                        )),
                        Ok(_) if had(&f.name) => Ok(Deployed::Unchanged),
                        Ok(_) => Ok(Deployed::Created),
                    },
                });
            }
        }
        (report, define)
    }
}

/// One object of a deploy: there already, made (a custom object, from its own declaration:
/// not from fields named without it), or refused; its name as the schema spells it.
fn deploy_object(
    schema: &mut crate::meta::Schema,
    runtime: &mut crate::runtime_schema::RuntimeSchema,
    d: &Declared,
) -> Result<(String, Deployed), OrgError> {
    if let Some(o) = schema.object(&d.name) {
        return Ok((o.name.clone(), Deployed::Unchanged));
    }
    if !d.name.ends_with("__c") || d.config.label.is_none() {
        return Err(OrgError::new(
            StatusCode::InvalidCrossReferenceKey,
            format!(
                "In field: fullName - no CustomObject named {} found",
                d.name
            ),
        ));
    }
    let labels = ObjectConfig {
        fields: Vec::new(),
        ..d.config.clone()
    };
    runtime.create_object(schema, &d.name, labels)?;
    Ok((d.name.clone(), Deployed::Created))
}

/// One field of a deploy: created, changed (when every record keeps its value), unchanged
/// (declared the same), or refused.
fn deploy_field(
    schema: &mut crate::meta::Schema,
    runtime: &mut crate::runtime_schema::RuntimeSchema,
    state: &crate::state::State,
    object: &str,
    f: &crate::custom::FieldConfig,
) -> Result<Deployed, OrgError> {
    let existing = schema
        .object(object)
        .and_then(|o| o.field(&f.name))
        .cloned();
    if let Some(existing) = existing {
        let wanted =
            field_def(object, f).map_err(|e| OrgError::new(StatusCode::InvalidInput, e))?;
        if wanted == existing {
            return Ok(Deployed::Unchanged);
        }
        return change_field(schema, runtime, state, object, f).map(|_| Deployed::Changed);
    }
    runtime.create_field(schema, object, f.clone())?;
    Ok(Deployed::Created)
}
