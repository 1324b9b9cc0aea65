//! Deploying declarations (`metadata-tooling.md` §5.2): the objects, fields and platform
//! events a Metadata API deploy's `.object` files declare, and the components its
//! destructive manifests name, applied as one schema change: deletions listed before
//! (`destructiveChangesPre.xml`, `destructiveChanges.xml`), then the declarations, then
//! deletions listed after (`destructiveChangesPost.xml`).
//!
//! Deploys are additive and repeatable: a new object or field is created, one that exists
//! with the same declaration is unchanged, and one declared differently is changed when
//! the change keeps every record's value (`forcebus_schema::field_change`), refused
//! otherwise. With `all_or_none` (Salesforce's `rollbackOnError`, the default) one failure
//! applies nothing; `check_only` applies nothing either way. Deleting what is not there is a
//! warning, which fails its component unless warnings are ignored. The deploy is whole or
//! absent after a crash: one store commit, platform events included.
//!
//! Components of the types the org does not interpret (an Apex class, a layout, ...) are
//! kept as they were sent ([`crate::components`]), in the same commit: a new one is
//! created, one with the same files unchanged, one with other files changed (replaced
//! whole); a destructive manifest naming one removes it.

mod events;

use std::sync::Arc;

use events::{deploy_event, remove_event_field};

use super::changed::Changed;
use super::custom::change_field;
use crate::Org;
use crate::clock::format_datetime;
use crate::components::{StoredComponent, key};
use crate::custom::{ObjectConfig, field_def};
use crate::error::{Code, OrgError};
use crate::meta::Schema;
use crate::platform::registry::Registry;
use crate::runtime_schema::RuntimeSchema;
use crate::state::State;

/// One object (or platform event) a deploy declares.
#[derive(Debug, Clone)]
pub struct Declared {
    /// The object's API name.
    pub name: String,
    /// Its labels and fields.
    pub config: ObjectConfig,
    /// Whether the object itself is a member (else only its fields are).
    pub whole: bool,
    /// The file it came in (`objects/Invoice__c.object`), for its messages.
    pub file: String,
}

/// One component a destructive manifest names.
#[derive(Debug, Clone)]
pub struct Deletion {
    /// `CustomObject`, `CustomField`, or a type kept as sent (`ApexClass`).
    pub kind: &'static str,
    /// `Invoice__c`, `Order_Shipped__e` or `Invoice__c.Amount__c`.
    pub full_name: String,
    /// The manifest naming it (`destructiveChanges.xml`).
    pub file: String,
    /// Whether it goes after the declarations (`destructiveChangesPost.xml`).
    pub post: bool,
}

/// How a deploy runs.
#[derive(Debug, Clone, Copy)]
pub struct DeployOptions {
    /// One failure applies nothing (`rollbackOnError`).
    pub all_or_none: bool,
    /// Check, apply nothing (`checkOnly`).
    pub check_only: bool,
    /// A warning does not fail its component (`ignoreWarnings`).
    pub ignore_warnings: bool,
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
    /// Deleted by this deploy.
    Deleted,
    /// Named for deletion but not there: a warning.
    Missing,
}

/// One component's outcome: its type, its full name, its file, what happened.
#[derive(Debug, Clone)]
pub struct Component {
    /// Its metadata type: `CustomObject`, `CustomField`, or a type this server refuses
    /// (`ApexClass`).
    pub kind: String,
    /// `Invoice__c` or `Invoice__c.Amount__c`.
    pub full_name: String,
    /// The file it came in.
    pub file: String,
    /// What happened, or why not.
    pub outcome: Result<Deployed, OrgError>,
}

impl Component {
    /// Whether it fails the deploy: an error, or a warning not ignored.
    #[must_use]
    pub fn fails(&self, ignore_warnings: bool) -> bool {
        match self.outcome {
            Err(_) => true,
            Ok(Deployed::Missing) => !ignore_warnings,
            Ok(_) => false,
        }
    }
}

