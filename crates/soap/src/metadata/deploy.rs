//! The Metadata API's `deploy` and `checkDeployStatus` (`metadata-tooling.md` §5): a zip
//! (read by `metadata_package`) whose objects, fields, platform events and destructive
//! manifests are applied as one schema change ([`forcebus_org::org::deploy`]), then its
//! channels and members ([`crate::metadata::channels`]) and permission sets
//! ([`crate::metadata::permission_sets`]), answered by an id (`0Af…`) that `checkDeployStatus`
//! reports on with one message per component and one for `package.xml`. [`start`] runs
//! a deploy for SOAP, for the REST `deployRequest` resource ([`crate::metadata::rest_deploy`])
//! and for quick deploys ([`crate::metadata::quick`]) alike.
//!
//! A deploy is applied before `deploy` answers (it is done at the first poll, which
//! Salesforce allows). The zip is bounded: entries, each entry's and the total's size.
//! Apex is kept, never run: a deploy that asks for Apex tests (`RunSpecifiedTests`,
//! `RunLocalTests`, `RunAllTestsInOrg`) fails whole, saying so.

use base64::Engine;
use bytes::Bytes;

use forcebus_org::clock::format_datetime;
use forcebus_org::org::deploy::{Component, Deployed};
use forcebus_org::{Caller, Code, OrgError};

use crate::metadata::options::DeployOptions;
use crate::metadata::package::read_package;
use crate::metadata::{channels, permission_sets};
use forcebus_xml::Element;
use forcebus_xml::write::Writer;

/// Deploy results kept (the oldest go first).
const MAX_KEPT: usize = 1_000;

/// What a finished deploy reports.
#[derive(Debug, Clone)]
pub(crate) struct DeployResult {
    pub(crate) id: String,
    /// When it was asked for (and, deploys being synchronous, done).
    pub(crate) created: String,
    pub(crate) options: DeployOptions,
    /// The validation a quick deploy applied again (REST's `validatedDeployRequestId`).
    pub(crate) validated: Option<String>,
    pub(crate) status: &'static str,
    pub(crate) error: Option<String>,
    components: Vec<Component>,
    applied: bool,
    /// Who asked for it: the user's 18-character id and name.
    pub(crate) created_by: (String, String),
}

/// A DeployMessage's fields (§5.4), whichever way it is written.
#[derive(Debug)]
pub(crate) struct Message<'a> {
    pub(crate) changed: bool,
    pub(crate) created: bool,
    pub(crate) deleted: bool,
    /// Empty for the `package.xml` message.
    pub(crate) component_type: &'a str,
    pub(crate) file_name: String,
    pub(crate) full_name: &'a str,
    pub(crate) problem: Option<String>,
    /// `Error` or `Warning`, with a problem.
    pub(crate) problem_type: &'static str,
    pub(crate) success: bool,
}

impl DeployResult {
    /// `numberComponentErrors`, `numberComponentsDeployed` (would-be successes of a
    /// rolled-back deploy included) and `numberComponentsTotal`.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let ignore = self.options.ignore_warnings;
        let errors = self.components.iter().filter(|c| c.fails(ignore)).count();
        let total = self.components.len();
        (errors, total - errors, total)
    }

    /// `success`: true but for `Failed`.
    pub(crate) fn success(&self) -> bool {
        self.status != "Failed"
    }

    /// `componentFailures`, then `componentSuccesses` (the `package.xml` message first,
    /// unless the zip could not be read).
    pub(crate) fn messages(&self) -> (Vec<Message<'_>>, Vec<Message<'_>>) {
        let ignore = self.options.ignore_warnings;
        let (failed, ok): (Vec<&Component>, Vec<&Component>) =
            self.components.iter().partition(|c| c.fails(ignore));
        let package = self.error.is_none().then_some(Message {
            changed: true,
            created: false,
            deleted: false,
            component_type: "",
            file_name: "package.xml".into(),
            full_name: "package.xml",
            problem: None,
            problem_type: "",
            success: true,
        });
        let successes = package
            .into_iter()
            .chain(ok.into_iter().map(|c| message_of(c, true)));
        (
            failed.into_iter().map(|c| message_of(c, false)).collect(),
            successes.collect(),
        )
    }
}

/// A component's message: new components are created and changed, changed ones only
/// changed, deleted ones deleted, failed ones none of these. A destructive manifest's
/// missing member is a warning named after the manifest, whose problem the sf CLI parses
/// (`No CustomField named: X found`).
fn message_of(c: &Component, success: bool) -> Message<'_> {
    let (changed, created, deleted) = match &c.outcome {
        Ok(Deployed::Created) => (true, true, false),
        Ok(Deployed::Changed) => (true, false, false),
        Ok(Deployed::Deleted) => (false, false, true),
        Ok(Deployed::Unchanged | Deployed::Missing) | Err(_) => (false, false, false),
    };
    let (problem, problem_type, full_name) = match &c.outcome {
        Ok(Deployed::Missing) => (
            Some(format!("No {} named: {} found", c.kind, c.full_name)),
            "Warning",
            c.file.as_str(),
        ),
        Err(e) => (Some(e.message.clone()), "Error", c.full_name.as_str()),
        Ok(_) => (None, "", c.full_name.as_str()),
    };
    Message {
        changed,
        created,
        deleted,
        component_type: &c.kind,
        file_name: c.file.clone(),
        full_name,
        problem,
        problem_type,
        success,
    }
}

