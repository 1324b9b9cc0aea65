//! The Metadata API's `deploy` and `checkDeployStatus` (`metadata-tooling.md` §5): a zip
//! (`package.xml` and `objects/<Name>.object` files, at its root or in one folder) whose
//! `CustomObject` and `CustomField` members are applied as one schema change
//! ([`forcebus_org::org::deploy`]), answered by an id (`0Af…`) that `checkDeployStatus`
//! reports on with one message per component and one for `package.xml`.
//!
//! A deploy is applied before `deploy` answers (it is done at the first poll, which
//! Salesforce allows). The zip is bounded: entries, each entry's and the total's size.

use base64::Engine;

use forcebus_org::clock::format_datetime;
use forcebus_org::org::deploy::{Component, DeployOptions, Deployed};
use forcebus_org::{OrgError, StatusCode as Code};

use crate::metadata_channels as channels;
use crate::metadata_package::read_package;
use crate::soap::{Element, escape};

/// Deploy results kept (the oldest go first).
const MAX_KEPT: usize = 1_000;

/// What a finished deploy reports.
#[derive(Debug, Clone)]
pub struct DeployResult {
    id: String,
    created: String,
    check_only: bool,
    rollback_on_error: bool,
    ignore_warnings: bool,
    status: &'static str,
    error: Option<String>,
    components: Vec<Component>,
    applied: bool,
}

/// The org's deploys, by id (`0Af…`).
#[derive(Debug)]
pub struct Deploys(crate::metadata::AsyncResults<DeployResult>);

impl Default for Deploys {
    fn default() -> Self {
        Self(crate::metadata::AsyncResults::new("0Af", MAX_KEPT))
    }
}

/// A DeployOptions flag (`true|false|1|0`, any case), or its default.
fn option(op: &Element, name: &str, default: bool) -> bool {
    op.child("DeployOptions")
        .and_then(|o| o.text_of(name))
        .map_or(default, |v| {
            matches!(v.to_ascii_lowercase().as_str(), "true" | "1")
        })
}

/// `deploy`: applies the zip now, answers `Queued` with the id to poll.
pub(crate) async fn deploy(
    app: &crate::State,
    caller: &forcebus_org::Caller,
    op: &Element,
) -> String {
    let check_only = option(op, "checkOnly", false);
    let rollback = option(op, "rollbackOnError", true);
    let mut result = DeployResult {
        id: String::new(),
        created: format_datetime(app.org.clock().now()),
        check_only,
        rollback_on_error: rollback,
        ignore_warnings: option(op, "ignoreWarnings", false),
        status: "Failed",
        error: None,
        components: Vec::new(),
        applied: false,
    };
    let zip = op
        .text_of("ZipFile")
        .unwrap_or_default()
        .replace(char::is_whitespace, "");
    let package = base64::engine::general_purpose::STANDARD
        .decode(zip)
        .map_err(|e| format!("The ZipFile is not base64: {e}"))
        .and_then(|bytes| read_package(&bytes));
    match package {
        Err(e) => result.error = Some(e),
        Ok(package) => {
            let org = app.org.clone();
            let mut components = package.refused;
            // A component refused before the org saw it fails a rolled-back deploy too.
            let options = DeployOptions {
                all_or_none: rollback,
                check_only: check_only || (rollback && !components.is_empty()),
                ignore_warnings: result.ignore_warnings,
            };
            let (declared, deletions) = (package.declared, package.deletions);
            match crate::blocking(move || org.deploy(&declared, &deletions, options)).await {
                Ok(Ok((done, applied))) => {
                    components.extend(done);
                    // Channels and members follow the schema they may name (each in its own
                    // transaction): applied when the rest was, else only checked.
                    let failed = components.iter().any(|c| c.fails(options.ignore_warnings));
                    let apply = !(options.check_only || rollback && failed);
                    let channels = channels::deploy(
                        app,
                        caller,
                        &package.channels,
                        &package.channel_deletions,
                        apply,
                    )
                    .await;
                    let applied = applied || (apply && !channels.is_empty());
                    components.extend(channels);
                    result.components = components;
                    result.applied = applied;
                    let failures = result
                        .components
                        .iter()
                        .any(|c| c.fails(options.ignore_warnings));
                    result.status = match (failures, applied || check_only) {
                        (false, _) => "Succeeded",
                        (true, true) if !rollback => "SucceededPartial",
                        _ => "Failed",
                    };
                }
                Ok(Err(e)) => result.error = Some(e.message),
                Err(_) => result.error = Some("the deploy could not run".into()),
            }
        }
    }
    let id = app.deploys.0.keep(|id| DeployResult {
        id: id.to_owned(),
        ..result
    });
    format!(
        "<deployResponse><result><done>false</done><id>{id}</id><state>Queued</state></result></deployResponse>"
    )
}