/// A deploy's working copies: the schema change in progress and its report.
struct Work<'a> {
    schema: &'a mut Schema,
    runtime: &'a mut RuntimeSchema,
    state: &'a State,
    registry: Registry,
    changed: Changed,
    report: Vec<Component>,
}

impl Org {
    /// Deploys `declared`, the components kept as sent (`verbatim`, `created` and
    /// `modified` set here) and `deletions`; returns one outcome per component (objects
    /// before their fields, then the kept ones) and whether anything was applied.
    pub fn deploy(
        &self,
        declared: &[Declared],
        verbatim: &[(StoredComponent, String)],
        deletions: &[Deletion],
        options: DeployOptions,
    ) -> Result<(Vec<Component>, bool), OrgError> {
        let mut report = Vec::new();
        let applied = self.change_schema(|schema, runtime, state| {
            let mut work = Work {
                schema,
                runtime,
                state,
                registry: self.definitions(),
                changed: Changed::default(),
                report: Vec::new(),
            };
            for d in deletions.iter().filter(|d| !d.post) {
                self.deploy_deletion(&mut work, d);
            }
            // Every object before any field: a field may point at an object the same
            // deploy makes (a master-detail to a new parent).
            let objects: Vec<_> = declared
                .iter()
                .filter(|d| !d.name.ends_with("__e"))
                .map(|d| (d, object_of(work.schema, work.runtime, d)))
                .collect();
            for d in declared.iter().filter(|d| d.name.ends_with("__e")) {
                deploy_event(&mut work, d);
            }
            for (d, object) in objects {
                deploy_object(&mut work, d, object);
            }
            for (c, file) in verbatim {
                self.keep_component(&mut work, c, file);
            }
            for d in deletions.iter().filter(|d| d.post) {
                self.deploy_deletion(&mut work, d);
            }
            // A formula the deploy makes (or breaks) that does not compile fails its
            // component, as Salesforce reports it.
            let before = self.formulas(&self.schema());
            let problems = super::formulas::summary_problems(work.schema)
                .into_iter()
                .chain(super::formulas::new_problems(&before, work.schema));
            for p in problems.collect::<Vec<_>>() {
                fail(&mut work.report, &p);
            }
            let failures = work.report.iter().any(|c| c.fails(options.ignore_warnings));
            report = work.report;
            if options.check_only || (options.all_or_none && failures) {
                return Err(OrgError::new(Code::InvalidInput, "nothing applied"));
            }
            Ok(((), work.changed))
        });
        Ok((report, applied.is_ok()))
    }

    /// The kept component `c` as the change in progress last left it.
    fn kept_in(
        &self,
        work: &Work<'_>,
        kind: &str,
        full_name: &str,
    ) -> Option<Arc<StoredComponent>> {
        let k = key(kind, full_name);
        match work
            .changed
            .components
            .iter()
            .rev()
            .find(|(key, _)| *key == k)
        {
            Some((_, c)) => c.clone(),
            None => self.component(kind, full_name),
        }
    }

    /// A component kept as sent (message `file`): created, changed (replaced) or unchanged.
    fn keep_component(&self, work: &mut Work<'_>, c: &StoredComponent, file: &str) {
        let now = format_datetime(self.clock().now());
        let before = self.kept_in(work, &c.kind, &c.full_name);
        let outcome = match &before {
            Some(b) if b.same_files(c) => Deployed::Unchanged,
            Some(_) => Deployed::Changed,
            None => Deployed::Created,
        };
        if outcome != Deployed::Unchanged {
            let kept = StoredComponent {
                created: before.map_or_else(|| now.clone(), |b| b.created.clone()),
                modified: now,
                ..c.clone()
            };
            let k = key(&c.kind, &c.full_name);
            work.changed.components.push((k, Some(Arc::new(kept))));
        }
        work.report.push(Component {
            kind: c.kind.clone(),
            full_name: c.full_name.clone(),
            file: file.to_owned(),
            outcome: Ok(outcome),
        });
    }

