//! The Metadata API's `deploy` and `checkDeployStatus` (`metadata-tooling.md` §5): a zip
//! (`package.xml` and `objects/<Name>.object` files, at its root or in one folder) whose
//! `CustomObject` and `CustomField` members are applied as one schema change
//! ([`forcebus_org::org::deploy`]), answered by an id (`0Af…`) that `checkDeployStatus`
//! reports on with one message per component and one for `package.xml`.
//!
//! A deploy is applied before `deploy` answers (it is done at the first poll, which
//! Salesforce allows). The zip is bounded: entries, each entry's and the total's size.

use std::collections::{BTreeMap, HashMap};
use std::io::Read as _;

use base64::Engine;
use serde_json::{Map, Value};

use forcebus_org::clock::format_datetime;
use forcebus_org::custom::ObjectConfig;
use forcebus_org::declarations::{nested_fields, object_config};
use forcebus_org::org::deploy::{Component, Declared, Deployed};
use forcebus_org::{OrgError, StatusCode as Code};

use crate::soap::{Element, escape, parse};

/// Most entries a deploy zip may hold.
const MAX_ENTRIES: usize = 10_000;
/// Most bytes a deploy zip may unpack to.
const MAX_UNPACKED: u64 = 64 << 20;
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
pub(crate) async fn deploy(app: &crate::State, op: &Element) -> String {
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
    match read_package(&zip) {
        Err(e) => result.error = Some(e),
        Ok((declared, mut refused)) => {
            let org = app.org.clone();
            // A component refused before the org saw it fails a rolled-back deploy too.
            let check_only = check_only || (rollback && !refused.is_empty());
            match crate::blocking(move || org.deploy(&declared, rollback, check_only)).await {
                Ok(Ok((components, applied))) => {
                    refused.extend(components);
                    result.components = refused;
                    result.applied = applied;
                    let failures = result.components.iter().any(|c| c.outcome.is_err());
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
    let errors = r.components.iter().filter(|c| c.outcome.is_err()).count();
    let deployed = r.components.len() - errors;
    let mut out = format!(
        "<checkOnly>{}</checkOnly><completedDate>{c}</completedDate><createdBy>005000000000000</createdBy><createdByName>forcebus</createdByName><createdDate>{c}</createdDate><details>",
        r.check_only,
        c = r.created.replace("+0000", "Z"),
    );
    if details {
        for c in r.components.iter().filter(|c| c.outcome.is_err()) {
            out.push_str(&message("componentFailures", c, &r.created));
        }
        if r.error.is_none() {
            out.push_str(&format!("<componentSuccesses><changed>true</changed><componentType></componentType><created>false</created><createdDate>{}</createdDate><deleted>false</deleted><fileName>package.xml</fileName><fullName>package.xml</fullName><success>true</success></componentSuccesses>", r.created.replace("+0000", "Z")));
        }
        for c in r.components.iter().filter(|c| c.outcome.is_ok()) {
            out.push_str(&message("componentSuccesses", c, &r.created));
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

/// A DeployMessage (`componentType` always present, as the sf CLI requires).
fn message(element: &str, c: &Component, created: &str) -> String {
    // (changed, created): new components are both, changed ones only changed.
    let ((changed, made), problem) = match &c.outcome {
        Ok(Deployed::Created) => ((true, true), String::new()),
        Ok(Deployed::Changed) => ((true, false), String::new()),
        Ok(Deployed::Unchanged) => ((false, false), String::new()),
        Err(e) => (
            (false, false),
            format!(
                "<problem>{}</problem><problemType>Error</problemType>",
                escape(&e.message)
            ),
        ),
    };
    let ok = c.outcome.is_ok();
    format!(
        "<{element}><changed>{changed}</changed><componentType>{}</componentType><created>{made}</created><createdDate>{}</createdDate><deleted>false</deleted><fileName>objects/{}.object</fileName><fullName>{}</fullName>{problem}<success>{ok}</success></{element}>",
        c.kind,
        created.replace("+0000", "Z"),
        escape(&c.object),
        escape(&c.full_name),
    )
}

/// The zip's declarations, and the members it names but cannot deploy (each a failure).
fn read_package(base64_zip: &str) -> Result<(Vec<Declared>, Vec<Component>), String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64_zip)
        .map_err(|e| format!("The ZipFile is not base64: {e}"))?;
    let files = unzip(&bytes)?;
    let (base, manifest) = files
        .iter()
        .find(|(name, _)| {
            name.rsplit('/').next() == Some("package.xml") && name.matches('/').count() <= 1
        })
        .map(|(name, text)| {
            (
                name.trim_end_matches("package.xml").to_owned(),
                text.clone(),
            )
        })
        .ok_or("No package.xml found")?;
    let package =
        parse(manifest.as_bytes()).map_err(|e| format!("package.xml is not well-formed: {e}"))?;
    let mut objects: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
    let mut refused = Vec::new();
    for types in package.children_named("types") {
        let kind = types.text_of("name").unwrap_or_default();
        for m in types
            .children_named("members")
            .map(|m| m.text.trim().to_owned())
        {
            match (kind, m.split_once('.')) {
                ("CustomObject", _) => {
                    objects.insert(m, None);
                }
                ("CustomField", Some((o, f))) => {
                    // A whole object (None) keeps all its fields.
                    let entry = objects.entry(o.to_owned()).or_insert_with(|| Some(Vec::new()));
                    if let Some(list) = entry {
                        list.push(f.to_owned());
                    }
                }
                _ => refused.push(Component {
                    kind: "CustomObject",
                    full_name: m.clone(),
                    object: m.clone(),
                    outcome: Err(OrgError::new(Code::InvalidType, format!("Metadata type {kind} is not deployed by this server (CustomObject and CustomField are)."))),
                }),
            }
        }
    }
    let mut declared = Vec::new();
    for (name, only) in objects {
        let path = format!("{base}objects/{name}.object");
        let Some(text) = files.get(&path) else {
            refused.push(Component {
                kind: "CustomObject",
                full_name: name.clone(),
                object: name.clone(),
                outcome: Err(OrgError::new(Code::InvalidInput, format!("An object '{name}' of type CustomObject was named in package.xml, but was not found in zipped directory"))),
            });
            continue;
        };
        match declaration(&name, text, only.as_deref()) {
            Ok(config) => declared.push(Declared {
                name,
                config,
                whole: only.is_none(),
            }),
            Err(e) => refused.push(Component {
                kind: "CustomObject",
                full_name: name.clone(),
                object: name,
                outcome: Err(e),
            }),
        }
    }
    Ok((declared, refused))
}

/// An `.object` file as a declaration; with `only`, just those fields.
fn declaration(name: &str, text: &str, only: Option<&[String]>) -> Result<ObjectConfig, OrgError> {
    let root = parse(text.as_bytes())
        .map_err(|e| OrgError::new(Code::InvalidInput, format!("Error parsing file: {e}")))?;
    let meta: Map<String, Value> = crate::metadata::to_json(&root);
    let mut config = if (name.ends_with("__c") || name.ends_with("__e")) && only.is_none() {
        object_config(&meta)?
    } else {
        let fields = nested_fields(&meta)?;
        ObjectConfig {
            fields,
            ..ObjectConfig::default()
        }
    };
    if let Some(only) = only {
        config
            .fields
            .retain(|f| only.iter().any(|o| o.eq_ignore_ascii_case(&f.name)));
    }
    Ok(config)
}

/// The zip's text files by path, within the bounds.
fn unzip(bytes: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("The ZipFile is not a zip archive: {e}"))?;
    if archive.len() > MAX_ENTRIES {
        return Err(format!("The zip holds more than {MAX_ENTRIES} files"));
    }
    let mut total = 0u64;
    let mut out = HashMap::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("The zip is damaged: {e}"))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().trim_start_matches("./").to_owned();
        let mut text = String::new();
        let room = MAX_UNPACKED.saturating_sub(total);
        (&mut entry)
            .take(room + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("{name} cannot be read: {e}"))?;
        total += text.len() as u64;
        if total > MAX_UNPACKED {
            return Err(format!("The zip unpacks to more than {MAX_UNPACKED} bytes"));
        }
        out.insert(name, text);
    }
    Ok(out)
}