/// The org's deploys, by id (`0Af…`), and its recent validations.
#[derive(Debug)]
pub(crate) struct Deploys {
    results: crate::metadata::async_results::AsyncResults<DeployResult>,
    /// Successful validations, for quick deploys.
    pub(crate) validations: crate::metadata::validations::Validations,
}

impl Default for Deploys {
    fn default() -> Self {
        Self {
            results: crate::metadata::async_results::AsyncResults::new("0Af", MAX_KEPT),
            validations: crate::metadata::validations::Validations::default(),
        }
    }
}

impl Deploys {
    /// The result of deploy `id` (15 or 18 characters).
    pub(crate) fn get(&self, id: &str) -> Option<DeployResult> {
        self.results.get(id)
    }
}

/// `deploy`: applies the zip now, answers `Queued` with the id to poll.
pub(crate) async fn deploy(app: &crate::State, caller: &Caller, op: &Element) -> String {
    let options = DeployOptions::from_soap(op);
    let zip = op
        .text_of("ZipFile")
        .unwrap_or_default()
        .replace(char::is_whitespace, "");
    let id = match base64::engine::general_purpose::STANDARD.decode(zip) {
        Ok(bytes) => start(app, caller, bytes.into(), options, None).await,
        Err(e) => {
            let mut result = DeployResult::new(app, caller, options, None);
            result.error = Some(format!("The ZipFile is not base64: {e}"));
            keep(app, result, None)
        }
    };
    format!(
        "<deployResponse><result><done>false</done><id>{id}</id><state>Queued</state></result></deployResponse>"
    )
}

impl DeployResult {
    /// A deploy just asked for by `caller`, failed until it runs.
    fn new(
        app: &crate::State,
        caller: &Caller,
        options: DeployOptions,
        validated: Option<String>,
    ) -> Self {
        let name = app
            .org
            .get(caller.user_id)
            .and_then(|u| u.get_str("Name").map(str::to_owned))
            .unwrap_or_default();
        Self {
            created_by: (caller.user_id.to18(), name),
            id: String::new(),
            created: format_datetime(app.org.clock().now()),
            options,
            validated,
            status: "Failed",
            error: None,
            components: Vec::new(),
            applied: false,
        }
    }
}

/// Runs a deploy of `zip` (the archive's bytes) with `options`, `validated` naming the
/// validation a quick deploy applies again; keeps its result and returns its id. The
/// deploy is applied (or refused) before this returns.
pub(crate) async fn start(
    app: &crate::State,
    caller: &Caller,
    zip: Bytes,
    options: DeployOptions,
    validated: Option<String>,
) -> String {
    let mut result = DeployResult::new(app, caller, options, validated);
    match read_package(&zip) {
        Err(e) => result.error = Some(e),
        Ok(package) => {
            // Local or all tests with no Apex class in the org or the package are none
            // to run (Salesforce runs zero and goes on): `sf project deploy validate`
            // asks for RunLocalTests by default.
            let apex = !app.org.components_of("ApexClass").is_empty()
                || package.verbatim.iter().any(|(c, _)| c.kind == "ApexClass");
            match result.options.tests_asked_for(apex) {
                Some(e) => result.error = Some(e),
                None => run(app, caller, package, &mut result).await,
            }
        }
    }
    let validation = (result.options.check_only && result.status == "Succeeded").then_some(zip);
    keep(app, result, validation)
}