    /// One component of a destructive manifest, removed from the change in progress.
    fn deploy_deletion(&self, work: &mut Work<'_>, d: &Deletion) {
        if !matches!(d.kind, "CustomObject" | "CustomField") {
            let there = self.kept_in(work, d.kind, &d.full_name).is_some();
            if there {
                let k = key(d.kind, &d.full_name);
                work.changed.components.push((k, None));
            }
            work.report.push(Component {
                kind: d.kind.to_owned(),
                full_name: d.full_name.clone(),
                file: d.file.clone(),
                outcome: Ok(if there {
                    Deployed::Deleted
                } else {
                    Deployed::Missing
                }),
            });
            return;
        }
        let w = &mut *work;
        let outcome = match (d.kind, d.full_name.split_once('.')) {
            ("CustomObject", None) if d.full_name.ends_with("__e") => {
                self.remove_event(&mut w.registry, w.state, &d.full_name, &mut w.changed)
            }
            ("CustomObject", None) => {
                self.remove_object(w.schema, w.runtime, w.state, &d.full_name, &mut w.changed)
            }
            ("CustomField", Some((object, field))) if object.ends_with("__e") => {
                remove_event_field(w, object, field)
            }
            ("CustomField", Some((object, field))) => {
                self.remove_field(w.schema, w.runtime, w.state, object, field, &mut w.changed)
            }
            _ => Err(OrgError::new(
                Code::InvalidInput,
                format!("A {}'s full name cannot be {}", d.kind, d.full_name),
            )),
        };
        let outcome = match outcome {
            Ok(()) => Ok(Deployed::Deleted),
            Err(e) if e.code == Code::NotFound => Ok(Deployed::Missing),
            Err(e) => Err(e),
        };
        work.report.push(Component {
            kind: d.kind.to_owned(),
            full_name: d.full_name.clone(),
            file: d.file.clone(),
            outcome,
        });
    }
}

fn parent_failed() -> OrgError {
    OrgError::new(Code::InvalidInput, "Parent entity failed to deploy")
}

fn component(
    kind: &'static str,
    full_name: &str,
    d: &Declared,
    outcome: Result<Deployed, OrgError>,
) -> Component {
    Component {
        kind: kind.to_owned(),
        full_name: full_name.to_owned(),
        file: d.file.clone(),
        outcome,
    }
}

/// An object of a deploy (made or found already: `object`) and its fields and rules,
/// entered in the change in progress.
fn deploy_object(w: &mut Work<'_>, d: &Declared, object: Result<(String, Deployed), OrgError>) {
    if d.whole || object.is_err() {
        let outcome = object.as_ref().map(|(_, how)| *how).map_err(Clone::clone);
        w.report
            .push(component("CustomObject", &d.name, d, outcome));
    }
    for f in &d.config.fields {
        let outcome = match &object {
            Err(_) => Err(parent_failed()),
            Ok((name, _)) => deploy_field(w, name, f),
        };
        let full = format!("{}.{}", d.name, f.name);
        w.report.push(component("CustomField", &full, d, outcome));
    }
    for r in &d.config.validation_rules {
        let outcome = match &object {
            Err(_) => Err(parent_failed()),
            Ok((name, _)) => w
                .runtime
                .put_validation_rule(w.schema, name, r.clone())
                .map(|made| match made {
                    None => Deployed::Unchanged,
                    Some((_, true)) => Deployed::Created,
                    Some((_, false)) => Deployed::Changed,
                })
                .map_err(OrgError::from),
        };
        let full = format!("{}.{}", d.name, r.name);
        w.report
            .push(component("ValidationRule", &full, d, outcome));
    }
    if let Ok((name, _)) = &object
        && d.config.enable_history
        && let Some(def) = w.schema.object_mut(name)
        && !def.enable_history
    {
        def.enable_history = true;
        if !name.ends_with("__c") {
            w.runtime.history.insert(name.clone());
        }
    }
    if let Ok((name, _)) = object {
        w.changed.objects.push(name);
    }
}