/// `checkDeployStatus`: the DeployResult, with its messages when asked for.
pub(crate) fn check(app: &crate::State, op: &Element) -> Result<String, OrgError> {
    let id = op
        .text_of("asyncProcessId")
        .or_else(|| op.children.first().map(|c| c.text.trim()))
        .unwrap_or_default();
    let r = app.deploys.0.get(id).ok_or_else(|| {
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
    let fails = |c: &&Component| c.fails(r.ignore_warnings);
    let errors = r.components.iter().filter(fails).count();
    let deployed = r.components.len() - errors;
    let mut out = format!(
        "<checkOnly>{}</checkOnly><completedDate>{c}</completedDate><createdBy>005000000000000</createdBy><createdByName>forcebus</createdByName><createdDate>{c}</createdDate><details>",
        r.check_only,
        c = r.created.replace("+0000", "Z"),
    );
    if details {
        for c in r.components.iter().filter(fails) {
            out.push_str(&message("componentFailures", c, &r.created, false));
        }
        if r.error.is_none() {
            out.push_str(&format!("<componentSuccesses><changed>true</changed><componentType></componentType><created>false</created><createdDate>{}</createdDate><deleted>false</deleted><fileName>package.xml</fileName><fullName>package.xml</fullName><success>true</success></componentSuccesses>", r.created.replace("+0000", "Z")));
        }
        for c in r.components.iter().filter(|c| !c.fails(r.ignore_warnings)) {
            out.push_str(&message("componentSuccesses", c, &r.created, true));
        }
    }
    out.push_str("<runTestResult><numFailures>0</numFailures><numTestsRun>0</numTestsRun><totalTime>0.0</totalTime></runTestResult></details><done>true</done>");
    if let Some(e) = &r.error {
        out.push_str(&format!(
            "<errorMessage>{}</errorMessage><errorStatusCode>UNKNOWN_EXCEPTION</errorStatusCode>",
            escape(e)
        ));
    }
    out.push_str(&format!(
        "<id>{}</id><ignoreWarnings>{}</ignoreWarnings><numberComponentErrors>{errors}</numberComponentErrors><numberComponentsDeployed>{deployed}</numberComponentsDeployed><numberComponentsTotal>{}</numberComponentsTotal><numberTestErrors>0</numberTestErrors><numberTestsCompleted>0</numberTestsCompleted><numberTestsTotal>0</numberTestsTotal><rollbackOnError>{}</rollbackOnError><runTestsEnabled>false</runTestsEnabled><status>{}</status><success>{}</success>",
        r.id,
        r.ignore_warnings,
        r.components.len(),
        r.rollback_on_error,
        r.status,
        r.status != "Failed",
    ));
    out
}

/// A DeployMessage (`componentType` always present, as the sf CLI requires). A
/// destructive manifest's missing member is a warning named after the manifest, whose
/// problem the sf CLI parses (`No CustomField named: X found`).
fn message(element: &str, c: &Component, created: &str, ok: bool) -> String {
    let problem = |kind: &str, text: &str| {
        format!(
            "<problem>{}</problem><problemType>{kind}</problemType>",
            escape(text)
        )
    };
    // (changed, created, deleted): new components are changed and created.
    let ((changed, made, deleted), problem) = match &c.outcome {
        Ok(Deployed::Created) => ((true, true, false), String::new()),
        Ok(Deployed::Changed) => ((true, false, false), String::new()),
        Ok(Deployed::Unchanged) => ((false, false, false), String::new()),
        Ok(Deployed::Deleted) => ((false, false, true), String::new()),
        Ok(Deployed::Missing) => (
            (false, false, false),
            problem(
                "Warning",
                &format!("No {} named: {} found", c.kind, c.full_name),
            ),
        ),
        Err(e) => ((false, false, false), problem("Error", &e.message)),
    };
    let full_name = if c.outcome.as_ref().is_ok_and(|d| *d == Deployed::Missing) {
        &c.file
    } else {
        &c.full_name
    };
    format!(
        "<{element}><changed>{changed}</changed><componentType>{}</componentType><created>{made}</created><createdDate>{}</createdDate><deleted>{deleted}</deleted><fileName>{}</fileName><fullName>{}</fullName>{problem}<success>{ok}</success></{element}>",
        c.kind,
        created.replace("+0000", "Z"),
        escape(&c.file),
        escape(full_name),
    )
}