/// Applies a package: the schema change whole (or not at all), then its channels and
/// members, which may name the schema it made (each in its own transaction), when the
/// rest was applied; else they are only checked.
async fn run(
    app: &crate::State,
    caller: &Caller,
    package: crate::metadata::package::Package,
    result: &mut DeployResult,
) {
    let rollback = result.options.rollback_on_error;
    let ignore = result.options.ignore_warnings;
    let mut components = package.refused;
    // A component refused before the org saw it fails a rolled-back deploy too.
    let options = forcebus_org::org::deploy::DeployOptions {
        all_or_none: rollback,
        check_only: result.options.check_only || (rollback && !components.is_empty()),
        ignore_warnings: ignore,
    };
    components.extend(package.accepted);
    let org = app.org.clone();
    let (declared, deletions) = (package.declared, package.deletions);
    let verbatim = package.verbatim;
    let who = caller.clone();
    let deployed = crate::blocking(move || {
        let (done, applied) = org.deploy(&declared, &verbatim, &deletions, options)?;
        if applied {
            // The Apex records of the Apex components it kept or removed.
            let touched: Vec<(String, String)> = done
                .iter()
                .filter(|c| {
                    matches!(
                        c.outcome,
                        Ok(Deployed::Created | Deployed::Changed | Deployed::Deleted)
                    )
                })
                .map(|c| (c.kind.clone(), c.full_name.clone()))
                .collect();
            org.sync_apex(&who, &touched)?;
        }
        Ok::<_, OrgError>((done, applied))
    });
    let (done, applied) = match deployed.await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return result.error = Some(e.message),
        Err(_) => return result.error = Some("the deploy could not run".into()),
    };
    // A permission set's kept file is no component of its own: its set reports.
    components.extend(
        done.into_iter()
            .filter(|c| c.kind != permission_sets::PERMISSION_SET),
    );
    let failed = components.iter().any(|c| c.fails(ignore));
    let apply = !(options.check_only || rollback && failed);
    let made = package.channels;
    let channels = channels::deploy(app, caller, &made, &package.channel_deletions, apply).await;
    let sets = permission_sets::deploy(
        app,
        package.permission_sets,
        package.permission_set_deletions,
        (apply, rollback),
    )
    .await;
    let applied = applied || (apply && !(channels.is_empty() && sets.is_empty()));
    components.extend(channels);
    components.extend(sets);
    let failures = components.iter().any(|c| c.fails(ignore));
    result.components = components;
    result.applied = applied;
    result.status = match (failures, applied || result.options.check_only) {
        (false, _) => "Succeeded",
        (true, true) if !rollback => "SucceededPartial",
        _ => "Failed",
    };
}

/// Keeps `result` under a new id (and, for a successful validation, its `zip`); the id.
fn keep(app: &crate::State, result: DeployResult, zip: Option<Bytes>) -> String {
    let options = result.options.clone();
    let id = app.deploys.results.keep(&app.org, |id| DeployResult {
        id: id.to_owned(),
        ..result
    });
    if let Some(zip) = zip {
        let (schema, now) = (app.org.schema(), app.org.clock().now());
        app.deploys.validations.keep(&id, zip, options, schema, now);
    }
    id
}

/// `checkDeployStatus`: the DeployResult, with its messages when asked for.
pub(crate) fn check(app: &crate::State, op: &Element) -> Result<String, OrgError> {
    let id = op
        .text_of("asyncProcessId")
        .or_else(|| op.children.first().map(|c| c.text.trim()))
        .unwrap_or_default();
    let r = app.deploys.get(id).ok_or_else(|| {
        OrgError::new(Code::InvalidCrossReferenceKey, "invalid cross reference id")
    })?;
    let details = op
        .text_of("includeDetails")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    Ok(format!(
        "<checkDeployStatusResponse><result>{}</result></checkDeployStatusResponse>",
        render(&r, details)
    ))
}

fn render(r: &DeployResult, details: bool) -> String {
    let (errors, deployed, total) = r.counts();
    let created = r.created.replace("+0000", "Z");
    let mut w = Writer::new();
    w.value("checkOnly", r.options.check_only)
        .text("completedDate", &created)
        .text("createdBy", &r.created_by.0)
        .text("createdByName", &r.created_by.1)
        .text("createdDate", &created)
        .open("details");
    if details {
        let (failures, successes) = r.messages();
        for m in &failures {
            message(&mut w, "componentFailures", m, &created);
        }
        for m in &successes {
            message(&mut w, "componentSuccesses", m, &created);
        }
    }
    w.open("runTestResult")
        .value("numFailures", 0)
        .value("numTestsRun", 0)
        .text("totalTime", "0.0")
        .close()
        .close()
        .value("done", true);
    if let Some(e) = &r.error {
        w.text("errorMessage", e)
            .text("errorStatusCode", Code::UnknownException.as_str());
    }
    w.text("id", &r.id)
        .value("ignoreWarnings", r.options.ignore_warnings)
        .value("numberComponentErrors", errors)
        .value("numberComponentsDeployed", deployed)
        .value("numberComponentsTotal", total)
        .value("numberTestErrors", 0)
        .value("numberTestsCompleted", 0)
        .value("numberTestsTotal", 0)
        .value("rollbackOnError", r.options.rollback_on_error)
        .value("runTestsEnabled", false)
        .text("status", r.status)
        .value("success", r.success());
    w.finish()
}

/// A DeployMessage (`componentType` always present, as the sf CLI requires).
fn message(w: &mut Writer, element: &str, m: &Message<'_>, created: &str) {
    w.open(element)
        .value("changed", m.changed)
        .text("componentType", m.component_type)
        .value("created", m.created)
        .text("createdDate", created)
        .value("deleted", m.deleted)
        .text("fileName", &m.file_name)
        .text("fullName", m.full_name);
    if let Some(p) = &m.problem {
        w.text("problem", p).text("problemType", m.problem_type);
    }
    w.value("success", m.success).close();
}