/// One object of a deploy: there already, made (a custom object, from its own declaration:
/// not from fields named without it), or refused; its name as the schema spells it.
fn object_of(
    schema: &mut Schema,
    runtime: &mut RuntimeSchema,
    d: &Declared,
) -> Result<(String, Deployed), OrgError> {
    if let Some(o) = schema.object(&d.name) {
        let name = o.name.clone();
        // A custom object made at runtime takes the declaration's labels and settings.
        let wanted = ObjectConfig {
            fields: Vec::new(),
            validation_rules: Vec::new(),
            ..d.config.clone()
        };
        let how = match runtime.objects.get_mut(&name) {
            Some(rt) if d.whole && d.config.label.is_some() => {
                let wanted = ObjectConfig {
                    record_types: rt.config.record_types.clone(),
                    picklists: rt.config.picklists.clone(),
                    ..wanted
                };
                if rt.config == wanted {
                    Deployed::Unchanged
                } else {
                    rt.config = wanted;
                    if let Some(def) = schema.object_mut(&name) {
                        crate::custom::relabel(def, &rt.config);
                    }
                    Deployed::Changed
                }
            }
            _ => Deployed::Unchanged,
        };
        return Ok((name, how));
    }
    if !d.name.ends_with("__c") || d.config.label.is_none() {
        return Err(OrgError::new(
            Code::InvalidCrossReferenceKey,
            format!(
                "In field: fullName - no CustomObject named {} found",
                d.name
            ),
        ));
    }
    let labels = ObjectConfig {
        fields: Vec::new(),
        validation_rules: Vec::new(),
        ..d.config.clone()
    };
    runtime.create_object(schema, &d.name, labels)?;
    Ok((d.name.clone(), Deployed::Created))
}

/// One field of a deploy: created, changed (when every record keeps its value), unchanged
/// (declared the same), or refused.
fn deploy_field(
    w: &mut Work<'_>,
    object: &str,
    f: &crate::custom::FieldConfig,
) -> Result<Deployed, OrgError> {
    let existing = w
        .schema
        .object(object)
        .and_then(|o| o.field(&f.name))
        .cloned();
    if let Some(existing) = existing {
        let mut wanted = field_def(object, f).map_err(|e| OrgError::new(Code::InvalidInput, e))?;
        // A summary's type is the schema's to settle: the same roll-up is the same field.
        if wanted.summary.is_some() && wanted.summary == existing.summary {
            wanted.ftype = existing.ftype;
            wanted.precision = existing.precision;
            wanted.scale = existing.scale;
        }
        if wanted == existing {
            return Ok(Deployed::Unchanged);
        }
        return change_field(w.schema, w.runtime, w.state, object, f, &mut w.changed)
            .map(|_| Deployed::Changed);
    }
    w.runtime.create_field(w.schema, object, f.clone())?;
    Ok(Deployed::Created)
}

/// Fails the component problem `p` names in `report` (adding it when the deploy does not
/// name it: a formula of another component this deploy broke).
fn fail(report: &mut Vec<Component>, p: &crate::formulas::Problem) {
    let full = if p.name.is_empty() {
        p.object.clone()
    } else {
        format!("{}.{}", p.object, p.name)
    };
    let error = super::formulas::error(p);
    match report
        .iter_mut()
        .find(|c| c.kind == p.kind && c.full_name.eq_ignore_ascii_case(&full))
    {
        Some(c) => c.outcome = Err(error),
        None => report.push(Component {
            kind: p.kind.to_owned(),
            full_name: full,
            file: String::new(),
            outcome: Err(error),
        }),
    }
}
